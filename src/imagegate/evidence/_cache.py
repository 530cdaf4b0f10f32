"""Evidence read through a short-lived cache, written straight through.

Every admission under a scan policy reads each container's evidence by digest, and
the pods of a rollout share their few digests: reading the database for each would
put the store (and the recorder's writes queued before the read) on the admission
path. A read is fresh for ``ttl_s``; for another ``ttl_s`` it is still answered
while a new read runs in the background, so an image admitted steadily never waits
for the store. A write through this cache (a scan, a retirement, provenance) drops
the digest's entry at once: evidence posted to this server counts for its next
admission; posted to another replica, it counts here within ``2 * ttl_s``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from datetime import datetime

import structlog

from imagegate.evidence._store import EvidenceStore
from imagegate.facts import Evidence, Provenance, ScanReport, StoredScan
from imagegate.registry._facts_cache import Lru, SingleFlight

log = structlog.get_logger("imagegate.facts")


class CachedEvidence:
    """An ``EvidenceStore`` whose ``evidence`` reads are cached (see the module)."""

    def __init__(
        self,
        store: EvidenceStore,
        *,
        ttl_s: float = 5.0,
        capacity: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._clock = clock
        self._entries: Lru[str, tuple[float, Evidence]] = Lru(capacity)
        self._reads: SingleFlight[str, Evidence] = SingleFlight("imagegate-evidence-read")
        self._writes = 0
        """Writes through this cache so far (to keep a read that raced one out)."""
        self._refreshing: dict[str, asyncio.Task[Evidence]] = {}

    def cached(self, digest: str) -> Evidence | None:
        """The digest's evidence if read less than ``ttl_s`` ago, or less than twice that
        (then a new read starts in the background); else None."""
        entry = self._entries.get(digest)
        if entry is None:
            return None
        age = self._clock() - entry[0]
        if age >= 2 * self._ttl_s:
            return None
        if age >= self._ttl_s and digest not in self._refreshing:
            refresh = asyncio.get_running_loop().create_task(
                self._read(digest), name=f"imagegate-evidence-refresh {digest}"
            )
            self._refreshing[digest] = refresh
            refresh.add_done_callback(lambda task: self._refreshed(digest, task))
        return entry[1]

    async def evidence(self, digest: str) -> Evidence:
        """The digest's evidence, from the cache when it holds a recent read."""
        cached = self.cached(digest)
        if cached is not None:
            return cached
        return await self._read(digest)

    async def settled(self) -> None:
        """Return once the background reads started so far have finished."""
        await asyncio.gather(*self._refreshing.values(), return_exceptions=True)

    async def add_scan(self, report: ScanReport, *, now: datetime) -> None:
        """Keep ``report`` (in the store), and forget the cached evidence of its digest."""
        try:
            await self._store.add_scan(report, now=now)
        finally:
            self._forget(report.digest)

    async def latest_scan(self, digest: str) -> ScanReport | None:
        """The newest scan of ``digest``, from the store."""
        return await self._store.latest_scan(digest)

    async def scans(self, digest: str) -> list[StoredScan]:
        """Every scan of ``digest``, from the store."""
        return await self._store.scans(digest)

    async def retire_scan(
        self, digest: str, scan_id: int, *, reason: str, now: datetime
    ) -> StoredScan:
        """Retire the scan (in the store), and forget the cached evidence of its digest."""
        try:
            return await self._store.retire_scan(digest, scan_id, reason=reason, now=now)
        finally:
            self._forget(digest)

    async def set_provenance(
        self,
        digest: str,
        provenance: Provenance,
        labels: Mapping[str, str],
        *,
        now: datetime,
    ) -> None:
        """Record ``digest``'s provenance (in the store), and forget its cached evidence."""
        try:
            await self._store.set_provenance(digest, provenance, labels, now=now)
        finally:
            self._forget(digest)

    async def _read(self, digest: str) -> Evidence:
        writes = self._writes
        read_at = self._clock()
        evidence = await self._reads.run(digest, lambda: self._store.evidence(digest))
        # A write that came in while reading may not be in what was read: do not keep
        # it (any write will do; they are rare, and a counter needs no memory per digest).
        if self._writes == writes:
            self._entries.put(digest, (read_at, evidence))
        return evidence

    def _refreshed(self, digest: str, task: asyncio.Task[Evidence]) -> None:
        self._refreshing.pop(digest, None)
        if not task.cancelled() and task.exception() is not None:
            # The stale entry stays until it is too old; then admissions read (and say
            # why the evidence is unavailable) themselves.
            log.warning("evidence_refresh_failed", digest=digest, error=str(task.exception()))

    def _forget(self, digest: str) -> None:
        self._writes += 1
        self._entries.pop(digest)
