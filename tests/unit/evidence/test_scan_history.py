"""Which scan of a digest counts, and what a retirement's reason may be."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from imagegate.evidence import MAX_RETIREMENT_REASON, counting_scan, ranked_scans, retirement_reason
from imagegate.facts import ScanReport, ScanRetirement, StoredScan
from imagegate.tracking import InvalidFieldError

T0 = datetime(2026, 3, 1, tzinfo=UTC)
DIGEST = "sha256:" + "e" * 64


def stored(
    scan_id: int, *, scanned: timedelta, received: timedelta, retired: bool = False
) -> StoredScan:
    report = ScanReport(digest=DIGEST, scanner="grype", scanned_at=T0 + scanned, vulnerabilities=())
    retirement = ScanRetirement(retired_at=T0, reason="broken run") if retired else None
    return StoredScan(id=scan_id, report=report, received_at=T0 + received, retirement=retirement)


def test_scans_rank_by_the_scanners_time_capped_at_arrival_plus_skew() -> None:
    old = stored(1, scanned=timedelta(0), received=timedelta(hours=1))
    newer = stored(2, scanned=timedelta(hours=2), received=timedelta(hours=2))
    # Says a year ahead, arrived before `newer`: ranks at its arrival plus 10 minutes.
    ahead = stored(3, scanned=timedelta(days=365), received=timedelta(minutes=30))
    assert [s.id for s in ranked_scans([old, ahead, newer])] == [2, 3, 1]


def test_among_equals_the_last_received_ranks_first() -> None:
    first = stored(1, scanned=timedelta(0), received=timedelta(0))
    second = stored(2, scanned=timedelta(0), received=timedelta(0))
    assert [s.id for s in ranked_scans([first, second])] == [2, 1]


def test_the_newest_scan_not_retired_counts() -> None:
    old = stored(1, scanned=timedelta(0), received=timedelta(0))
    new = stored(2, scanned=timedelta(hours=1), received=timedelta(hours=1), retired=True)
    assert counting_scan([old, new]) == old
    assert counting_scan([new]) is None
    assert counting_scan([]) is None


def test_a_reason_is_trimmed_and_kept() -> None:
    assert retirement_reason("  scanner clock ran ahead (INC-42)  ") == (
        "scanner clock ran ahead (INC-42)"
    )
    assert retirement_reason("é" * MAX_RETIREMENT_REASON) == "é" * MAX_RETIREMENT_REASON


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "say why"),
        (" \t ", "say why"),
        ("x" * (MAX_RETIREMENT_REASON + 1), "longer than 1024"),
        ("line one\nline two", "control character"),
        ("bell\x07", "control character"),
        ("half \ud800 pair", "lone surrogate"),
    ],
)
def test_a_reason_that_would_not_read_well_in_the_history_is_refused(
    reason: str, message: str
) -> None:
    with pytest.raises(InvalidFieldError, match=message) as raised:
        retirement_reason(reason)
    assert raised.value.field == "reason"
