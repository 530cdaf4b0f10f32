"""What one load run measured (the JSON it writes), and the clocks read at the window's edges."""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass

import msgspec

from benchmarks.webhook.latency import Latency, summarize
from benchmarks.webhook.load._exchange import State
from benchmarks.webhook.load._shape import LoadShape, Mode
from benchmarks.webhook.loops import running_loop_name
from benchmarks.webhook.procfs import machine_cpu_s, process_cpu_s


class RssSample(msgspec.Struct, array_like=True, frozen=True):
    """The server's resident memory at ``at_s`` seconds from the window's start."""

    at_s: float
    mib: float


class LoadReport(msgspec.Struct):
    """What one load run measured; written as JSON."""

    url: str
    mode: Mode
    concurrency: int | None
    """Closed loop: requests in flight."""
    rate: float | None
    """Open loop: requests due per second."""
    connections_limit: int
    max_outstanding: int | None
    warmup_s: float
    duration_s: float
    measured_s: float
    """Length of the measured window as it happened."""
    requests: int
    """Requests answered (correctly or not) within the measured window."""
    requests_per_s: float
    latency_ms: Latency | None
    """Closed loop: requests answered in the window, from send to answer. Open loop:
    requests due in the window, from the time they were due to their answer."""
    send_lag_ms: Latency | None
    """Open loop: how late the generator sent the requests due in the window."""
    scheduled_total: int
    """Requests due (open loop) or started (closed loop) in the whole run."""
    sent_total: int
    """Requests sent in all, warm-up and tail included."""
    reviews_sent: list[int]
    """Positions in the corpus of the reviews sent at least once."""
    errors: int
    """Failed, wrong, late or unsent requests in the whole run (warm-up included)."""
    errors_by_kind: dict[str, int]
    error_samples: list[str]
    connections_opened: int
    """TCP+TLS connections the client opened; at most the limit with working keep-alive."""
    client_cpu_s: float
    """CPU time of this load generator process in the measured window."""
    server_pid: int | None
    server_cpu_s: float | None
    """CPU time of ``--server-pid`` in the measured window."""
    server_cpu_at_start_s: float | None
    """CPU time of ``--server-pid`` when the window started, to extend the interval later."""
    tail_requests: int
    """Requests answered after the window closed (those in flight when it did)."""
    machine_busy_cpu_s: float
    """CPU time in user and system mode of the whole machine in the window (/proc/stat);
    interrupt handling (which carries loopback TCP) is left out."""
    machine_steal_cpu_s: float
    """CPU time the hypervisor gave to other guests in the window: noise from outside."""
    rss_samples: list[RssSample]
    """``--server-pid``'s VmRSS every ``--rss-every`` seconds, when asked for."""
    event_loop: str
    """The load generator's own event loop."""


@dataclass(frozen=True)
class Counters:
    """Clocks read at one edge of the measured window."""

    at: float
    server_cpu_s: float | None
    client_cpu_s: float
    busy_cpu_s: float
    steal_cpu_s: float

    @classmethod
    def read(cls, server_pid: int | None) -> Counters:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        busy, steal = machine_cpu_s()
        return cls(
            at=time.perf_counter(),
            server_cpu_s=process_cpu_s(server_pid) if server_pid else None,
            client_cpu_s=usage.ru_utime + usage.ru_stime,
            busy_cpu_s=busy,
            steal_cpu_s=steal,
        )


def build_report(
    state: State,
    shape: LoadShape,
    url: str,
    server_pid: int | None,
    first: Counters,
    last: Counters,
    rss_samples: list[RssSample],
) -> LoadReport:
    measured_s = last.at - first.at
    answered = list(zip(state.due, state.sent_at, state.ended, strict=True))
    in_window = [ended for _, _, ended in answered if first.at <= ended <= last.at]
    if shape.mode == "closed":
        latencies = [ended - due for due, _, ended in answered if first.at <= ended <= last.at]
        lags: list[float] = []
    else:
        due_in_window = [(d, s, e) for d, s, e in answered if first.at <= d < last.at]
        latencies = [ended - due for due, _, ended in due_in_window]
        lags = [sent - due for due, sent, _ in due_in_window]
    server_cpu = (
        round(last.server_cpu_s - first.server_cpu_s, 3)
        if last.server_cpu_s is not None and first.server_cpu_s is not None
        else None
    )
    return LoadReport(
        url=url,
        mode=shape.mode,
        concurrency=shape.concurrency if shape.mode == "closed" else None,
        rate=shape.rate if shape.mode == "open" else None,
        connections_limit=shape.connection_limit,
        max_outstanding=shape.max_outstanding if shape.mode == "open" else None,
        warmup_s=shape.warmup_s,
        duration_s=shape.duration_s,
        measured_s=round(measured_s, 4),
        requests=len(in_window),
        requests_per_s=round(len(in_window) / measured_s, 2) if measured_s > 0 else 0.0,
        latency_ms=summarize(latencies),
        send_lag_ms=summarize(lags),
        scheduled_total=state.sent + state.errors["not_sent"],
        sent_total=state.sent,
        reviews_sent=sorted(state.reviews_sent),
        errors=state.errors.total(),
        errors_by_kind=dict(state.errors),
        error_samples=state.error_samples,
        connections_opened=state.connections,
        client_cpu_s=round(last.client_cpu_s - first.client_cpu_s, 3),
        server_pid=server_pid,
        server_cpu_s=server_cpu,
        server_cpu_at_start_s=first.server_cpu_s,
        tail_requests=sum(1 for ended in state.ended if ended > last.at),
        machine_busy_cpu_s=round(last.busy_cpu_s - first.busy_cpu_s, 3),
        machine_steal_cpu_s=round(last.steal_cpu_s - first.steal_cpu_s, 3),
        rss_samples=rss_samples,
        event_loop=running_loop_name(),
    )
