"""Drains the spool into the store, in order, exactly once, through outages."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog

from imagegate._backoff import Backoff
from imagegate.metrics import Metrics
from imagegate.recording._spool import Spool
from imagegate.tracking import StoreError, Tracker

log = structlog.get_logger("imagegate.recording")


@dataclass(frozen=True, slots=True)
class RecorderSettings:
    """Pacing of the recorder."""

    batch_size: int = 256
    """Requests written to the store in one transaction."""
    linger_s: float = 0.05
    """After writing a batch that was not full, wait this long before the next one, so
    that under steady admission the store commits (and fsyncs) a few times a second
    instead of once per handful of requests; admission never waits for the store."""
    retry_initial_s: float = 0.1
    """First wait after the store failed; doubles on each further failure."""
    retry_max_s: float = 5.0
    """Longest wait between attempts while the store stays unavailable."""


class Recorder:
    """Background writer from a ``Spool`` to a ``Tracker``."""

    def __init__(
        self,
        spool: Spool,
        tracker: Tracker,
        *,
        metrics: Metrics,
        settings: RecorderSettings | None = None,
    ) -> None:
        self._spool = spool
        self._tracker = tracker
        self._metrics = metrics
        self._settings = settings or RecorderSettings()
        self._progress = asyncio.Event()
        self._idle = False
        """The recorder found the spool empty last time it looked (metrics are current)."""
        self.store_unavailable = asyncio.Event()
        """Set while the last attempt to write to the store failed."""

    async def run(self) -> None:
        """Write spooled requests until cancelled; never raises for store failures."""
        backoff = Backoff(self._settings.retry_initial_s, self._settings.retry_max_s)
        while True:
            self._spool.appended.clear()
            written = await self._write_one_batch()
            if written:
                backoff.reset()
                if written < self._settings.batch_size and self._settings.linger_s > 0:
                    await asyncio.sleep(self._settings.linger_s)
                continue
            if self.store_unavailable.is_set():
                # Retry pacing while the store is down: nothing to await but time.
                await backoff.wait()
                continue
            await self._spool.appended.wait()

    async def drain(self) -> None:
        """Return once every request spooled so far has been written (or parked), and the
        recorder has seen the spool empty (so its metrics say so too)."""
        while True:
            self._progress.clear()
            if self._idle and await self._spool.depth() == 0:
                return
            await self._progress.wait()

    async def _write_one_batch(self) -> int:
        """Write the oldest batch; how many requests it took off the spool (0: none)."""
        batch = await self._spool.peek(self._settings.batch_size)
        self._metrics.spool_depth.set(await self._spool.depth())
        self._idle = not batch
        if not batch:
            self._progress.set()
            return 0
        try:
            results = await self._tracker.record_queued(self._spool.source, batch)
        except StoreError as error:
            self._metrics.store_failures.inc()
            if not self.store_unavailable.is_set():
                log.warning("record_store_unavailable", error=str(error), spooled=len(batch))
            self.store_unavailable.set()
            self._progress.set()
            return 0
        if self.store_unavailable.is_set():
            log.info("record_store_available")
            self.store_unavailable.clear()
        for queued, result in zip(batch, results, strict=True):
            if result.error is not None:
                # Refused for good (e.g. a name the store will never accept): park it
                # so that it neither blocks the queue nor disappears.
                self._metrics.records_refused.labels(code=result.error.code).inc()
                log.error(
                    "record_refused",
                    code=result.error.code,
                    error=result.error.message,
                    deployment_name=queued.request.key.deployment_name,
                )
                await self._spool.park(
                    queued.sequence, error_code=result.error.code, error=result.error.message
                )
            elif result.result is not None:
                self._metrics.records_written.labels(outcome=result.result.outcome.value).inc()
            elif result.coalesced:
                self._metrics.records_written.labels(outcome="coalesced").inc()
        await self._spool.ack(batch[-1].sequence)
        self._metrics.spool_depth.set(await self._spool.depth())
        self._progress.set()
        return len(batch)
