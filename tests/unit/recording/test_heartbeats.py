"""HeartbeatThrottle: repeats held back, everything new spooled durably and in order.

The sink here is a list standing in for the spool (the real spool is in
tests/integration/recording); its appends can be held open or made to fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from imagegate.recording import HeartbeatThrottle
from imagegate.tracking import (
    Artifact,
    DeploymentKey,
    Kind,
    Platform,
    RecordRequest,
    Status,
    StoreUnavailableError,
)

START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
INTERVAL = 10.0


def request(
    name: str = "web",
    digest: int = 1,
    *,
    second: int = 0,
    platform: Platform | None = None,
    status: Status = Status.DEPLOYED,
    tag: str | None = None,
) -> RecordRequest:
    return RecordRequest(
        key=DeploymentKey("cluster", "production", name, Kind.CONTAINER_IMAGE),
        artifact=Artifact(repository="ghcr.io/acme/web", digest=f"sha256:{digest:064x}", tag=tag),
        platform=platform or Platform(),
        status=status,
        observed_at=START + timedelta(seconds=second),
    )


class ListSink:
    """Records what was appended; ``gate`` (when set) holds appends open until released."""

    def __init__(self) -> None:
        self.appended: list[RecordRequest] = []
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.fail_with: Exception | None = None

    async def append(self, requests: Sequence[RecordRequest]) -> None:
        self.calls += 1
        self.appended.extend(requests)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_with is not None:
            raise self.fail_with


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(sink: ListSink, clock: Clock, held: list[int] | None = None) -> HeartbeatThrottle:
    counts = held if held is not None else []
    return HeartbeatThrottle(sink, interval_s=INTERVAL, on_held=counts.append, clock=clock)


async def test_a_repeat_within_the_interval_is_held_not_spooled() -> None:
    sink, clock, held = ListSink(), Clock(), list[int]()
    heartbeats = throttle(sink, clock, held)
    await heartbeats.append([request(second=0)])
    clock.now += 1
    await heartbeats.append([request(second=1)])
    await heartbeats.append([request(second=2, tag="v2")])  # another tag, same digest
    assert sink.appended == [request(second=0)]
    assert held == [1, 1]
    assert heartbeats.held == 1


async def test_the_latest_repeat_is_spooled_once_the_interval_has_passed() -> None:
    sink, clock = ListSink(), Clock()
    heartbeats = throttle(sink, clock)
    await heartbeats.append([request(second=0)])
    for second in (3, 6):
        clock.now += 3
        await heartbeats.append([request(second=second)])
    await heartbeats.flush()
    assert sink.appended == [request(second=0)], "not before the interval has passed"
    clock.now += INTERVAL
    await heartbeats.flush()
    assert sink.appended == [request(second=0), request(second=6)]
    assert heartbeats.held == 0


async def test_a_new_image_is_spooled_at_once_after_the_held_repeat_of_the_old() -> None:
    sink, clock = ListSink(), Clock()
    heartbeats = throttle(sink, clock)
    await heartbeats.append([request(digest=1, second=0)])
    clock.now += 1
    await heartbeats.append([request(digest=1, second=1)])
    await heartbeats.append([request(digest=2, second=2)])
    # The store sees the key's requests in the order they were admitted.
    assert sink.appended == [
        request(digest=1, second=0),
        request(digest=1, second=1),
        request(digest=2, second=2),
    ]
    clock.now += 1
    await heartbeats.append([request(digest=1, second=3)])  # a rollback is no repeat
    assert sink.appended[-1] == request(digest=1, second=3)


@pytest.mark.parametrize(
    "other",
    [
        request(platform=Platform(architecture="arm64")),
        request(status=Status.DECOMMISSIONED),
        request(name="worker"),
    ],
    ids=["platform", "status", "deployment name"],
)
async def test_a_different_platform_status_or_key_is_no_repeat(other: RecordRequest) -> None:
    sink, clock = ListSink(), Clock()
    heartbeats = throttle(sink, clock)
    await heartbeats.append([request()])
    await heartbeats.append([other])
    assert sink.appended == [request(), other]


async def test_hold_takes_only_repeats_of_what_is_durable() -> None:
    sink, clock, held = ListSink(), Clock(), list[int]()
    heartbeats = throttle(sink, clock, held)
    assert not heartbeats.hold([request()]), "a first sighting must be spooled"
    sink.gate = asyncio.Event()
    first = asyncio.create_task(heartbeats.append([request(second=0)]))
    await asyncio.sleep(0)
    assert not heartbeats.hold([request(second=1)]), "what it repeats is not durable yet"
    sink.gate.set()
    await first
    assert not heartbeats.hold([request(second=1), request("worker", second=1)])
    assert heartbeats.held == 0, "all or nothing"
    assert heartbeats.hold([request(second=2)])
    assert held == [1]
    clock.now += INTERVAL
    await heartbeats.flush()
    assert sink.appended == [request(second=0), request(second=2)]


async def test_a_repeat_of_a_request_in_flight_waits_for_it_instead_of_spooling() -> None:
    sink, clock = ListSink(), Clock()
    sink.gate = asyncio.Event()
    heartbeats = throttle(sink, clock)
    first = asyncio.create_task(heartbeats.append([request(second=0)]))
    await asyncio.sleep(0)
    repeat = asyncio.create_task(heartbeats.append([request(second=1)]))
    await asyncio.sleep(0)
    assert sink.calls == 1
    assert not repeat.done(), "answered before the request it repeats is durable"
    sink.gate.set()
    await asyncio.gather(first, repeat)
    assert sink.appended == [request(second=0)]


async def test_a_failed_append_fails_its_repeats_and_the_next_one_is_spooled_again() -> None:
    sink, clock = ListSink(), Clock()
    sink.gate = asyncio.Event()
    sink.fail_with = StoreUnavailableError("disk full")
    heartbeats = throttle(sink, clock)
    first = asyncio.create_task(heartbeats.append([request(second=0)]))
    await asyncio.sleep(0)
    repeat = asyncio.create_task(heartbeats.append([request(second=1)]))
    await asyncio.sleep(0)
    sink.gate.set()
    for task in (first, repeat):
        with pytest.raises(StoreUnavailableError, match="disk full"):
            await task
    sink.gate, sink.fail_with = None, None
    await heartbeats.append([request(second=2)])
    # The repeat that failed with the first goes before the next one: order is kept.
    assert sink.appended[-2:] == [request(second=1), request(second=2)]


async def test_keys_quiet_for_an_interval_are_forgotten() -> None:
    sink, clock = ListSink(), Clock()
    heartbeats = throttle(sink, clock)
    await heartbeats.append([request(second=0)])
    clock.now += INTERVAL
    await heartbeats.flush()
    clock.now += 1
    await heartbeats.append([request(second=11)])
    assert sink.appended == [request(second=0), request(second=11)]


async def test_close_spools_every_held_repeat() -> None:
    sink, clock = ListSink(), Clock()
    heartbeats = throttle(sink, clock)
    await heartbeats.append([request("web", second=0), request("worker", second=0)])
    clock.now += 1
    await heartbeats.append([request("web", second=1), request("worker", second=1)])
    await heartbeats.close()
    assert sink.appended[2:] == [request("web", second=1), request("worker", second=1)]


async def test_an_interval_of_zero_spools_everything() -> None:
    sink, held = ListSink(), list[int]()
    heartbeats = HeartbeatThrottle(sink, interval_s=0, on_held=held.append)
    await heartbeats.append([request(second=0)])
    await heartbeats.append([request(second=1)])
    assert sink.appended == [request(second=0), request(second=1)]
    assert held == []
