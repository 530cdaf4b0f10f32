"""A whole load run: connections, warm-up, the measured window, the tail, the report."""

from __future__ import annotations

import asyncio
import ssl
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import aiohttp

from benchmarks.webhook.load._exchange import Item, State, closed_loop, open_loop
from benchmarks.webhook.load._report import Counters, LoadReport, RssSample, build_report
from benchmarks.webhook.load._schedule import OpenLoopSchedule, requests_for
from benchmarks.webhook.load._shape import LoadShape
from benchmarks.webhook.procfs import status_mib


async def _sample_rss(pid: int, every_s: float, origin: float, samples: list[RssSample]) -> None:
    while True:
        samples.append(RssSample(round(time.perf_counter() - origin, 2), status_mib(pid, "VmRSS")))
        await asyncio.sleep(every_s)


async def run_load(
    *,
    url: str,
    ca_file: Path,
    items: list[Item],
    shape: LoadShape,
    server_pid: int | None,
    rss_every_s: float = 0.0,
) -> LoadReport:
    """Send the load ``shape`` describes through warm-up and the measured window."""
    state = State(items=items, uid_prefix=str(uuid.uuid4())[:24])
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
            closed_loop(state, session, url, shape)
            if shape.mode == "closed"
            else open_loop(state, session, url, shape, _schedule(shape, start)),
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
            first = Counters.read(server_pid)
            await asyncio.wait([sending], timeout=max(0.0, window_end - time.perf_counter()))
            last = Counters.read(server_pid)
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
    return build_report(state, shape, url, server_pid, first, last, rss_samples)


def _schedule(shape: LoadShape, start: float) -> OpenLoopSchedule:
    due = requests_for(shape.rate, shape.warmup_s + shape.duration_s)
    return OpenLoopSchedule(start=start, rate=shape.rate, total=min(shape.max_requests, due))
