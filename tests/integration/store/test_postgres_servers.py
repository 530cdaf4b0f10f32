"""Real ``imagegate serve`` processes on one PostgreSQL database, as replicas run.

Several server processes, each with its own pool and spool, take conflicting
recordings for the same keys at once; and two keep admitting while the PostgreSQL
server itself is down, then record every admitted deployment exactly once after it
comes back (their pools must reconnect).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg  # type: ignore[import-untyped]
import pytest

from support.postgres import fresh_database_url, session_server
from support.processes import run_cli, server_process
from support.reviews import review

ENVIRONMENT = "deployed"  # exists in every store
REPOSITORY = "ghcr.io/acme/api"
NAMES = ("api", "worker", "web", "cron")
DIGESTS = [f"sha256:{number:064x}" for number in range(1, 5)]
REQUESTS = 2000
IN_FLIGHT = 32


def start_servers(
    stack: ExitStack, tmp_path: Path, count: int, store_url: str, *extra: str
) -> list[str]:
    """``count`` server processes on ``store_url``, each with its own spool and log."""
    return [
        stack.enter_context(
            server_process(
                tmp_path / f"replica-{number}.db",
                *extra,
                store_url=store_url,
                log=tmp_path / f"replica-{number}.log",
            )
        )
        for number in range(count)
    ]


def create_token(store_url: str) -> str:
    created = run_cli(
        ["--store", store_url, "apikey", "create", "--scope", "read", "--scope", "write"]
    )
    assert created.exit_code == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1].strip()
    assert token
    return token


def logs(tmp_path: Path) -> str:
    return "\n".join(
        f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
        for path in sorted(tmp_path.glob("replica-*.log"))
    )


async def history_of(
    session: aiohttp.ClientSession, url: str, token: str, name: str
) -> list[dict[str, Any]]:
    """Every record of ``name`` (newest first), as the API lists them."""
    params = {"history": "true", "limit": "1000", "deployment_name": name}
    headers = {"Authorization": f"Bearer {token}"}
    async with session.get(f"{url}/api/v1/deployments", params=params, headers=headers) as answer:
        body = await answer.json()
        assert answer.status == 200, body
    items: list[dict[str, Any]] = body["items"]
    assert len(items) < 1000
    return items


def assert_one_chain(records: list[dict[str, Any]]) -> None:
    """Newest first: one deployed record at the head of a complete superseded chain."""
    assert records, "no records"
    assert records[0]["status"] == "deployed"
    assert records[0]["superseded_by"] is None
    for newer, older in itertools.pairwise(records):
        assert older["status"] == "superseded"
        assert older["superseded_by"] == newer["id"]
        assert older["artifact"]["digest"] != newer["artifact"]["digest"]


async def test_conflicting_recordings_through_four_server_processes(tmp_path: Path) -> None:
    store_url = await fresh_database_url()
    token = create_token(store_url)  # also migrates the database, once
    rng = random.Random(4)
    plan = [(rng.choice(NAMES), rng.choice(DIGESTS)) for _ in range(REQUESTS)]
    with ExitStack() as stack:
        servers = start_servers(stack, tmp_path, 4, store_url)
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=IN_FLIGHT), headers=headers
        ) as session:
            gate = asyncio.Semaphore(IN_FLIGHT)

            async def record(index: int) -> tuple[str, str, int]:
                name, digest = plan[index]
                body = {
                    "environment": ENVIRONMENT,
                    "logical_environment": "production",
                    "deployment_name": name,
                    "kind": "CONTAINER_IMAGE",
                    "reference": f"{REPOSITORY}@{digest}",
                }
                url = servers[index % len(servers)]
                try:
                    async with gate, session.post(f"{url}/api/v1/deployments", json=body) as answer:
                        reply = await answer.json()
                        assert answer.status in (200, 201), (answer.status, reply, logs(tmp_path))
                except aiohttp.ClientConnectionError as error:
                    raise AssertionError(
                        f"request {index} to {url} failed: {error!r}\n{logs(tmp_path)}"
                    ) from error
                assert reply["record"]["artifact"]["digest"] == digest
                return name, reply["outcome"], reply["record"]["id"]

            started = time.monotonic()
            observed = await asyncio.gather(*(record(index) for index in range(REQUESTS)))
            elapsed = time.monotonic() - started
            histories = {
                name: await history_of(session, servers[number % 4], token, name)
                for number, name in enumerate(NAMES)
            }
    print(f"{REQUESTS} recordings through 4 processes in {elapsed:.1f} s")

    for name, records in histories.items():
        assert_one_chain(records)
        assert {r["deployment_name"] for r in records} == {name}
        ids = [r["id"] for r in records]
        assert len(set(ids)) == len(ids)
        outcomes = Counter(outcome for n, outcome, _ in observed if n == name)
        inserted = [i for n, outcome, i in observed if n == name and outcome != "refreshed"]
        # Every row was inserted by exactly one recording, which said so; the rest were
        # heartbeats of whatever was deployed.
        assert outcomes["created"] == 1, outcomes
        assert sorted(inserted) == sorted(ids), outcomes
        assert outcomes["refreshed"] == sum(1 for n, _ in plan if n == name) - len(ids)
        assert set(outcomes) <= {"created", "superseded", "refreshed"}

    connection = await asyncpg.connect(store_url)
    try:
        rows = await connection.fetch(
            "SELECT deployment_name, status, count(*) AS n FROM deployments"
            " GROUP BY deployment_name, status"
        )
    finally:
        await connection.close()
    counted = {(row["deployment_name"], row["status"]): row["n"] for row in rows}
    assert counted == {
        **{(name, "deployed"): 1 for name in NAMES},
        **{
            (name, "superseded"): len(histories[name]) - 1
            for name in NAMES
            if len(histories[name]) > 1
        },
    }


# --- the PostgreSQL server stops while two replicas admit ----------------------------

CLUSTER = "k8s-test"
DEPLOYMENTS = 8
V1 = "sha256:" + "1" * 64
V2 = "sha256:" + "2" * 64
RECOVERY_S = 40.0


def steps_of(index: int) -> Iterator[dict[str, Any]]:
    """Create web-N at v1, heartbeat it, update it to v2."""
    name = f"web-{index}"
    v1, v2 = f"ghcr.io/acme/web@{V1}", f"ghcr.io/acme/web@{V2}"
    yield review("Deployment", name, "shop", [v1])
    yield review("Deployment", name, "shop", [v1], operation="UPDATE", old_images=[v1])
    yield review("Deployment", name, "shop", [v2], operation="UPDATE", old_images=[v1])


async def spool_depth(session: aiohttp.ClientSession, url: str) -> float:
    async with session.get(f"{url}/metrics") as answer:
        text = await answer.text()
    for line in text.splitlines():
        if line.startswith("imagegate_spool_depth"):
            return float(line.split()[-1])
    raise AssertionError(f"no imagegate_spool_depth in /metrics of {url}")


async def test_replicas_admit_while_postgres_is_down_and_record_once_after(
    tmp_path: Path,
) -> None:
    server = await session_server()
    if server.cluster is None:
        pytest.skip("stopping PostgreSQL needs the tests' own cluster, not a provided server")
    cluster = server.cluster
    store_url = await fresh_database_url()
    token = create_token(store_url)
    stopped = False
    try:
        with ExitStack() as stack:
            servers = start_servers(
                stack,
                tmp_path,
                2,
                store_url,
                "--cluster-name",
                CLUSTER,
                "--auto-create-environments",
            )
            async with aiohttp.ClientSession() as session:

                async def admit(document: dict[str, Any], url: str) -> bool:
                    async with session.post(f"{url}/validate", json=document) as answer:
                        reply = await answer.json()
                        assert answer.status == 200, reply
                    allowed: bool = reply["response"]["allowed"]
                    return allowed

                async def roll_out(index: int, down: asyncio.Event) -> list[bool]:
                    # Each deployment keeps to one replica, so that its steps spool in order.
                    url = servers[index % len(servers)]
                    answers = []
                    for number, step in enumerate(steps_of(index)):
                        if number == 1:
                            await down.wait()  # the rest happens while PostgreSQL is down
                        started = time.monotonic()
                        answers.append(await admit(step, url))
                        assert time.monotonic() - started < 5, "admission waited on the store"
                    return answers

                down = asyncio.Event()
                rollouts = asyncio.gather(*(roll_out(i, down) for i in range(DEPLOYMENTS)))
                await asyncio.sleep(0.5)
                await asyncio.to_thread(cluster.stop_server)
                stopped = True
                down.set()
                answers = await asyncio.wait_for(rollouts, 30)
                assert all(all(allowed) for allowed in answers)
                # Let the replicas run into the outage before it ends.
                await asyncio.sleep(2)
                depths = [await spool_depth(session, url) for url in servers]
                # Steps two and three of every rollout, at least, wait for the store.
                assert sum(depths) >= 2 * DEPLOYMENTS, depths
                await asyncio.to_thread(cluster.start_server)
                stopped = False

                headers = {"Authorization": f"Bearer {token}"}
                deadline = time.monotonic() + RECOVERY_S
                while True:
                    depths = [await spool_depth(session, url) for url in servers]
                    if sum(depths) == 0:
                        break
                    if time.monotonic() > deadline:
                        pytest.fail(
                            f"spools still hold {depths} {RECOVERY_S} s after PostgreSQL "
                            f"came back: the replicas do not reconnect\n{logs(tmp_path)}"
                        )
                    await asyncio.sleep(0.25)
                params = {"history": "true", "limit": "1000"}
                bodies = []
                for url in servers:  # both pools serve reads again, and agree
                    async with session.get(
                        f"{url}/api/v1/deployments", params=params, headers=headers
                    ) as answer:
                        bodies.append(await answer.json())
                        assert answer.status == 200, bodies[-1]
                body = bodies[0]
                assert bodies[1]["items"] == body["items"]
    finally:
        if stopped:
            cluster.start_server()

    by_name: dict[str, list[tuple[str, str]]] = {}
    for record in sorted(body["items"], key=lambda r: r["id"]):
        assert record["environment"] == CLUSTER
        by_name.setdefault(record["deployment_name"], []).append(
            (record["artifact"]["digest"], record["status"])
        )
    assert by_name == {
        f"shop/web-{index}/c0": [(V1, "superseded"), (V2, "deployed")]
        for index in range(DEPLOYMENTS)
    }
    newest_first = sorted(body["items"], key=lambda r: -r["id"])
    for index in range(DEPLOYMENTS):
        assert_one_chain(
            [r for r in newest_first if r["deployment_name"] == f"shop/web-{index}/c0"]
        )
