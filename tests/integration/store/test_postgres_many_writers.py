"""Several replicas on one PostgreSQL database: separate processes, each with its own pool.

Every process records conflicting requests for the same keys at once; afterwards each
key must hold exactly one deployed record at the end of one complete superseded chain,
and every row must have been inserted by exactly one recording that said so. Replicas
that start at the same moment on an empty database must migrate it exactly once.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import traceback
from collections import Counter
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

import asyncpg  # type: ignore[import-untyped]
import pytest

from imagegate.store import PostgresStore
from imagegate.store._postgres_schema import MIGRATIONS
from imagegate.tracking import (
    DeploymentQuery,
    Outcome,
    QueuedRequest,
    Tracker,
)
from support.chains import (
    Observation,
    WorkerReport,
    check_one_chain,
    digest_of,
    history_of,
    request_of,
    run_recording_processes,
)
from support.postgres import fresh_database_url, fresh_store_url

PROCESSES = 4
TASKS_PER_PROCESS = 8
OPERATIONS_PER_TASK = 40
NAMES = ("api", "worker", "web")
DIGESTS = 4


# --- process entry points (spawned: importable, picklable arguments only) ----------------


def record_in_process(url: str, seed: int, start: Barrier, reports: Queue[WorkerReport]) -> None:
    """Record from several tasks at once through this process's own pool; report each call."""
    try:
        observed = asyncio.run(_record_concurrently(url, seed, start))
    except BaseException:
        reports.put(WorkerReport(seed, [], traceback.format_exc()))
        raise
    reports.put(WorkerReport(seed, observed, None))


async def _record_concurrently(url: str, seed: int, start: Barrier) -> list[Observation]:
    store = await PostgresStore.open(url, min_size=TASKS_PER_PROCESS, max_size=TASKS_PER_PROCESS)
    try:
        tracker = Tracker(store)
        start.wait(timeout=60)
        runs = await asyncio.gather(
            *(_record_randomly(tracker, seed * 100 + task) for task in range(TASKS_PER_PROCESS))
        )
        return [observation for run in runs for observation in run]
    finally:
        await store.close()


async def _record_randomly(tracker: Tracker, seed: int) -> list[Observation]:
    rng = random.Random(seed)
    last: dict[str, str] = {}
    observed: list[Observation] = []
    for _ in range(OPERATIONS_PER_TASK):
        name = rng.choice(NAMES)
        if name in last and rng.random() < 0.3:
            digest = last[name]  # a heartbeat of what this task saw deployed
        else:
            digest = digest_of(rng.randrange(DIGESTS))
        result = await tracker.record(request_of(name, digest))
        assert result.record is not None
        observed.append(Observation(name, digest, result.outcome, result.record.id))
        last[name] = digest
    return observed


def open_in_process(url: str, start: Barrier, reports: Queue[str | None]) -> None:
    """Open (and so migrate) the store the moment every process is ready."""

    async def open_and_close() -> None:
        start.wait(timeout=60)
        store = await PostgresStore.open(url, min_size=1, max_size=2)
        await store.close()

    try:
        asyncio.run(open_and_close())
    except BaseException:
        reports.put(traceback.format_exc())
        raise
    reports.put(None)


# --- checks ------------------------------------------------------------------------------


# --- tests -------------------------------------------------------------------------------


@pytest.mark.slow
async def test_processes_with_own_pools_leave_one_chain_per_key() -> None:
    url = await fresh_store_url()
    await (await PostgresStore.open(url)).close()  # migrated before the race on records
    observed = run_recording_processes(record_in_process, url, processes=PROCESSES, timeout_s=240)
    assert len(observed) == PROCESSES * TASKS_PER_PROCESS * OPERATIONS_PER_TASK

    store = await PostgresStore.open(url)
    try:
        total = 0
        for name in NAMES:
            history = await history_of(store, name)
            check_one_chain(history, [o for o in observed if o.name == name])
            total += len(history)
        everything = await store.list_deployments(DeploymentQuery(history=True, limit=1000))
        assert len(everything.records) == total
        active = await store.list_deployments(DeploymentQuery())
        assert sorted(r.key.deployment_name for r in active.records) == sorted(NAMES)
    finally:
        await store.close()
    outcomes = Counter(o.outcome for o in observed)
    assert outcomes[Outcome.SUPERSEDED] > 0
    assert outcomes[Outcome.REFRESHED] > 0


@pytest.mark.slow
async def test_replicas_starting_at_once_migrate_exactly_once() -> None:
    url = await fresh_database_url()
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(PROCESSES)
    reports: Queue[str | None] = context.Queue()
    workers = [
        context.Process(target=open_in_process, args=(url, start, reports))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    try:
        errors = [reports.get(timeout=120) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join()
    assert errors == [None] * PROCESSES
    assert [w.exitcode for w in workers] == [0] * PROCESSES

    connection = await asyncpg.connect(url)
    try:
        versions = [
            row[0] for row in await connection.fetch("SELECT version FROM schema_migrations")
        ]
        environments = await connection.fetchval("SELECT count(*) FROM environments")
        logical = await connection.fetchval("SELECT count(*) FROM logical_environments")
    finally:
        await connection.close()
    assert sorted(versions) == list(range(1, len(MIGRATIONS) + 1))
    assert (environments, logical) == (1, 3)
    store = await PostgresStore.open(url)
    try:
        assert await store.schema_version() == len(MIGRATIONS)
    finally:
        await store.close()


async def test_one_batch_delivered_twice_at_once_is_applied_once() -> None:
    """Two replicas replaying the same queue batch concurrently: one applies, one skips."""
    url = await fresh_store_url()
    stores = [await PostgresStore.open(url) for _ in range(2)]
    try:
        batch = [
            QueuedRequest(sequence=n, request=request_of(name, digest_of(n)))
            for n, name in enumerate(("api", "web", "api", "worker"), start=1)
        ]
        first, second = await asyncio.gather(
            *(Tracker(store).record_queued("replica-a", batch) for store in stores)
        )
        applied = [r for r in [*first, *second] if not r.already_applied]
        assert sorted(r.sequence for r in applied) == [1, 2, 3, 4]
        assert all(r.result is not None for r in applied)
        assert {len([r for r in results if r.already_applied]) for results in (first, second)} == {
            0,
            4,
        }
        assert await stores[0].queue_position("replica-a") == 4
        history = await stores[0].list_deployments(DeploymentQuery(history=True))
        assert len(history.records) == 4
    finally:
        for store in stores:
            await store.close()
