"""Evidence between the wire and the store: digests and formats of requests, scans and
provenance posted, and the evidence shown."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from functools import partial

from imagegate.api._convert import _field, timestamp_to_wire
from imagegate.api._wire import (
    EvidenceOut,
    ProvenanceEvidenceOut,
    ProvenanceOut,
    ScanReportOut,
    SeverityCountsOut,
    VulnerabilityOut,
)
from imagegate.evidence import (
    EvidenceStore,
    ScanFormat,
    parse_provenance_evidence,
    parse_scan_report,
)
from imagegate.facts import Evidence, Provenance, ScanReport, Severity
from imagegate.tracking import InvalidParameterError, validate_digest


def evidence_digest(text: str) -> str:
    """``text`` as a normalised digest; InvalidReferenceError names the field ``digest``."""
    return _field(lambda: validate_digest(text), "digest")


def scan_format_from(parameters: Mapping[str, str]) -> ScanFormat | None:
    """The report format a scan upload names in its query, if any."""
    unknown = sorted(set(parameters) - {"format"})
    if unknown:
        raise InvalidParameterError(
            f"unknown query parameter {unknown[0]!r}; known: format", field=unknown[0]
        )
    value = parameters.get("format")
    if value is None:
        return None
    try:
        return ScanFormat(value.lower())
    except ValueError:
        allowed = ", ".join(member.value for member in ScanFormat)
        raise InvalidParameterError(f"format must be one of {allowed}", field="format") from None


async def add_scan_evidence(
    store: EvidenceStore,
    *,
    digest: str,
    document: bytes,
    format: ScanFormat | None,
    now: datetime,
) -> ScanReportOut:
    """Read a scanner's JSON report of ``digest`` and keep it.

    ScanReportError names the JSON path at fault in the report.
    """
    digest = evidence_digest(digest)
    # Reports run to megabytes; reading them on the event loop would hold up
    # admission reviews served by the same loop.
    report = await asyncio.to_thread(
        partial(parse_scan_report, document, digest=digest, format=format, received_at=now)
    )
    await store.add_scan(report, now=now)
    return scan_report_to_wire(report)


async def set_provenance_evidence(
    store: EvidenceStore, *, digest: str, document: bytes, now: datetime
) -> ProvenanceEvidenceOut:
    """Make the provenance document ``document`` what is known about ``digest``'s build."""
    digest = evidence_digest(digest)
    provenance, labels = parse_provenance_evidence(document)
    await store.set_provenance(digest, provenance, labels, now=now)
    return ProvenanceEvidenceOut(
        digest=digest, provenance=provenance_to_wire(provenance), labels=dict(labels)
    )


async def get_evidence(store: EvidenceStore, digest: str) -> EvidenceOut:
    """What CI posted about ``digest``; empty (not an error) when nothing was."""
    digest = evidence_digest(digest)
    return evidence_to_wire(digest, await store.evidence(digest))


def evidence_to_wire(digest: str, evidence: Evidence) -> EvidenceOut:
    return EvidenceOut(
        digest=digest,
        scan=scan_report_to_wire(evidence.scan) if evidence.scan else None,
        provenance=provenance_to_wire(evidence.provenance) if evidence.provenance else None,
        labels=dict(evidence.labels),
    )


def scan_report_to_wire(report: ScanReport) -> ScanReportOut:
    found = report.vulnerabilities
    return ScanReportOut(
        digest=report.digest,
        scanner=report.scanner,
        scanned_at=timestamp_to_wire(report.scanned_at),
        counts=severity_counts_to_wire(report),
        vulnerabilities=[
            VulnerabilityOut(
                id=vulnerability.id,
                package=vulnerability.package,
                version=vulnerability.version,
                severity=vulnerability.severity.word,
                fixed_in=vulnerability.fixed_in,
            )
            for vulnerability in found
        ],
    )


def severity_counts_to_wire(report: ScanReport) -> SeverityCountsOut:
    found = report.vulnerabilities
    counted = Counter(vulnerability.severity for vulnerability in found)
    return SeverityCountsOut(
        critical=counted[Severity.CRITICAL],
        high=counted[Severity.HIGH],
        medium=counted[Severity.MEDIUM],
        low=counted[Severity.LOW],
        negligible=counted[Severity.NEGLIGIBLE],
        unknown=counted[Severity.UNKNOWN],
        total=len(found),
    )


def provenance_to_wire(provenance: Provenance) -> ProvenanceOut:
    return ProvenanceOut(
        builder_id=provenance.builder_id,
        source_repository=provenance.source_repository,
        commit=provenance.commit,
    )
