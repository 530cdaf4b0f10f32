"""The evidence store contract: every store that keeps evidence must pass these tests."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType

import pytest

from imagegate.facts import (
    Evidence,
    EvidenceStore,
    Provenance,
    ScanReport,
    Severity,
    Vulnerability,
)
from imagegate.store import SqliteStore

DIGEST = "sha256:15d37e6e6bd9fff5756849543fc76c2ec5110a04e03e3141e8038df06feefae8"
OTHER = "sha256:d9298a10d1b0735837dc4bd85dac641b0f3cef27a47e5d53a54f2f3f5b2fcffa"
T0 = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
LIBSSL = Vulnerability(
    "CVE-2023-5363", "libssl3", "3.0.11-1~deb12u1", Severity.HIGH, "3.0.11-1~deb12u2"
)
EXPAT = Vulnerability("CVE-2024-45490", "libexpat1", "2.5.0-1", Severity.CRITICAL)
BUILT = Provenance(
    builder_id="https://github.com/acme/api/.github/workflows/release.yml@refs/heads/main",
    source_repository="https://github.com/acme/api",
    commit="4f1c2b7d9e0a8b6c5d4e3f2a1b0c9d8e7f6a5b4c",
)


@pytest.fixture
def evidence(store: object) -> EvidenceStore:
    """The contract ``store`` fixture, which must keep evidence too."""
    assert isinstance(store, EvidenceStore), f"{type(store).__name__} keeps no evidence"
    return store


def scan(
    digest: str = DIGEST,
    *,
    at: datetime = T0,
    scanner: str = "grype 0.84.0",
    found: tuple[Vulnerability, ...] = (EXPAT, LIBSSL),
) -> ScanReport:
    return ScanReport(digest=digest, scanner=scanner, scanned_at=at, vulnerabilities=found)


async def test_nothing_posted_is_empty_evidence(evidence: EvidenceStore) -> None:
    assert await evidence.latest_scan(DIGEST) is None
    assert await evidence.evidence(DIGEST) == Evidence()


async def test_a_scan_reads_back_as_posted(evidence: EvidenceStore) -> None:
    report = scan(found=(EXPAT, LIBSSL, Vulnerability("CVE-1", "", "", Severity.UNKNOWN)))
    await evidence.add_scan(report, now=T0 + timedelta(minutes=5))
    assert await evidence.latest_scan(DIGEST) == report
    assert await evidence.evidence(DIGEST) == Evidence(scan=report)
    assert await evidence.latest_scan(OTHER) is None


async def test_times_in_any_zone_read_back_as_the_same_moment(evidence: EvidenceStore) -> None:
    east = timezone(timedelta(hours=9))
    report = scan(at=datetime(2025, 3, 14, 18, 0, 0, 123456, tzinfo=east))
    await evidence.add_scan(report, now=T0)
    stored = await evidence.latest_scan(DIGEST)
    assert stored is not None
    assert stored.scanned_at == report.scanned_at
    assert stored.scanned_at.utcoffset() == timedelta(0)


async def test_the_newest_scan_by_the_scanners_time_counts(evidence: EvidenceStore) -> None:
    newer = scan(at=T0 + timedelta(days=1), found=(LIBSSL,))
    older = scan(at=T0, scanner="trivy 0.59.1")
    await evidence.add_scan(newer, now=T0 + timedelta(days=2))
    # A rerun of an old pipeline posts later but does not replace a newer scan.
    await evidence.add_scan(older, now=T0 + timedelta(days=3))
    assert await evidence.latest_scan(DIGEST) == newer


async def test_a_scan_dated_after_its_arrival_never_outranks_later_scans(
    evidence: EvidenceStore,
) -> None:
    # Stored before the parser refused such reports: its own clock says year 9999.
    clean_from_the_future = scan(at=datetime(9999, 12, 31, tzinfo=UTC), found=())
    await evidence.add_scan(clean_from_the_future, now=T0)
    critical = scan(at=T0 + timedelta(hours=1), found=(EXPAT,))
    await evidence.add_scan(critical, now=T0 + timedelta(hours=1))
    assert await evidence.latest_scan(DIGEST) == critical


async def test_of_scans_at_one_time_the_last_received_counts(evidence: EvidenceStore) -> None:
    first = scan(found=(LIBSSL,))
    second = scan(found=())
    await evidence.add_scan(first, now=T0)
    await evidence.add_scan(second, now=T0)
    assert await evidence.latest_scan(DIGEST) == second


async def test_scans_of_other_digests_do_not_count(evidence: EvidenceStore) -> None:
    mine = scan()
    await evidence.add_scan(mine, now=T0)
    await evidence.add_scan(scan(OTHER, at=T0 + timedelta(days=1), found=()), now=T0)
    assert await evidence.latest_scan(DIGEST) == mine


async def test_provenance_and_labels_read_back(evidence: EvidenceStore) -> None:
    labels = MappingProxyType({"team": "payments", "org.opencontainers.image.version": "1.4.2"})
    await evidence.set_provenance(DIGEST, BUILT, labels, now=T0)
    found = await evidence.evidence(DIGEST)
    assert found.scan is None
    assert found.provenance == BUILT
    assert dict(found.labels) == dict(labels)
    assert await evidence.evidence(OTHER) == Evidence()


async def test_the_latest_provenance_replaces_the_one_before(evidence: EvidenceStore) -> None:
    await evidence.set_provenance(DIGEST, BUILT, {"team": "payments", "tier": "1"}, now=T0)
    rebuilt = Provenance(commit="0a1b2c3d4e5f60718293a4b5c6d7e8f901234567")
    await evidence.set_provenance(DIGEST, rebuilt, {"team": "checkout"}, now=T0)
    found = await evidence.evidence(DIGEST)
    # Replaced as a whole: neither members nor labels of the one before remain.
    assert found.provenance == rebuilt
    assert dict(found.labels) == {"team": "checkout"}


async def test_empty_provenance_is_known_and_empty(evidence: EvidenceStore) -> None:
    await evidence.set_provenance(DIGEST, Provenance(), {}, now=T0)
    assert await evidence.evidence(DIGEST) == Evidence(provenance=Provenance())


async def test_evidence_is_the_newest_scan_with_provenance(evidence: EvidenceStore) -> None:
    report = scan()
    await evidence.add_scan(report, now=T0)
    await evidence.set_provenance(DIGEST, BUILT, {"team": "payments"}, now=T0)
    found = await evidence.evidence(DIGEST)
    assert (found.scan, found.provenance, dict(found.labels)) == (
        report,
        BUILT,
        {"team": "payments"},
    )


async def test_a_large_report(evidence: EvidenceStore) -> None:
    found = tuple(
        Vulnerability(f"CVE-2024-{n:05d}", f"package-{n % 97}", "1.0", Severity(n % 6))
        for n in range(20_000)
    )
    await evidence.add_scan(scan(found=found), now=T0)
    stored = await evidence.latest_scan(DIGEST)
    assert stored is not None
    assert stored.vulnerabilities == found


async def test_concurrent_posts_are_all_kept(evidence: EvidenceStore) -> None:
    reports = [scan(at=T0 + timedelta(seconds=n), scanner=f"grype 0.{n}") for n in range(20)]
    await asyncio.gather(*(evidence.add_scan(report, now=T0) for report in reports))
    assert await evidence.latest_scan(DIGEST) == reports[-1]


# --- SQLite: what the database itself holds -------------------------------------


async def test_sqlite_keeps_scans_as_history_it_never_rewrites(tmp_path: Path) -> None:
    path = tmp_path / "imagegate.db"
    store = await SqliteStore.open(path)
    try:
        await store.add_scan(scan(found=(EXPAT,)), now=T0)
        await store.add_scan(scan(at=T0 + timedelta(hours=1), found=()), now=T0)
        await store.set_provenance(DIGEST, BUILT, {"team": "payments"}, now=T0)
    finally:
        await store.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM scan_reports").fetchone() == (2,)
        with pytest.raises(sqlite3.IntegrityError, match="never changed"):
            connection.execute("UPDATE scan_reports SET scanner = 'forged'")
        with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
            connection.execute("DELETE FROM scan_reports")
        plan = connection.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM scan_reports WHERE digest = ? "
            "ORDER BY scanned_at DESC, id DESC LIMIT 1",
            (DIGEST,),
        ).fetchall()
    assert any("scan_reports_by_digest" in str(row) for row in plan)
    reopened = await SqliteStore.open(path)
    try:
        found = await reopened.evidence(DIGEST)
    finally:
        await reopened.close()
    assert found.scan == scan(at=T0 + timedelta(hours=1), found=())
    assert found.provenance == BUILT
