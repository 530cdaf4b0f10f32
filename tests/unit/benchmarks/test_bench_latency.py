from __future__ import annotations

import pytest
from benchmarks.latency import Latency, nearest_rank, summarize


def test_nearest_rank_is_the_smallest_value_covering_the_quantile() -> None:
    ordered = [float(value) for value in range(1, 101)]

    assert nearest_rank(ordered, 0.50) == 50.0
    assert nearest_rank(ordered, 0.99) == 99.0
    assert nearest_rank(ordered, 1.0) == 100.0
    assert nearest_rank([7.0], 0.99) == 7.0


def test_nearest_rank_refuses_nothing_and_quantiles_outside_0_to_1() -> None:
    with pytest.raises(ValueError, match="no values"):
        nearest_rank([], 0.5)
    with pytest.raises(ValueError, match="not in"):
        nearest_rank([1.0], 0.0)


def test_summarize_reports_milliseconds_of_unsorted_seconds() -> None:
    seconds = [0.004, 0.001, 0.003, 0.002]

    assert summarize(seconds) == Latency(min=1.0, p50=2.0, p90=4.0, p99=4.0, max=4.0, mean=2.5)


def test_summarize_of_nothing_is_none() -> None:
    assert summarize([]) is None
