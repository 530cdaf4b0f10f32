"""Evidence read through a short-lived cache, written straight through.

Every admission under a scan policy reads each container's evidence by digest, and
the pods of a rollout share their few digests: reading the database for each would
put the store on the admission path. Entries live ``ttl_s``; a write through this
cache drops the digest's entry at once, so evidence posted to this server counts
for its next admission. Evidence posted to another replica counts here within
``ttl_s``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime

from imagegate.facts._cache import Lru, SingleFlight
from imagegate.facts._evidence_store import EvidenceStore
from imagegate.facts._model import Evidence, Provenance, ScanReport


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

    def cached(self, digest: str) -> Evidence | None:
        """The digest's evidence if the cache holds a fresh read of it; else None."""
        entry = self._entries.get(digest)
        if entry is not None and self._clock() - entry[0] < self._ttl_s:
            return entry[1]
        return None

    async def evidence(self, digest: str) -> Evidence:
        """The digest's evidence, from the cache when read less than ``ttl_s`` ago."""
        cached = self.cached(digest)
        if cached is not None:
            return cached
        writes = self._writes
        read_at = self._clock()
        evidence = await self._reads.run(digest, lambda: self._store.evidence(digest))
        # A write that came in while reading may not be in what was read: do not keep
        # it (any write will do; they are rare, and a counter needs no memory per digest).
        if self._writes == writes:
            self._entries.put(digest, (read_at, evidence))
        return evidence

    async def add_scan(self, report: ScanReport, *, now: datetime) -> None:
        """Keep ``report`` (in the store), and forget the cached evidence of its digest."""
        try:
            await self._store.add_scan(report, now=now)
        finally:
            self._forget(report.digest)

    async def latest_scan(self, digest: str) -> ScanReport | None:
        """The newest scan of ``digest``, from the store."""
        return await self._store.latest_scan(digest)

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

    def _forget(self, digest: str) -> None:
        self._writes += 1
        self._entries.pop(digest)
