"""Load: AdmissionReviews over TLS keep-alive, in a closed loop or at a fixed rate.

Run as ``python -m benchmarks.load --url https://127.0.0.1:PORT/validate --ca-file
ca.crt --corpus corpus.json`` from the repository, then either

- ``--mode closed --concurrency 8``: 8 tasks share one aiohttp session whose
  connector keeps at most 8 connections alive; each sends a review, waits for the
  answer, checks it and sends the next, so exactly 8 requests are in flight.
  Latency runs from just before a request is handed to aiohttp to just after
  the whole answer is read.
- ``--mode open --rate 500``: request ``i`` is due at ``start + i / rate``
  whether or not earlier ones were answered, sent over at most ``--connections``
  keep-alive connections. A request due while ``--max-outstanding`` are still
  unanswered is not sent and counts as an error (``not_sent``). Latency runs from
  the time the request was *due*, so a server that stalls is charged for the
  queue behind the stall (no coordinated omission).

After ``--warmup`` seconds the measured window of ``--duration`` seconds starts;
then no new request is sent and the process exits once the last answers are in
(or ``--request-timeout`` passes). Bodies are encoded once, up front; per request
only the unique uid is spliced in. The report (JSON) goes to ``--out`` or stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
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
from typing import Literal

import aiohttp
import msgspec
from benchmarks.latency import Latency, summarize
from benchmarks.loops import CHOICES, loop_factory, running_loop_name
from benchmarks.procfs import machine_cpu_s, process_cpu_s, status_mib
from benchmarks.schedule import OpenLoopSchedule, requests_for

_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
_ERROR_SAMPLES = 5
_MAX_FAILURES = 1000

OVERLOAD_ERRORS = frozenset({"not_sent", "timeout"})
"""Error kinds that say the server did not keep up, not that it answered wrongly."""

Mode = Literal["closed", "open"]


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


@dataclass
class _Item:
    head: bytes
    tail: bytes
    allowed: bool


@dataclass
class _State:
    """Everything the requests of one run share and record."""

    items: list[_Item]
    uid_prefix: str
    stopping: bool = False
    sent: int = 0
    outstanding: int = 0
    due: list[float] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    ended: list[float] = field(default_factory=list)
    reviews_sent: set[int] = field(default_factory=set)
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    connections: int = 0

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.error_samples) < _ERROR_SAMPLES:
            self.error_samples.append(f"{kind}: {detail}"[:300])
        failures = self.errors.total() - sum(self.errors[k] for k in OVERLOAD_ERRORS)
        if failures >= _MAX_FAILURES:
            # A server that answers wrongly this often is broken; measuring it says nothing.
            self.stopping = True


@dataclass(frozen=True)
class _Counters:
    """Clocks read at one edge of the measured window."""

    at: float
    server_cpu_s: float | None
    client_cpu_s: float
    busy_cpu_s: float
    steal_cpu_s: float

    @classmethod
    def read(cls, server_pid: int | None) -> _Counters:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        busy, steal = machine_cpu_s()
        return cls(
            at=time.perf_counter(),
            server_cpu_s=process_cpu_s(server_pid) if server_pid else None,
            client_cpu_s=usage.ru_utime + usage.ru_stime,
            busy_cpu_s=busy,
            steal_cpu_s=steal,
        )


@dataclass(frozen=True)
class LoadShape:
    """How requests are sent: a closed loop or an open loop, and how long."""

    mode: Mode
    warmup_s: float
    duration_s: float
    concurrency: int = 1
    rate: float = 0.0
    connections: int = 64
    max_outstanding: int = 256
    max_requests: int = 2_000_000
    request_timeout_s: float = 10.0

    @property
    def connection_limit(self) -> int:
        return self.concurrency if self.mode == "closed" else self.connections

    def arguments(self) -> list[str]:
        """The command-line flags of ``main`` that give this shape."""
        flags = ["--mode", self.mode, "--warmup", f"{self.warmup_s:g}"]
        flags += ["--duration", f"{self.duration_s:g}", "--max-requests", str(self.max_requests)]
        flags += ["--request-timeout", f"{self.request_timeout_s:g}"]
        if self.mode == "closed":
            return [*flags, "--concurrency", str(self.concurrency)]
        flags += ["--rate", f"{self.rate:g}", "--connections", str(self.connections)]
        return [*flags, "--max-outstanding", str(self.max_outstanding)]


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


async def _exchange(
    state: _State, session: aiohttp.ClientSession, url: str, number: int, due: float
) -> None:
    """Send review ``number`` (due at ``due``), read the answer and check it."""
    review = number % len(state.items)
    item = state.items[review]
    uid = f"{state.uid_prefix}{number:012x}"
    body = item.head + uid.encode() + item.tail
    state.reviews_sent.add(review)
    sent_at = time.perf_counter()
    try:
        async with session.post(url, data=body, headers=_HEADERS) as response:
            payload = await response.read()
            status = response.status
    except TimeoutError as error:
        # aiohttp's own timeouts are TimeoutErrors too (and ClientErrors): catch them first.
        state.error("timeout", str(error) or type(error).__name__)
        return
    except (aiohttp.ClientError, OSError) as error:
        state.error(type(error).__name__, str(error))
        return
    state.ended.append(time.perf_counter())
    state.due.append(due)
    state.sent_at.append(sent_at)
    if status != 200:
        state.error(f"http_{status}", payload[:200].decode(errors="replace"))
        return
    try:
        answer = _ANSWER.decode(payload).response
    except msgspec.DecodeError as error:
        state.error("bad_answer", str(error))
        return
    if answer.uid != uid:
        state.error("wrong_uid", f"sent {uid}, got {answer.uid}")
    elif answer.allowed != item.allowed:
        state.error("wrong_decision", f"uid {uid}: allowed={answer.allowed}")


async def _closed_loop(
    state: _State, session: aiohttp.ClientSession, url: str, shape: LoadShape
) -> None:
    async def worker() -> None:
        while not state.stopping and state.sent < shape.max_requests:
            number = state.sent
            state.sent += 1
            await _exchange(state, session, url, number, time.perf_counter())

    workers = [
        asyncio.create_task(worker(), name=f"load-worker-{index}")
        for index in range(shape.concurrency)
    ]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


async def _open_loop(
    state: _State,
    session: aiohttp.ClientSession,
    url: str,
    shape: LoadShape,
    schedule: OpenLoopSchedule,
) -> None:
    in_flight: set[asyncio.Task[None]] = set()

    async def one(number: int, due: float) -> None:
        state.outstanding += 1
        try:
            await _exchange(state, session, url, number, due)
        finally:
            state.outstanding -= 1

    index = 0
    try:
        while index < schedule.total and not state.stopping:
            due_now = schedule.due_by(time.perf_counter())
            while index < due_now:
                if state.outstanding >= shape.max_outstanding:
                    state.error("not_sent", f"{state.outstanding} requests still unanswered")
                else:
                    state.sent += 1
                    task = asyncio.create_task(one(index, schedule.due_at(index)))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                index += 1
            if index < schedule.total:
                await asyncio.sleep(max(0.0, schedule.due_at(index) - time.perf_counter()))
        if in_flight:
            await asyncio.wait(in_flight)
    finally:
        for task in in_flight:
            task.cancel()
        await asyncio.gather(*in_flight, return_exceptions=True)


async def _sample_rss(pid: int, every_s: float, origin: float, samples: list[RssSample]) -> None:
    while True:
        samples.append(RssSample(round(time.perf_counter() - origin, 2), status_mib(pid, "VmRSS")))
        await asyncio.sleep(every_s)


async def run_load(
    *,
    url: str,
    ca_file: Path,
    items: list[_Item],
    shape: LoadShape,
    server_pid: int | None,
    rss_every_s: float = 0.0,
) -> LoadReport:
    """Send the load ``shape`` describes through warm-up and the measured window."""
    state = _State(items=items, uid_prefix=str(uuid.uuid4())[:24])
    context = ssl.create_default_context(cafile=str(ca_file))

    async def opened(
        session: aiohttp.ClientSession,
        trace_context: SimpleNamespace,
        params: aiohttp.TraceConnectionCreateEndParams,
    ) -> None:
        state.connections += 1

    tracing = aiohttp.TraceConfig()
    tracing.on_connection_create_end.append(opened)
    limit = shape.connection_limit
    connector = aiohttp.TCPConnector(
        limit=limit, limit_per_host=limit, ssl=context, keepalive_timeout=120
    )
    timeout = aiohttp.ClientTimeout(total=shape.request_timeout_s)
    # A little head start, so that the first requests are not late by the set-up.
    start = time.perf_counter() + 0.05
    window_start = start + shape.warmup_s
    window_end = window_start + shape.duration_s
    rss_samples: list[RssSample] = []
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, trace_configs=[tracing]
    ) as session:
        sending = asyncio.create_task(
            _closed_loop(state, session, url, shape)
            if shape.mode == "closed"
            else _open_loop(state, session, url, shape, _schedule(shape, start)),
            name="load-sending",
        )
        sampler = (
            asyncio.create_task(
                _sample_rss(server_pid, rss_every_s, window_start, rss_samples), name="load-rss"
            )
            if server_pid and rss_every_s > 0
            else None
        )
        try:
            await asyncio.wait([sending], timeout=max(0.0, window_start - time.perf_counter()))
            first = _Counters.read(server_pid)
            await asyncio.wait([sending], timeout=max(0.0, window_end - time.perf_counter()))
            last = _Counters.read(server_pid)
            if shape.mode == "closed":
                state.stopping = True
            done, _ = await asyncio.wait([sending], timeout=shape.request_timeout_s + 5)
            if not done:
                state.error("unfinished", "requests still unanswered at the end")
        finally:
            for task in (sending, sampler):
                if task is not None:
                    task.cancel()
            await asyncio.gather(
                *(task for task in (sending, sampler) if task is not None),
                return_exceptions=True,
            )
    return _report(state, shape, url, server_pid, first, last, rss_samples)


def _schedule(shape: LoadShape, start: float) -> OpenLoopSchedule:
    due = requests_for(shape.rate, shape.warmup_s + shape.duration_s)
    return OpenLoopSchedule(start=start, rate=shape.rate, total=min(shape.max_requests, due))


def _report(
    state: _State,
    shape: LoadShape,
    url: str,
    server_pid: int | None,
    first: _Counters,
    last: _Counters,
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="AdmissionReview load over TLS keep-alive.")
    parser.add_argument("--url", required=True, help="e.g. https://127.0.0.1:8443/validate")
    parser.add_argument("--ca-file", required=True, type=Path, help="CA that signed the server")
    parser.add_argument("--corpus", required=True, type=Path, help="file written by corpus.py")
    parser.add_argument("--mode", choices=["closed", "open"], default="closed", help="(closed)")
    parser.add_argument(
        "--concurrency", type=int, default=8, help="closed loop: requests in flight (8)"
    )
    parser.add_argument("--rate", type=float, default=500.0, help="open loop: requests/s (500)")
    parser.add_argument(
        "--connections", type=int, default=64, help="open loop: keep-alive connections (64)"
    )
    parser.add_argument(
        "--max-outstanding",
        type=int,
        default=256,
        help="open loop: unanswered requests beyond which a due request is not sent (256)",
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring (2)")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds (10)")
    parser.add_argument(
        "--max-requests",
        type=int,
        default=2_000_000,
        help="send at most this many requests, warm-up included (2000000)",
    )
    parser.add_argument(
        "--request-timeout", type=float, default=10.0, help="seconds per request (10)"
    )
    parser.add_argument("--server-pid", type=int, help="measure this process's CPU time too")
    parser.add_argument(
        "--rss-every", type=float, default=0.0, help="sample the server's RSS every N s (off)"
    )
    parser.add_argument("--loop", choices=CHOICES, default="auto", help="event loop (auto)")
    parser.add_argument("--out", type=Path, help="write the JSON report here (default: stdout)")
    arguments = parser.parse_args(argv)
    if arguments.duration <= 0 or arguments.warmup < 0 or arguments.max_requests < 1:
        parser.error("--duration must be > 0, --warmup >= 0 and --max-requests >= 1")
    if min(arguments.concurrency, arguments.connections, arguments.max_outstanding) < 1:
        parser.error("--concurrency, --connections and --max-outstanding must be >= 1")
    if arguments.mode == "open" and arguments.rate <= 0:
        parser.error("--rate must be positive")
    if not arguments.url.startswith("https://127.0.0.1:"):
        parser.error("--url must be https://127.0.0.1:PORT/...: the benchmark stays on loopback")
    shape = LoadShape(
        mode=arguments.mode,
        warmup_s=arguments.warmup,
        duration_s=arguments.duration,
        concurrency=arguments.concurrency,
        rate=arguments.rate,
        connections=arguments.connections,
        max_outstanding=arguments.max_outstanding,
        max_requests=arguments.max_requests,
        request_timeout_s=arguments.request_timeout,
    )
    items = load_items(arguments.corpus)
    # The corpus lives for the whole run; keep the collector from scanning it again and again.
    gc.collect()
    gc.freeze()
    with asyncio.Runner(loop_factory=loop_factory(arguments.loop)) as runner:
        report = runner.run(
            run_load(
                url=arguments.url,
                ca_file=arguments.ca_file,
                items=items,
                shape=shape,
                server_pid=arguments.server_pid,
                rss_every_s=arguments.rss_every,
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
