"""Reading a scanner's JSON report into a ``ScanReport``: pure, no IO."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import msgspec

from imagegate._decoding_errors import locate
from imagegate.evidence.scans._cyclonedx import CycloneDxReport, cyclonedx_findings
from imagegate.evidence.scans._errors import ScanDigestMismatchError, ScanReportError
from imagegate.evidence.scans._findings import ScanFindings
from imagegate.evidence.scans._format import EXPECTED_KEYS, ScanFormat, detect_format
from imagegate.evidence.scans._grype import GrypeReport, grype_findings
from imagegate.evidence.scans._trivy import TrivyReport, trivy_findings
from imagegate.facts import ScanReport, Vulnerability
from imagegate.tracking import InvalidReferenceError, validate_digest

R = TypeVar("R")

_READERS: dict[ScanFormat, tuple[type[Any], Callable[[Any], ScanFindings]]] = {
    ScanFormat.GRYPE: (GrypeReport, grype_findings),
    ScanFormat.TRIVY: (TrivyReport, trivy_findings),
    ScanFormat.CYCLONEDX: (CycloneDxReport, cyclonedx_findings),
}
_TOP_LEVEL = msgspec.json.Decoder(dict[str, msgspec.Raw])
_SHOWN_KEYS = 8


CLOCK_SKEW = timedelta(minutes=10)
"""How far a scanner's clock may run ahead of imagegate's."""


def scan_rank(scanned_at: datetime, received_at: datetime) -> datetime:
    """When a stored scan counts as made, to find the newest: the scanner's time, but
    never later than its arrival plus the clock skew allowed."""
    return min(scanned_at, received_at + CLOCK_SKEW)


def parse_scan_report(
    document: bytes,
    *,
    digest: str,
    format: ScanFormat | None = None,
    received_at: datetime,
) -> ScanReport:
    """The vulnerabilities a scanner's JSON report lists for the image ``digest``.

    ``format`` is detected from the document when not given. Entries repeated for
    one (id, package, version) are merged, keeping the gravest severity. The report
    is dated by the scanner's time, else by ``received_at``.

    Raises ScanReportError (``field`` = the JSON path at fault) for a document that
    is not such a report, and ScanDigestMismatchError when the report names the
    image it scanned and that is not ``digest``.
    """
    try:
        digest = validate_digest(digest)
    except InvalidReferenceError as error:
        raise error.at("digest") from error
    chosen = format or _detect(document)
    struct, findings_of = _READERS[chosen]
    findings = findings_of(_decode(document, struct, chosen))
    _check_subject(findings, digest)
    if findings.scanned_at is not None and findings.scanned_at > received_at + CLOCK_SKEW:
        raise ScanReportError(
            f"the report says it was made at {findings.scanned_at.isoformat()}, after it "
            f"was received ({received_at.isoformat()}): a scan from the future would stay "
            "the newest and hide every later one"
        )
    return ScanReport(
        digest=digest,
        scanner=findings.scanner,
        scanned_at=findings.scanned_at or received_at,
        vulnerabilities=merge_duplicates(findings.vulnerabilities),
    )


def merge_duplicates(vulnerabilities: tuple[Vulnerability, ...]) -> tuple[Vulnerability, ...]:
    """One entry per (id, package, version), gravest first, then by id.

    Scanners repeat a finding for each place a package is found (two copies of one
    jar), or for each source that rates it; the gravest severity and the first known
    fix are kept, so that merging never makes a finding look less serious.
    """
    merged: dict[tuple[str, str, str], Vulnerability] = {}
    for found in vulnerabilities:
        key = (found.id, found.package, found.version)
        seen = merged.get(key)
        if seen is None:
            merged[key] = found
            continue
        merged[key] = Vulnerability(
            id=found.id,
            package=found.package,
            version=found.version,
            severity=max(seen.severity, found.severity),
            fixed_in=seen.fixed_in or found.fixed_in,
        )
    return tuple(
        sorted(merged.values(), key=lambda v: (-v.severity.value, v.id, v.package, v.version))
    )


def _detect(document: bytes) -> ScanFormat:
    try:
        keys = _TOP_LEVEL.decode(document)
    except msgspec.ValidationError as error:
        # The only thing that can be wrong with dict[str, Raw] is the top level.
        raise ScanReportError(f"a scan report is a JSON object: {error}") from None
    except msgspec.DecodeError as error:
        raise ScanReportError(f"the scan report is not valid JSON: {error}") from None
    except RecursionError:
        raise ScanReportError("the scan report is nested too deeply") from None
    detected = detect_format(keys)
    if detected is None:
        shown = ", ".join(sorted(keys)[:_SHOWN_KEYS]) or "none"
        raise ScanReportError(
            f"unknown scan report format: expected {EXPECTED_KEYS}; "
            f"the document's top-level keys are: {shown}"
        )
    return detected


def _decode(document: bytes, struct: type[R], chosen: ScanFormat) -> R:
    try:
        return msgspec.json.decode(document, type=struct)
    except msgspec.ValidationError as error:
        message, field, at = locate(error)
        where = f" at {at}" if at else ""
        raise ScanReportError(
            f"invalid {chosen.label} report{where}: {message}", field=field
        ) from None
    except msgspec.DecodeError as error:
        raise ScanReportError(f"the scan report is not valid JSON: {error}") from None
    except RecursionError:
        raise ScanReportError("the scan report is nested too deeply") from None


def _check_subject(findings: ScanFindings, digest: str) -> None:
    named = [_digest_part(text) for text in findings.subject_digests]
    if not named:
        return
    accepted = {*named, *(_digest_part(text) for text in findings.accepted_digests)}
    if digest not in accepted:
        raise ScanDigestMismatchError(digest, list(findings.subject_digests), findings.subject_path)


def _digest_part(text: str) -> str:
    # "ghcr.io/acme/api@sha256:…" or a bare "sha256:…".
    return text.rpartition("@")[2].strip().lower()
