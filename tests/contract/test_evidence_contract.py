"""The evidence store contract: every store that keeps evidence must pass these tests."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType

import pytest

from imagegate.evidence import EvidenceStore, ScanNotFoundError, ScanRetiredError
from imagegate.facts import (
    Evidence,
    Provenance,
    ScanReport,
    ScanRetirement,
    Severity,
    StoredScan,
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


# --- Scan history and retirement --------------------------------------------------


async def test_the_history_lists_every_scan_newest_first(evidence: EvidenceStore) -> None:
    assert await evidence.scans(DIGEST) == []
    older = scan(at=T0, scanner="trivy 0.59.1")
    newer = scan(at=T0 + timedelta(days=1), found=(LIBSSL,))
    await evidence.add_scan(newer, now=T0 + timedelta(days=1))
    await evidence.add_scan(older, now=T0 + timedelta(days=2))
    await evidence.add_scan(scan(OTHER), now=T0)
    history = await evidence.scans(DIGEST)
    assert [stored.report for stored in history] == [newer, older]
    assert [stored.received_at for stored in history] == [
        T0 + timedelta(days=1),
        T0 + timedelta(days=2),
    ]
    assert all(stored.retirement is None for stored in history)
    assert len({stored.id for stored in history}) == 2


async def test_a_retired_scan_no_longer_counts_and_stays_in_the_history(
    evidence: EvidenceStore,
) -> None:
    critical = scan(at=T0, found=(EXPAT,))
    await evidence.add_scan(critical, now=T0)
    # A clean report whose scanner's clock ran ahead: it counts until retired.
    clean = scan(at=T0 + timedelta(minutes=9), found=())
    await evidence.add_scan(clean, now=T0 + timedelta(minutes=1))
    assert await evidence.latest_scan(DIGEST) == clean
    wrong = (await evidence.scans(DIGEST))[0]
    retired_at = T0 + timedelta(hours=1)
    retired = await evidence.retire_scan(
        DIGEST, wrong.id, reason="scanner clock ran ahead (INC-42)", now=retired_at
    )
    assert retired == StoredScan(
        id=wrong.id,
        report=clean,
        received_at=T0 + timedelta(minutes=1),
        retirement=ScanRetirement(retired_at=retired_at, reason="scanner clock ran ahead (INC-42)"),
    )
    assert await evidence.latest_scan(DIGEST) == critical
    assert (await evidence.evidence(DIGEST)).scan == critical
    assert await evidence.scans(DIGEST) == [retired, *(await evidence.scans(DIGEST))[1:]]
    assert [stored.report for stored in await evidence.scans(DIGEST)] == [clean, critical]


async def test_with_every_scan_retired_none_counts(evidence: EvidenceStore) -> None:
    await evidence.add_scan(scan(), now=T0)
    only = (await evidence.scans(DIGEST))[0]
    await evidence.retire_scan(DIGEST, only.id, reason="broken scanner run", now=T0)
    assert await evidence.latest_scan(DIGEST) is None
    assert (await evidence.evidence(DIGEST)).scan is None


async def test_a_scan_is_retired_once(evidence: EvidenceStore) -> None:
    await evidence.add_scan(scan(), now=T0)
    only = (await evidence.scans(DIGEST))[0]
    await evidence.retire_scan(DIGEST, only.id, reason="first", now=T0)
    with pytest.raises(ScanRetiredError, match=r"was retired at 2025-03-14T09:00:00\+00:00: first"):
        await evidence.retire_scan(DIGEST, only.id, reason="second", now=T0 + timedelta(hours=1))
    [kept] = await evidence.scans(DIGEST)
    assert kept.retirement == ScanRetirement(retired_at=T0, reason="first")


async def test_concurrent_retirements_of_one_scan_keep_exactly_one(
    evidence: EvidenceStore,
) -> None:
    await evidence.add_scan(scan(), now=T0)
    only = (await evidence.scans(DIGEST))[0]
    outcomes = await asyncio.gather(
        *(evidence.retire_scan(DIGEST, only.id, reason=f"reason {n}", now=T0) for n in range(8)),
        return_exceptions=True,
    )
    assert sum(isinstance(outcome, StoredScan) for outcome in outcomes) == 1, outcomes
    assert sum(isinstance(outcome, ScanRetiredError) for outcome in outcomes) == 7, [
        type(o).__name__ + str(o)[:200] for o in outcomes
    ]


async def test_retiring_a_scan_of_another_digest_or_none_is_not_found(
    evidence: EvidenceStore,
) -> None:
    await evidence.add_scan(scan(OTHER), now=T0)
    others = (await evidence.scans(OTHER))[0]
    with pytest.raises(ScanNotFoundError, match=f"no scan {others.id} was posted for {DIGEST}"):
        await evidence.retire_scan(DIGEST, others.id, reason="wrong digest", now=T0)
    with pytest.raises(ScanNotFoundError):
        await evidence.retire_scan(DIGEST, 2**63 - 1, reason="no such scan", now=T0)
    assert (await evidence.scans(OTHER))[0].retirement is None


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
        connection.execute("PRAGMA foreign_keys = ON")
        assert connection.execute("SELECT count(*) FROM scan_reports").fetchone() == (2,)
        with pytest.raises(sqlite3.IntegrityError, match="never changed"):
            connection.execute("UPDATE scan_reports SET scanner = 'forged'")
        with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
            connection.execute("DELETE FROM scan_reports")
        connection.execute(
            "INSERT INTO scan_retirements (scan_id, retired_at, reason) "
            "VALUES (1, '2025-03-14T09:00:00.000000Z', 'broken run')"
        )
        with pytest.raises(sqlite3.IntegrityError, match="never changed"):
            connection.execute("UPDATE scan_retirements SET reason = 'forged'")
        with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
            connection.execute("DELETE FROM scan_retirements")
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            connection.execute(
                "INSERT INTO scan_retirements (scan_id, retired_at, reason) "
                "VALUES (2, '2025-03-14T09:00:00.000000Z', '')"
            )
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            connection.execute(
                "INSERT INTO scan_retirements (scan_id, retired_at, reason) "
                "VALUES (99, '2025-03-14T09:00:00.000000Z', 'no such scan')"
            )
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
