from __future__ import annotations

from benchmarks.webhook.compare import over, ratios
from benchmarks.webhook.results import Ratio

from unit.benchmarks.webhook.scenarios import scenario


def test_over_is_none_without_a_baseline() -> None:
    assert over(3.0, 2.0) == 1.5
    assert over(2.04, 879.73) == 0.002319  # small ratios keep their digits
    assert over(3.0, 0.0) is None
    assert over(None, 2.0) is None


def test_each_imagegate_run_is_divided_by_each_baseline_under_the_same_load() -> None:
    runs = [
        scenario("floor", rps=1000, p50=1, p99=2, cpu_ms=0.5),
        scenario("kopf", rps=200, p50=4, p99=20, cpu_ms=4),
        scenario("imagegate-audit", rps=600, p50=2, p99=5, cpu_ms=1),
        scenario("imagegate-audit", concurrency=32, rps=700),  # no baseline at c=32
        scenario("floor", mode="open", rate=500, p50=1, p99=2, cpu_ms=0.5),
        scenario("imagegate-audit", mode="open", rate=500, p50=3, p99=8, cpu_ms=1),
    ]

    found = ratios(runs, servers=["imagegate-audit"], baselines=["floor", "kopf"])

    assert found == [
        Ratio("imagegate-audit", "floor", "closed", "c=8", 0.6, 2.0, 2.5, 2.0),
        Ratio("imagegate-audit", "kopf", "closed", "c=8", 3.0, 0.5, 0.25, 0.25),
        # An open loop fixes the rate: no throughput ratio.
        Ratio("imagegate-audit", "floor", "open", "500/s", None, 3.0, 4.0, 2.0),
    ]
