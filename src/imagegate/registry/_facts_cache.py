"""Registry answers kept in memory: facts by digest for good, tags for a short while.

A digest names immutable content, so its facts never go stale and are only evicted
for room (least recently used first). A tag moves, so its digest is reused for
``tag_ttl_s`` only. Concurrent lookups of one key share one registry request.

Entries are not keyed by credentials: what a digest is does not depend on who
asks. Whether a workload may pull the image is for the kubelet's pull to decide.
Requests in flight are, so that a caller without access never fails one with it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from imagegate.facts import ImageFacts
from imagegate.registry._auth import Credentials
from imagegate.registry._client import RegistryClient
from imagegate.registry._settings import RegistrySettings
from imagegate.tracking import ImageReference, Platform

_Key = TypeVar("_Key", bound=Hashable)
_Value = TypeVar("_Value")


class Lru(Generic[_Key, _Value]):
    """A mapping that forgets its least recently used entry beyond ``capacity``."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[_Key, _Value] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: _Key) -> _Value | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: _Key, value: _Value) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def pop(self, key: _Key) -> None:
        self._entries.pop(key, None)


class SingleFlight(Generic[_Key, _Value]):
    """Runs one task per key at a time; callers asking meanwhile await the same one."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._running: dict[_Key, asyncio.Task[_Value]] = {}

    async def run(self, key: _Key, work: Callable[[], Awaitable[_Value]]) -> _Value:
        task = self._running.get(key)
        if task is None:
            task = asyncio.create_task(_awaited(work), name=f"{self._name} {key}")
            self._running[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        # Shielded: one caller giving up must not cancel the lookup the others wait for.
        return await asyncio.shield(task)

    def _finished(self, key: _Key, task: asyncio.Task[_Value]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled():
            # Retrieved so that a failure nobody awaited any more is not logged as lost.
            task.exception()


async def _awaited(work: Callable[[], Awaitable[_Value]]) -> _Value:
    return await work()


@dataclass(frozen=True, slots=True)
class _TagKey:
    repository: str
    tag: str


@dataclass(frozen=True, slots=True)
class _DigestKey:
    repository: str
    digest: str
    default_platform: Platform
    """Labels and provenance of an index are those of this platform's image."""


class FactsCache:
    """A :class:`RegistryClient` with caching and single-flight, same methods."""

    def __init__(
        self,
        client: RegistryClient,
        settings: RegistrySettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.settings = settings or client.settings
        self._clock = clock
        self._tags: Lru[_TagKey, tuple[str, float]] = Lru(self.settings.max_cached_digests)
        self._facts: Lru[_DigestKey, ImageFacts] = Lru(self.settings.max_cached_digests)
        self._resolving: SingleFlight[tuple[_TagKey, Credentials | None], str] = SingleFlight(
            "imagegate.facts.resolve"
        )
        self._fetching: SingleFlight[tuple[_DigestKey, Credentials | None], ImageFacts] = (
            SingleFlight("imagegate.facts.fetch")
        )

    async def resolve(
        self, reference: ImageReference, *, credentials: Credentials | None = None
    ) -> str:
        """The digest ``reference`` names; a tag's is reused for ``tag_ttl_s``.

        A reference with a digest is answered from it without asking the registry.
        """
        if reference.digest is not None:
            return reference.digest
        key = _TagKey(reference.repository, reference.tag or "latest")
        cached = self._tags.get(key)
        if cached is not None:
            digest, expires_at = cached
            if self._clock() < expires_at:
                return digest
            self._tags.pop(key)

        async def resolve_now() -> str:
            digest = await self.client.resolve(reference, credentials=credentials)
            if self.settings.tag_ttl_s > 0:
                self._tags.put(key, (digest, self._clock() + self.settings.tag_ttl_s))
            return digest

        return await self._resolving.run((key, credentials), resolve_now)

    async def facts(
        self,
        reference: ImageReference,
        *,
        default_platform: Platform,
        credentials: Credentials | None = None,
    ) -> ImageFacts:
        """Facts of the image ``reference`` names, from the cache when its digest is known."""
        digest = await self.resolve(reference, credentials=credentials)
        key = _DigestKey(reference.repository, digest, default_platform)
        cached = self._facts.get(key)
        if cached is not None:
            return cached
        pinned = ImageReference(
            registry=reference.registry, path=reference.path, tag=reference.tag, digest=digest
        )

        async def fetch_now() -> ImageFacts:
            facts = await self.client.facts(
                pinned, default_platform=default_platform, credentials=credentials
            )
            self._facts.put(key, facts)
            return facts

        return await self._fetching.run((key, credentials), fetch_now)

    @property
    def cached_digests(self) -> int:
        """How many facts are held (for metrics and tests)."""
        return len(self._facts)
