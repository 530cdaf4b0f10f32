"""FactsCache over a real registry: tag TTL, digest cache, single-flight, bounds."""

from __future__ import annotations

import asyncio

import pytest

from imagegate.registry import FactsCache, ImageNotFoundError, RegistryClient, RegistrySettings
from imagegate.tracking import ImageReference, Platform
from support.registry import (
    LocalRegistry,
    OciPusher,
    RequestLog,
    push_image,
    push_index,
    unique_repository,
)

AMD64 = Platform("linux", "amd64")


class ManualClock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def tagged(registry: LocalRegistry, path: str, tag: str = "v1") -> ImageReference:
    return ImageReference(registry=registry.host, path=path, tag=tag, digest=None)


def cache_for(
    client: RegistryClient, clock: ManualClock, settings: RegistrySettings | None = None
) -> FactsCache:
    return FactsCache(client, settings or RegistrySettings(), clock=clock)


async def test_a_moved_tag_is_seen_once_its_ttl_is_over(
    client: RegistryClient, pusher: OciPusher, registry: LocalRegistry
) -> None:
    clock = ManualClock()
    cache = cache_for(client, clock, RegistrySettings(tag_ttl_s=60.0))
    path = unique_repository()
    before = await push_image(pusher, path, tag="v1", labels={"build": "1"})
    assert await cache.resolve(tagged(registry, path)) == before.digest

    after = await push_image(pusher, path, tag="v1", labels={"build": "2"})
    clock.now += 59.0
    assert await cache.resolve(tagged(registry, path)) == before.digest
    facts = await cache.facts(tagged(registry, path), default_platform=AMD64)
    assert (facts.digest, dict(facts.labels)) == (before.digest, {"build": "1"})

    clock.now += 1.0
    assert await cache.resolve(tagged(registry, path)) == after.digest
    facts = await cache.facts(tagged(registry, path), default_platform=AMD64)
    assert (facts.digest, dict(facts.labels)) == (after.digest, {"build": "2"})


async def test_facts_of_a_known_digest_need_no_request(
    client: RegistryClient, pusher: OciPusher, registry: LocalRegistry, request_log: RequestLog
) -> None:
    cache = cache_for(client, ManualClock())
    path = unique_repository()
    image = await push_image(pusher, path, labels={"team": "web"})
    pinned = ImageReference(registry.host, path, None, image.digest)

    first = await cache.facts(pinned, default_platform=AMD64)
    # The manifest and its config; a digest needs no resolving.
    assert [request.split()[0] for request in request_log.requests] == ["GET", "GET"]
    request_log.clear()

    second = await cache.facts(pinned, default_platform=AMD64)
    assert second == first
    assert request_log.requests == []


async def test_a_cached_tag_and_digest_need_no_request_within_the_ttl(
    client: RegistryClient, pusher: OciPusher, registry: LocalRegistry, request_log: RequestLog
) -> None:
    cache = cache_for(client, ManualClock())
    path = unique_repository()
    await push_image(pusher, path, tag="v1")
    await cache.facts(tagged(registry, path), default_platform=AMD64)
    request_log.clear()

    await cache.facts(tagged(registry, path), default_platform=AMD64)

    assert request_log.requests == []


async def test_concurrent_lookups_share_one_request(
    client: RegistryClient, pusher: OciPusher, registry: LocalRegistry, request_log: RequestLog
) -> None:
    cache = cache_for(client, ManualClock())
    path = unique_repository()
    amd64 = await push_image(pusher, path, platform=AMD64)
    arm64 = await push_image(pusher, path, platform=Platform("linux", "arm64"))
    await push_index(pusher, path, [(amd64, AMD64), (arm64, Platform("linux", "arm64"))], tag="v1")

    results = await asyncio.gather(
        *(cache.facts(tagged(registry, path), default_platform=AMD64) for _ in range(20))
    )

    assert len({id(result) for result in results}) == 1
    # HEAD the tag, GET the index, the amd64 manifest and its config: once each.
    assert len(request_log.requests) == 4, request_log.requests


async def test_one_caller_giving_up_does_not_cancel_the_others(
    client: RegistryClient, pusher: OciPusher, registry: LocalRegistry
) -> None:
    cache = cache_for(client, ManualClock())
    path = unique_repository()
    image = await push_image(pusher, path, tag="v1")
    impatient = asyncio.create_task(cache.facts(tagged(registry, path), default_platform=AMD64))
    patient = asyncio.create_task(cache.facts(tagged(registry, path), default_platform=AMD64))
    await asyncio.sleep(0)
    impatient.cancel()

    assert (await patient).digest == image.digest
    with pytest.raises(asyncio.CancelledError):
        await impatient


async def test_the_least_recently_used_digest_is_evicted(
    client: RegistryClient, pusher: OciPusher, registry: LocalRegistry, request_log: RequestLog
) -> None:
    cache = cache_for(client, ManualClock(), RegistrySettings(max_cached_digests=2))
    path = unique_repository()
    images = [
        ImageReference(registry.host, path, None, (await push_image(pusher, path)).digest)
        for _ in range(3)
    ]
    for image in images:
        await cache.facts(image, default_platform=AMD64)
    assert cache.cached_digests == 2
    request_log.clear()

    await cache.facts(images[2], default_platform=AMD64)
    assert request_log.requests == []
    await cache.facts(images[0], default_platform=AMD64)
    assert request_log.requests != [], "the oldest entry was evicted"


async def test_failures_are_not_cached(
    client: RegistryClient, pusher: OciPusher, registry: LocalRegistry
) -> None:
    cache = cache_for(client, ManualClock())
    path = unique_repository()
    with pytest.raises(ImageNotFoundError):
        await cache.facts(tagged(registry, path), default_platform=AMD64)

    image = await push_image(pusher, path, tag="v1")

    assert (await cache.facts(tagged(registry, path), default_platform=AMD64)).digest == (
        image.digest
    )


async def test_a_zero_ttl_resolves_every_time(
    client: RegistryClient, pusher: OciPusher, registry: LocalRegistry, request_log: RequestLog
) -> None:
    cache = cache_for(client, ManualClock(), RegistrySettings(tag_ttl_s=0.0))
    path = unique_repository()
    await push_image(pusher, path, tag="v1")
    await cache.resolve(tagged(registry, path))
    request_log.clear()

    await cache.resolve(tagged(registry, path))

    assert request_log.requests == [f"HEAD /v2/{path}/manifests/v1"]
