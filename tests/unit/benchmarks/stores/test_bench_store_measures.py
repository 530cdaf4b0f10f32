from __future__ import annotations

from benchmarks.stores.measure import Measured


def test_a_summary_reports_nearest_rank_percentiles_of_its_latencies() -> None:
    # 300 runs, as the query measurements make: p99 is the 297th value, nearest rank.
    measured = Measured(
        operations=300, wall_s=1.5, latencies_ms=[float(n) for n in range(300, 0, -1)]
    )

    summary = measured.summary()

    assert summary["p50_ms"] == 150.0
    assert summary["p99_ms"] == 297.0
    assert summary["max_ms"] == 300.0
    assert summary["per_s"] == 200.0


def test_a_batch_summary_counts_requests_per_second() -> None:
    measured = Measured(operations=16, wall_s=2.0, latencies_ms=[10.0] * 16)

    summary = measured.summary(unit_per_operation=256)

    assert summary["requests"] == 4096
    assert summary["per_s"] == 2048.0
