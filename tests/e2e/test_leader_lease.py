"""Leader election on a real kube-apiserver: one replica leads; another takes over at
once when the leader stops cleanly, and a lease duration after a leader stopped
renewing (a crash), never both at a time."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest
from testbed.controlplane import Cluster

from imagegate.kube import KubeClient, LeaderLease, LeaseSettings, load_connection

_names = itertools.count(1)


@pytest.fixture
async def client(cluster: Cluster) -> AsyncIterator[KubeClient]:
    opened = KubeClient.open(load_connection(str(cluster.kubeconfig)))
    try:
        yield opened
    finally:
        await opened.close()


def candidate(client: KubeClient, name: str, identity: str) -> LeaderLease:
    settings = LeaseSettings(
        namespace="default",
        name=name,
        identity=identity,
        lease_duration_s=3,
        renew_interval_s=0.5,
    )
    return LeaderLease(client, settings)


class Leaders:
    """Who leads now, as each candidate's ``lead`` reports it."""

    def __init__(self) -> None:
        self.now: set[str] = set()
        self.most_at_once = 0

    def lead(self, identity: str) -> Callable[[], Coroutine[Any, Any, None]]:
        async def leading() -> None:
            self.now.add(identity)
            self.most_at_once = max(self.most_at_once, len(self.now))
            try:
                await asyncio.Event().wait()  # until cancelled
            finally:
                self.now.discard(identity)

        return leading


async def until(check: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not within the time"
        await asyncio.sleep(0.1)


async def test_one_leads_and_the_other_takes_over_when_it_stops(client: KubeClient) -> None:
    name = f"e2e-lease-{next(_names)}"
    leaders = Leaders()
    first, second = candidate(client, name, "first"), candidate(client, name, "second")
    running_first = asyncio.create_task(first.run(leaders.lead("first")))
    await until(lambda: leaders.now == {"first"})
    running_second = asyncio.create_task(second.run(leaders.lead("second")))
    await asyncio.sleep(2)
    assert leaders.now == {"first"}

    running_first.cancel()
    await asyncio.gather(running_first, return_exceptions=True)
    # Given up on the way out: the other leads well before a lease duration.
    started = asyncio.get_running_loop().time()
    await until(lambda: leaders.now == {"second"})
    assert asyncio.get_running_loop().time() - started < 2.5
    assert leaders.most_at_once == 1
    running_second.cancel()
    await asyncio.gather(running_second, return_exceptions=True)


async def test_a_lease_nobody_renews_is_taken_over_after_its_duration(
    client: KubeClient,
) -> None:
    name = f"e2e-lease-{next(_names)}"
    await client.post(
        "/apis/coordination.k8s.io/v1/namespaces/default/leases",
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name},
            "spec": {
                "holderIdentity": "crashed",
                "leaseDurationSeconds": 3,
                "renewTime": "2026-01-01T00:00:00.000000Z",
            },
        },
        timeout_s=5,
    )
    leaders = Leaders()
    successor = candidate(client, name, "successor")
    started = asyncio.get_running_loop().time()
    running = asyncio.create_task(successor.run(leaders.lead("successor")))
    await asyncio.sleep(2)
    assert leaders.now == set(), "the holder's lease has not been seen unrenewed for 3 s yet"
    await until(lambda: leaders.now == {"successor"})
    assert asyncio.get_running_loop().time() - started >= 3
    lease = await client.get(
        f"/apis/coordination.k8s.io/v1/namespaces/default/leases/{name}", timeout_s=5
    )
    assert lease["spec"]["holderIdentity"] == "successor"
    assert lease["spec"]["leaseTransitions"] == 1
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
