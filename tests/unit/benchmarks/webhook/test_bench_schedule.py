from __future__ import annotations

import pytest
from benchmarks.webhook.load import OpenLoopSchedule, requests_for


def test_request_i_is_due_at_start_plus_i_over_rate() -> None:
    schedule = OpenLoopSchedule(start=100.0, rate=500.0, total=1000)

    assert schedule.due_at(0) == 100.0
    assert schedule.due_at(500) == pytest.approx(101.0)
    assert schedule.due_at(999) == pytest.approx(100.0 + 999 / 500)


def test_due_by_counts_requests_due_at_or_before_now() -> None:
    schedule = OpenLoopSchedule(start=10.0, rate=100.0, total=50)

    assert schedule.due_by(9.99) == 0
    assert schedule.due_by(10.0) == 1
    assert schedule.due_by(10.1) == 11  # requests 0..10, the last due exactly now
    assert schedule.due_by(10.1049) == 11
    assert schedule.due_by(99.0) == 50  # never more than the total


def test_the_schedule_does_not_depend_on_answers() -> None:
    # A stalled second: everything due in it is due, however few answers came back.
    schedule = OpenLoopSchedule(start=0.0, rate=500.0, total=10_000)

    assert schedule.due_by(1.0) - schedule.due_by(0.0) == 500


def test_requests_for_a_rate_and_a_length() -> None:
    assert requests_for(500.0, 12.0) == 6000
    assert requests_for(0.5, 3.0) == 2
    assert requests_for(500.0, 0.0) == 0


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        OpenLoopSchedule(start=0.0, rate=0.0, total=1)
