"""Scenario results to feed the benchmark's comparisons in tests."""

from __future__ import annotations

from benchmarks.webhook.latency import Latency
from benchmarks.webhook.results import Mode, Scenario


def scenario(
    server: str,
    *,
    mode: Mode = "closed",
    concurrency: int | None = 8,
    rate: float | None = None,
    rps: float = 100.0,
    p50: float = 1.0,
    p99: float = 5.0,
    errors: int = 0,
    cpu_ms: float = 2.0,
) -> Scenario:
    """A scenario with the figures the comparisons read; the rest zero."""
    return Scenario(
        server=server,
        mode=mode,
        concurrency=concurrency if mode == "closed" else None,
        rate=rate,
        measured_s=10.0,
        requests=int(rps * 10),
        requests_per_s=rps,
        latency_ms=Latency(min=p50 / 2, p50=p50, p90=p99, p99=p99, max=p99 * 2, mean=p50),
        send_lag_ms=None,
        errors=errors,
        failures=0,
        errors_by_kind={"not_sent": errors} if errors else {},
        sent_total=int(rps * 12),
        connections_limit=concurrency or 64,
        connections_opened=concurrency or 4,
        server_cpu_s_window=0.0,
        server_cpu_s_until_idle=0.0,
        server_cpu_ms_per_review=cpu_ms,
        server_cores_busy=0.0,
        client_cpu_s=0.0,
        other_cpu_s=0.0,
        steal_cpu_s=0.0,
        settle_s=0.0,
        rss_mib_after=50.0,
    )
