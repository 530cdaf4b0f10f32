from __future__ import annotations

from benchmarks.webhook.latency import Latency, summarize


def test_summarize_reports_milliseconds_of_unsorted_seconds() -> None:
    seconds = [0.004, 0.001, 0.003, 0.002]

    assert summarize(seconds) == Latency(min=1.0, p50=2.0, p90=4.0, p99=4.0, max=4.0, mean=2.5)


def test_summarize_of_nothing_is_none() -> None:
    assert summarize([]) is None
