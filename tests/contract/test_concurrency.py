"""At most one deployed record per key, however many writers record at once.

After any mix of concurrent recordings the history of a key must be one chain:
each record superseded by the next, the last one deployed, no two consecutive
records of the same artifact (that would have been a refresh), and every row
created by exactly one recording that reported it as created or superseding.
"""

from __future__ import annotations

import asyncio
import random
import traceback
from collections import Counter
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from imagegate.store import SqliteStore
from imagegate.tracking import (
    DeploymentQuery,
    Outcome,
    RecordResult,
    Store,
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

TASKS = 200
TASK_DIGESTS = 20
PROCESSES = 4
PROCESS_OPERATIONS = 150
PROCESS_NAMES = ("api", "worker", "web")
PROCESS_DIGESTS = 4


async def record(tracker: Tracker, name: str, digest: str) -> Observation:
    result: RecordResult = await tracker.record(request_of(name, digest))
    assert result.record is not None
    return Observation(name, digest, result.outcome, result.record.id)


def digest_runs(rng: random.Random, length: int, choices: int) -> list[str]:
    """Digests in runs of 1 to 4 repeats, so that a serial store both refreshes and supersedes."""
    digests: list[str] = []
    while len(digests) < length:
        digests += [digest_of(rng.randrange(choices))] * rng.randint(1, 4)
    return digests[:length]


async def test_concurrent_tasks_leave_one_chain(tracker: Tracker, store: Store) -> None:
    digests = digest_runs(random.Random(1), TASKS, TASK_DIGESTS)
    assert len(set(digests)) == TASK_DIGESTS
    observed = await asyncio.gather(*(record(tracker, "api", d) for d in digests))

    chain = check_one_chain(await history_of(store, "api"), observed)
    outcomes = Counter(o.outcome for o in observed)
    assert outcomes[Outcome.SUPERSEDED] == len(chain) - 1 > 0
    assert outcomes[Outcome.REFRESHED] == TASKS - len(chain) > 0
    [active] = (await store.list_deployments(DeploymentQuery())).records
    assert active == chain[-1]


async def test_sqlite_connections_in_one_process_leave_one_chain(tmp_path: Path) -> None:
    """SQLite-specific: several connections (threads) on one file write at the same time."""
    path = tmp_path / "shared.db"
    stores = [await SqliteStore.open(path) for _ in range(4)]
    try:
        trackers = [Tracker(s) for s in stores]
        digests = digest_runs(random.Random(2), TASKS, TASK_DIGESTS)
        observed = await asyncio.gather(
            *(record(trackers[i % len(trackers)], "api", d) for i, d in enumerate(digests))
        )
        check_one_chain(await history_of(stores[0], "api"), observed)
    finally:
        for s in stores:
            await s.close()


# --- separate processes ----------------------------------------------------------------


def record_in_process(path: str, seed: int, start: Barrier, reports: Queue[WorkerReport]) -> None:
    """Process entry point: record randomly on a few keys and report what each call did."""
    try:
        observed = asyncio.run(_record_randomly(Path(path), seed, start))
    except BaseException:
        reports.put(WorkerReport(seed, [], traceback.format_exc()))
        raise
    reports.put(WorkerReport(seed, observed, None))


async def _record_randomly(path: Path, seed: int, start: Barrier) -> list[Observation]:
    rng = random.Random(seed)
    store = await SqliteStore.open(path)
    try:
        tracker = Tracker(store)
        last: dict[str, str] = {}
        observed: list[Observation] = []
        start.wait(timeout=60)
        for _ in range(PROCESS_OPERATIONS):
            name = rng.choice(PROCESS_NAMES)
            if name in last and rng.random() < 0.3:
                digest = last[name]  # a heartbeat of what this process saw deployed
            else:
                digest = digest_of(rng.randrange(PROCESS_DIGESTS))
            observation = await record(tracker, name, digest)
            last[name] = digest
            observed.append(observation)
        return observed
    finally:
        await store.close()


@pytest.mark.slow
async def test_processes_sharing_a_file_leave_one_chain_per_key(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    await (await SqliteStore.open(path)).close()  # migrated before the race on records
    observed = run_recording_processes(
        record_in_process, str(path), processes=PROCESSES, timeout_s=120
    )
    assert len(observed) == PROCESSES * PROCESS_OPERATIONS

    store = await SqliteStore.open(path)
    try:
        total = 0
        for name in PROCESS_NAMES:
            history = await history_of(store, name)
            check_one_chain(history, [o for o in observed if o.name == name])
            total += len(history)
        all_rows = await store.list_deployments(DeploymentQuery(history=True, limit=1000))
        assert len(all_rows.records) == total
        active = await store.list_deployments(DeploymentQuery())
        assert sorted(r.key.deployment_name for r in active.records) == sorted(PROCESS_NAMES)
    finally:
        await store.close()
    outcomes = Counter(o.outcome for o in observed)
    assert outcomes[Outcome.SUPERSEDED] > 0
    assert outcomes[Outcome.REFRESHED] > 0
