"""CachedEvidence: reads reused for a while, writes through it seen at once.

The store behind it is a dict that counts reads (the real stores' evidence is in
tests/contract); reads can be held open to race them with writes.
"""

from __future__ import annotations

import asyncio

from imagegate.evidence import CachedEvidence
from imagegate.facts import Evidence, Provenance
from support.evidence import DIGEST, NOW, DictEvidence, scan

TTL = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def cached(store: DictEvidence, clock: Clock) -> CachedEvidence:
    return CachedEvidence(store, ttl_s=TTL, clock=clock)


async def test_a_read_is_reused_for_ttl_then_refreshed_in_the_background() -> None:
    store, clock = DictEvidence(), Clock()
    evidence = cached(store, clock)
    store.reports[DIGEST] = scan()
    assert (await evidence.evidence(DIGEST)).scan == scan()
    clock.now += TTL - 0.1
    await evidence.evidence(DIGEST)
    assert store.reads == 1
    # Stale: answered at once from the cache, while one new read runs behind it.
    clock.now += 0.1
    store.reports[DIGEST] = scan("trivy 0.53.0")
    store.gate = asyncio.Event()
    assert evidence.cached(DIGEST) == Evidence(scan=scan())
    assert evidence.cached(DIGEST) == Evidence(scan=scan())
    store.gate.set()
    await evidence.settled()
    assert store.reads == 2
    assert evidence.cached(DIGEST) == Evidence(scan=scan("trivy 0.53.0"))


async def test_a_read_twice_ttl_old_is_not_used() -> None:
    store, clock = DictEvidence(), Clock()
    evidence = cached(store, clock)
    await evidence.evidence(DIGEST)
    clock.now += 2 * TTL
    assert evidence.cached(DIGEST) is None
    store.reports[DIGEST] = scan()
    assert (await evidence.evidence(DIGEST)).scan == scan()
    assert store.reads == 2


async def test_evidence_posted_through_it_counts_at_once() -> None:
    store, clock = DictEvidence(), Clock()
    evidence = cached(store, clock)
    assert (await evidence.evidence(DIGEST)).scan is None
    await evidence.add_scan(scan(), now=NOW)
    assert (await evidence.evidence(DIGEST)).scan == scan()
    await evidence.set_provenance(DIGEST, Provenance(builder_id="ci"), {}, now=NOW)
    assert (await evidence.evidence(DIGEST)).provenance == Provenance(builder_id="ci")
    assert store.reads == 3


async def test_a_read_that_raced_a_write_is_not_kept() -> None:
    store, clock = DictEvidence(), Clock()
    evidence = cached(store, clock)
    store.gate = asyncio.Event()
    stale = asyncio.create_task(evidence.evidence(DIGEST))
    await store.read.wait()  # the store has read, and found no scan
    await evidence.add_scan(scan(), now=NOW)  # lands after the read saw no scan
    store.gate.set()
    assert (await stale).scan is None
    assert (await evidence.evidence(DIGEST)).scan == scan(), "the stale read was cached"


async def test_concurrent_reads_of_one_digest_share_one_store_read() -> None:
    store, clock = DictEvidence(), Clock()
    evidence = cached(store, clock)
    store.gate = asyncio.Event()
    readers = [asyncio.create_task(evidence.evidence(DIGEST)) for _ in range(5)]
    await asyncio.sleep(0)
    store.gate.set()
    await asyncio.gather(*readers)
    assert store.reads == 1


async def test_a_scan_retired_through_it_stops_counting_at_once() -> None:
    store, clock = DictEvidence(), Clock()
    evidence = cached(store, clock)
    await evidence.add_scan(scan(), now=NOW)
    assert (await evidence.evidence(DIGEST)).scan == scan()
    [stored] = await evidence.scans(DIGEST)
    retired = await evidence.retire_scan(DIGEST, stored.id, reason="broken run", now=NOW)
    assert retired.retirement is not None
    assert evidence.cached(DIGEST) is None
    assert (await evidence.evidence(DIGEST)).scan is None
