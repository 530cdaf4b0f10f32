"""imagegate against its peers under the same load: ratios of throughput, latency and CPU."""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.webhook.results import Ratio, Scenario


def over(value: float | None, baseline: float | None) -> float | None:
    """``value / baseline`` to 4 significant digits, or ``None`` when either is missing or
    the baseline is 0."""
    if value is None or not baseline:
        return None
    return float(f"{value / baseline:.4g}")


def ratios(
    scenarios: Sequence[Scenario], *, servers: Sequence[str], baselines: Sequence[str]
) -> list[Ratio]:
    """Each of ``servers``' closed- and open-loop runs over each baseline's run under the
    same load (same concurrency, or same rate); loads a baseline did not run are left out."""
    by_load = {(s.server, s.mode, s.load): s for s in scenarios}
    found = []
    for scenario in scenarios:
        if scenario.server not in servers or scenario.mode == "soak":
            continue
        for baseline_name in baselines:
            baseline = by_load.get((baseline_name, scenario.mode, scenario.load))
            if baseline is None:
                continue
            mine, theirs = scenario.latency_ms, baseline.latency_ms
            found.append(
                Ratio(
                    server=scenario.server,
                    baseline=baseline_name,
                    mode=scenario.mode,
                    load=scenario.load,
                    throughput=over(scenario.requests_per_s, baseline.requests_per_s)
                    if scenario.mode == "closed"
                    else None,
                    p50=over(mine.p50 if mine else None, theirs.p50 if theirs else None),
                    p99=over(mine.p99 if mine else None, theirs.p99 if theirs else None),
                    cpu_per_review=over(
                        scenario.server_cpu_ms_per_review, baseline.server_cpu_ms_per_review
                    ),
                )
            )
    return found
