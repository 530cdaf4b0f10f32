"""Scan reports, their retirements and provenance (``evidence.EvidenceStore``), once for
both databases. Reports are history: a retirement is a row of its own, never an edit."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType

from imagegate.evidence import (
    ScanNotFoundError,
    ScanRetiredError,
    decode_vulnerabilities,
    encode_vulnerabilities,
    ranked_scans,
    scan_rank,
)
from imagegate.facts import Evidence, Provenance, ScanReport, ScanRetirement, StoredScan
from imagegate.store._sql import Dialect, Fetch, Query, Steps


def add_scan(dialect: Dialect, report: ScanReport, now: datetime) -> Steps[None]:
    yield Query(
        "INSERT INTO scan_reports (digest, scanner, scanned_at, received_at, vulnerabilities) "
        "VALUES (?, ?, ?, ?, ?)",
        (
            report.digest,
            report.scanner,
            dialect.time(report.scanned_at),
            dialect.time(now),
            encode_vulnerabilities(report.vulnerabilities),
        ),
    )


def latest_scan(dialect: Dialect, digest: str) -> Steps[ScanReport | None]:
    # Ranked here by facts.scan_rank, the one definition of which scan counts: newest
    # by the scanner's time, never later than its arrival give or take the clock skew
    # allowed. A digest has few scans.
    ranked = yield Query(
        "SELECT id, scanned_at, received_at FROM scan_reports AS s WHERE digest = ? "
        "AND NOT EXISTS (SELECT 1 FROM scan_retirements AS r WHERE r.scan_id = s.id)",
        (digest,),
        Fetch.ALL,
    )
    if not ranked:
        return None
    best = max(
        ranked,
        key=lambda row: (scan_rank(dialect.read_time(row[1]), dialect.read_time(row[2])), row[0]),
    )
    scanner, scanned_at, vulnerabilities = yield Query(
        "SELECT scanner, scanned_at, vulnerabilities FROM scan_reports WHERE id = ?",
        (best[0],),
        Fetch.ONE,
    )
    return ScanReport(
        digest=digest,
        scanner=scanner,
        scanned_at=dialect.read_time(scanned_at),
        vulnerabilities=decode_vulnerabilities(bytes(vulnerabilities)),
    )


def scans(dialect: Dialect, digest: str) -> Steps[list[StoredScan]]:
    return ranked_scans((yield from _stored_scans(dialect, digest)))


def retire_scan(
    dialect: Dialect, digest: str, scan_id: int, reason: str, now: datetime
) -> Steps[StoredScan]:
    found = yield from _stored_scans(dialect, digest, scan_id=scan_id)
    if not found:
        raise ScanNotFoundError(digest, scan_id)
    stored = found[0]
    # Of two retirements at once (several replicas), the second inserts nothing and
    # reads the first's, committed by then: a new statement sees it.
    inserted = yield Query(
        "INSERT INTO scan_retirements (scan_id, retired_at, reason) VALUES (?, ?, ?) "
        "ON CONFLICT (scan_id) DO NOTHING RETURNING scan_id",
        (scan_id, dialect.time(now), reason),
        Fetch.ONE,
    )
    if inserted is None:
        retired_at, earlier_reason = yield Query(
            "SELECT retired_at, reason FROM scan_retirements WHERE scan_id = ?",
            (scan_id,),
            Fetch.ONE,
        )
        earlier = ScanRetirement(retired_at=dialect.read_time(retired_at), reason=earlier_reason)
        raise ScanRetiredError(digest, scan_id, earlier)
    return StoredScan(
        id=stored.id,
        report=stored.report,
        received_at=stored.received_at,
        retirement=ScanRetirement(retired_at=now, reason=reason),
    )


def set_provenance(
    dialect: Dialect,
    digest: str,
    provenance: Provenance,
    labels: Mapping[str, str],
    now: datetime,
) -> Steps[None]:
    # An upsert of one row: concurrent posts of one digest wait on the row, no race.
    yield Query(
        "INSERT INTO provenance_evidence (digest, builder_id, source_repository, "
        '"commit", labels, updated_at) VALUES (?, ?, ?, ?, ?, ?) '
        "ON CONFLICT (digest) DO UPDATE SET builder_id = excluded.builder_id, "
        "source_repository = excluded.source_repository, "
        '"commit" = excluded."commit", labels = excluded.labels, '
        "updated_at = excluded.updated_at",
        (
            digest,
            provenance.builder_id,
            provenance.source_repository,
            provenance.commit,
            json.dumps(dict(sorted(labels.items()))),
            dialect.time(now),
        ),
    )


def evidence(dialect: Dialect, digest: str) -> Steps[Evidence]:
    scan = yield from latest_scan(dialect, digest)
    row = yield Query(
        'SELECT builder_id, source_repository, "commit", labels FROM provenance_evidence '
        "WHERE digest = ?",
        (digest,),
        Fetch.ONE,
    )
    if row is None:
        return Evidence(scan=scan)
    builder_id, source_repository, commit, labels = row
    return Evidence(
        scan=scan,
        provenance=Provenance(
            builder_id=builder_id, source_repository=source_repository, commit=commit
        ),
        labels=MappingProxyType(json.loads(labels)),
    )


def _stored_scans(
    dialect: Dialect, digest: str, *, scan_id: int | None = None
) -> Steps[list[StoredScan]]:
    """The scans of ``digest`` (only ``scan_id``, if given) with their retirements."""
    sql = (
        "SELECT s.id, s.scanner, s.scanned_at, s.received_at, s.vulnerabilities, "
        "r.retired_at, r.reason FROM scan_reports AS s "
        "LEFT JOIN scan_retirements AS r ON r.scan_id = s.id WHERE s.digest = ?"
    )
    params: tuple[object, ...] = (digest,)
    if scan_id is not None:
        sql += " AND s.id = ?"
        params = (digest, scan_id)
    rows = yield Query(sql, params, Fetch.ALL)
    return [
        StoredScan(
            id=row[0],
            report=ScanReport(
                digest=digest,
                scanner=row[1],
                scanned_at=dialect.read_time(row[2]),
                vulnerabilities=decode_vulnerabilities(bytes(row[4])),
            ),
            received_at=dialect.read_time(row[3]),
            retirement=(
                ScanRetirement(retired_at=dialect.read_time(row[5]), reason=row[6])
                if row[5] is not None
                else None
            ),
        )
        for row in rows
    ]
