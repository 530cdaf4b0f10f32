"""Repeats of what is already spooled: spooled at most once per interval, in order.

A rollout admits the same image under the same deployment name once for each pod
(and once more for its ReplicaSet); every sighting after the first only moves the
record's ``last_seen_at``. Making each of them wait for an fsync would let the disk
set the webhook's pace, and writing each to the store would make recording the
bottleneck under a rollout storm. So a repeat of the request this process last
spooled *durably* for a key, within ``interval_s`` of that, is held in memory: the
latest one held is spooled when the interval has passed, or just before anything
else is spooled for its key (so the store sees each key's requests in order).

Whatever is new -- a first sighting, another image or platform, a decommission --
is spooled durably before the admission is answered, as without this throttle.
What a crash can lose is therefore at most ``interval_s`` worth of ``last_seen_at``
moves of records already spooled, never an admitted deployment.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from imagegate.tracking import DeploymentKey, RecordRequest, StoreUnavailableError, is_repeat

log = structlog.get_logger("imagegate.recording")


class DurableSink(Protocol):
    """Where requests are kept until the store takes them (the spool)."""

    async def append(self, requests: Sequence[RecordRequest]) -> None: ...


@dataclass(slots=True)
class _Spooled:
    """The last request spooled for one key, and the newest repeat held back since."""

    request: RecordRequest
    spooled_at: float
    written: asyncio.Future[None]
    """Done once ``request`` is durable in the spool; its exception if that failed."""
    held: RecordRequest | None = None

    def failed(self) -> bool:
        return self.written.done() and (
            self.written.cancelled() or self.written.exception() is not None
        )


class HeartbeatThrottle:
    """A sink in front of the spool that holds back repeats (see the module docstring)."""

    def __init__(
        self,
        sink: DurableSink,
        *,
        interval_s: float,
        on_held: Callable[[int], None] = lambda count: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sink = sink
        self._interval_s = interval_s
        self._on_held = on_held
        self._clock = clock
        self._spooled: dict[DeploymentKey, _Spooled] = {}

    @property
    def held(self) -> int:
        """Repeats held in memory now, waiting for their interval to end."""
        return sum(1 for entry in self._spooled.values() if entry.held is not None)

    def hold(self, requests: Sequence[RecordRequest]) -> bool:
        """Hold ``requests`` at once if every one repeats what is durable already; False
        (and nothing held) otherwise: then ``append`` them. Spares the admission of a
        repeat a task and a wait, which is most admissions of a rollout."""
        if self._interval_s <= 0:
            return False
        now = self._clock()
        entries = []
        for request in requests:
            entry = self._spooled.get(request.key)
            if entry is None or not entry.written.done() or not self._holds(entry, request, now):
                return False
            entries.append(entry)
        for entry, request in zip(entries, requests, strict=True):
            entry.held = request
        self._on_held(len(requests))
        return True

    async def append(self, requests: Sequence[RecordRequest]) -> None:
        """Spool ``requests`` durably, except repeats, which are held; returns once every
        request is durable (itself, or the identical one it repeats)."""
        if self._interval_s <= 0:
            await self._sink.append(requests)
            return
        now = self._clock()
        to_spool: list[RecordRequest] = []
        entries: list[_Spooled] = []
        in_flight: list[asyncio.Future[None]] = []
        held = 0
        for request in requests:
            entry = self._spooled.get(request.key)
            if entry is not None and self._holds(entry, request, now):
                entry.held = request
                held += 1
                if not entry.written.done():
                    # The request it repeats is being written: durable together with it.
                    in_flight.append(entry.written)
                continue
            if entry is not None and entry.held is not None:
                to_spool.append(entry.held)
            to_spool.append(request)
            entries.append(self._remember(request, now))
        if held:
            self._on_held(held)
        await self._spool(to_spool, entries)
        for written in in_flight:
            await asyncio.shield(written)

    async def flush(self, *, everything: bool = False) -> None:
        """Spool the repeats whose interval has passed (all, with ``everything``), and
        forget keys that saw nothing for an interval, so memory follows live workloads."""
        now = self._clock()
        due: list[RecordRequest] = []
        entries: list[_Spooled] = []
        for key, entry in list(self._spooled.items()):
            expired = now - entry.spooled_at >= self._interval_s
            if entry.held is not None and (expired or everything):
                due.append(entry.held)
                entries.append(self._remember(entry.held, now))
            elif expired and entry.written.done():
                del self._spooled[key]
        await self._spool(due, entries)

    async def run(self) -> None:
        """Flush every quarter interval until cancelled: a repeat waits at most 1.25
        intervals. A failed flush is logged and its repeats dropped (they are heartbeats
        of records already spooled); the next admission of the same spools it again."""
        if self._interval_s <= 0:
            return
        while True:
            await asyncio.sleep(self._interval_s / 4)
            try:
                await self.flush()
            except StoreUnavailableError as error:
                log.warning("heartbeat_flush_failed", error=str(error))

    async def close(self) -> None:
        """Spool every repeat still held (on shutdown: nothing is left behind)."""
        with contextlib.suppress(StoreUnavailableError):
            await self.flush(everything=True)

    def _holds(self, entry: _Spooled, request: RecordRequest, now: float) -> bool:
        return (
            not entry.failed()
            and now - entry.spooled_at < self._interval_s
            and is_repeat(entry.request, request)
        )

    def _remember(self, request: RecordRequest, now: float) -> _Spooled:
        written = asyncio.get_running_loop().create_future()
        entry = _Spooled(request=request, spooled_at=now, written=written)
        self._spooled[request.key] = entry
        return entry

    async def _spool(self, requests: list[RecordRequest], entries: list[_Spooled]) -> None:
        if not requests:
            return
        # The sink queues ``requests`` before its first await, so the order of calls
        # here is the order in the spool.
        try:
            await self._sink.append(requests)
        except asyncio.CancelledError:
            for entry in entries:
                entry.written.cancel()
            raise
        except Exception as error:
            for entry in entries:
                entry.written.set_exception(error)
                entry.written.exception()  # retrieved: a failure nobody waits for is no bug
            raise
        for entry in entries:
            entry.written.set_result(None)
