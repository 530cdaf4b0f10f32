"""Closed-loop load: AdmissionReviews over TLS keep-alive at a fixed concurrency.

Run as ``python benchmarks/load.py --url https://127.0.0.1:PORT/validate --ca-file
ca.crt --corpus corpus.json --concurrency 8``. ``concurrency`` tasks share one
aiohttp session whose connector keeps at most ``concurrency`` connections alive;
each task sends a review, waits for the answer, checks it and sends the next, so
exactly ``concurrency`` requests are in flight. After ``--warmup`` seconds the
measured window of ``--duration`` seconds starts; then no new request is sent and
the process exits once the last answers are in (or ``--request-timeout`` passes).

Bodies are encoded once, up front; per request only the unique uid is spliced in.
Latency is ``time.perf_counter()`` from just before the request is handed to
aiohttp to just after the whole answer is read, so it includes the client's own
share of the work. The report (JSON) goes to ``--out`` or stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import resource
import ssl
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import msgspec

_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_ERROR_SAMPLES = 5
_MAX_ERRORS = 1000


class _CorpusReview(msgspec.Struct):
    allowed: bool
    body: msgspec.Raw


class _Corpus(msgspec.Struct):
    uid_placeholder: str
    reviews: list[_CorpusReview]


class _AnswerResponse(msgspec.Struct):
    uid: str
    allowed: bool


class _Answer(msgspec.Struct):
    response: _AnswerResponse


_ANSWER = msgspec.json.Decoder(_Answer)


class Latency(msgspec.Struct):
    """Latency of the requests answered in the measured window, in milliseconds."""

    min: float
    p50: float
    p90: float
    p99: float
    max: float
    mean: float


class LoadReport(msgspec.Struct):
    """What one load run measured; written as JSON."""

    url: str
    concurrency: int
    warmup_s: float
    duration_s: float
    measured_s: float
    """Length of the measured window as it happened."""
    requests: int
    """Requests answered (correctly or not) within the measured window."""
    requests_per_s: float
    latency_ms: Latency | None
    sent_total: int
    """Requests sent in all, warm-up and tail included."""
    errors: int
    """Failed or wrong answers in the whole run (warm-up included)."""
    errors_by_kind: dict[str, int]
    error_samples: list[str]
    connections_opened: int
    """TCP+TLS connections the client opened; equal to concurrency with working keep-alive."""
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


@dataclass
class _Item:
    head: bytes
    tail: bytes
    allowed: bool


@dataclass
class _State:
    items: list[_Item]
    uid_prefix: str
    max_requests: int
    stopping: bool = False
    sent: int = 0
    finished: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    connections: int = 0

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.error_samples) < _ERROR_SAMPLES:
            self.error_samples.append(f"{kind}: {detail}"[:300])
        if self.errors.total() >= _MAX_ERRORS:
            # A server that fails this often is broken; measuring it further says nothing.
            self.stopping = True


def load_items(path: Path) -> list[_Item]:
    """The corpus reviews, split around their uid placeholder."""
    corpus = msgspec.json.decode(path.read_bytes(), type=_Corpus)
    placeholder = corpus.uid_placeholder.encode()
    items = []
    for review in corpus.reviews:
        body = bytes(review.body)
        if body.count(placeholder) != 1:
            raise ValueError(f"a corpus review has not exactly one {placeholder!r}")
        head, _, tail = body.partition(placeholder)
        items.append(_Item(head=head, tail=tail, allowed=review.allowed))
    if not items:
        raise ValueError(f"{path} holds no reviews")
    return items


def process_cpu_s(pid: int) -> float:
    """User plus system CPU seconds of process ``pid`` (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat", "rb") as stat:
        text = stat.read()
    # The command name may hold spaces and parentheses; fields follow the last ')'.
    fields = text[text.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def machine_cpu_s() -> tuple[float, float]:
    """CPU seconds of all CPUs since boot: in user or system mode, and stolen."""
    with open("/proc/stat", "rb") as stat:
        # "cpu  user nice system idle iowait irq softirq steal guest guest_nice"
        ticks = [int(value) for value in stat.readline().split()[1:9]]
    return (ticks[0] + ticks[1] + ticks[2]) / _CLOCK_TICKS, ticks[7] / _CLOCK_TICKS


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _worker(state: _State, session: aiohttp.ClientSession, url: str) -> None:
    items = state.items
    count = len(items)
    while not state.stopping and state.sent < state.max_requests:
        number = state.sent
        state.sent += 1
        item = items[number % count]
        uid = f"{state.uid_prefix}{number:012x}"
        body = item.head + uid.encode() + item.tail
        started = time.perf_counter()
        try:
            async with session.post(url, data=body, headers=_HEADERS) as response:
                payload = await response.read()
                status = response.status
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            state.error(type(error).__name__, str(error))
            continue
        ended = time.perf_counter()
        state.finished.append(ended)
        state.latencies.append(ended - started)
        if status != 200:
            state.error(f"http_{status}", payload[:200].decode(errors="replace"))
            continue
        try:
            answer = _ANSWER.decode(payload).response
        except msgspec.DecodeError as error:
            state.error("bad_answer", str(error))
            continue
        if answer.uid != uid:
            state.error("wrong_uid", f"sent {uid}, got {answer.uid}")
        elif answer.allowed != item.allowed:
            state.error("wrong_decision", f"uid {uid}: allowed={answer.allowed}")


async def run_load(
    *,
    url: str,
    ca_file: Path,
    items: list[_Item],
    concurrency: int,
    warmup_s: float,
    duration_s: float,
    max_requests: int,
    request_timeout_s: float,
    server_pid: int | None,
) -> LoadReport:
    """Keep ``concurrency`` requests in flight through warm-up and the measured window."""
    state = _State(items=items, uid_prefix=str(uuid.uuid4())[:24], max_requests=max_requests)
    context = ssl.create_default_context(cafile=str(ca_file))

    async def opened(
        session: aiohttp.ClientSession,
        trace_context: SimpleNamespace,
        params: aiohttp.TraceConnectionCreateEndParams,
    ) -> None:
        state.connections += 1

    tracing = aiohttp.TraceConfig()
    tracing.on_connection_create_end.append(opened)
    connector = aiohttp.TCPConnector(
        limit=concurrency, limit_per_host=concurrency, ssl=context, keepalive_timeout=120
    )
    timeout = aiohttp.ClientTimeout(total=request_timeout_s)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, trace_configs=[tracing]
    ) as session:
        workers = [
            asyncio.create_task(_worker(state, session, url), name=f"load-worker-{index}")
            for index in range(concurrency)
        ]
        try:
            await asyncio.wait(workers, timeout=warmup_s)
            window_start = time.perf_counter()
            server_start = process_cpu_s(server_pid) if server_pid else None
            client_start = _own_cpu_s()
            busy_start, steal_start = machine_cpu_s()
            await asyncio.wait(workers, timeout=duration_s)
            window_end = time.perf_counter()
            server_end = process_cpu_s(server_pid) if server_pid else None
            client_end = _own_cpu_s()
            busy_end, steal_end = machine_cpu_s()
            state.stopping = True
            _, unfinished = await asyncio.wait(workers, timeout=request_timeout_s + 5)
            if unfinished:
                state.error("unfinished", f"{len(unfinished)} workers still waiting at the end")
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
    in_window = [
        latency
        for ended, latency in zip(state.finished, state.latencies, strict=True)
        if window_start <= ended <= window_end
    ]
    measured_s = window_end - window_start
    return LoadReport(
        url=url,
        concurrency=concurrency,
        warmup_s=warmup_s,
        duration_s=duration_s,
        measured_s=round(measured_s, 4),
        requests=len(in_window),
        requests_per_s=round(len(in_window) / measured_s, 2) if measured_s > 0 else 0.0,
        latency_ms=_latency(in_window),
        sent_total=state.sent,
        errors=sum(state.errors.values()),
        errors_by_kind=dict(state.errors),
        error_samples=state.error_samples,
        connections_opened=state.connections,
        client_cpu_s=round(client_end - client_start, 3),
        server_pid=server_pid,
        server_cpu_s=(
            round(server_end - server_start, 3)
            if server_end is not None and server_start is not None
            else None
        ),
        server_cpu_at_start_s=server_start,
        tail_requests=sum(1 for ended in state.finished if ended > window_end),
        machine_busy_cpu_s=round(busy_end - busy_start, 3),
        machine_steal_cpu_s=round(steal_end - steal_start, 3),
    )


def _latency(seconds: list[float]) -> Latency | None:
    if not seconds:
        return None
    ordered = sorted(seconds)

    def rank(quantile: float) -> float:
        # Nearest rank: the smallest value with at least this share of values at or below it.
        index = max(0, math.ceil(quantile * len(ordered)) - 1)
        return round(ordered[index] * 1000, 3)

    return Latency(
        min=round(ordered[0] * 1000, 3),
        p50=rank(0.50),
        p90=rank(0.90),
        p99=rank(0.99),
        max=round(ordered[-1] * 1000, 3),
        mean=round(sum(ordered) / len(ordered) * 1000, 3),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Closed-loop AdmissionReview load over TLS.")
    parser.add_argument("--url", required=True, help="e.g. https://127.0.0.1:8443/validate")
    parser.add_argument("--ca-file", required=True, type=Path, help="CA that signed the server")
    parser.add_argument("--corpus", required=True, type=Path, help="file written by corpus.py")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (8)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring (2)")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds (10)")
    parser.add_argument(
        "--max-requests",
        type=int,
        default=2_000_000,
        help="stop sending after this many requests, warm-up included (2000000)",
    )
    parser.add_argument(
        "--request-timeout", type=float, default=10.0, help="seconds per request (10)"
    )
    parser.add_argument("--server-pid", type=int, help="measure this process's CPU time too")
    parser.add_argument("--out", type=Path, help="write the JSON report here (default: stdout)")
    arguments = parser.parse_args(argv)
    if arguments.concurrency < 1 or arguments.duration <= 0 or arguments.warmup < 0:
        parser.error("--concurrency must be >= 1, --duration > 0 and --warmup >= 0")
    if not arguments.url.startswith("https://127.0.0.1:"):
        parser.error("--url must be https://127.0.0.1:PORT/...: the benchmark stays on loopback")
    items = load_items(arguments.corpus)
    # The corpus lives for the whole run; keep the collector from scanning it again and again.
    gc.collect()
    gc.freeze()
    report = asyncio.run(
        run_load(
            url=arguments.url,
            ca_file=arguments.ca_file,
            items=items,
            concurrency=arguments.concurrency,
            warmup_s=arguments.warmup,
            duration_s=arguments.duration,
            max_requests=arguments.max_requests,
            request_timeout_s=arguments.request_timeout,
            server_pid=arguments.server_pid,
        )
    )
    encoded = msgspec.json.format(msgspec.json.encode(report)) + b"\n"
    if arguments.out is None:
        sys.stdout.buffer.write(encoded)
    else:
        arguments.out.write_bytes(encoded)
    return 0


if __name__ == "__main__":
    sys.exit(main())
