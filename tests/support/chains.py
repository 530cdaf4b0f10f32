"""The one-deployed-record invariant, checked over a key's whole history.

Shared by the concurrency tests of every store: after any mix of concurrent
recordings, the history of a key must be one chain, each record superseded by the
next, the last one deployed, and every row inserted by exactly one recording that
reported it as created or superseding.
"""

from __future__ import annotations

import itertools
import multiprocessing
from collections.abc import Callable
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import NamedTuple

from imagegate.tracking import (
    Artifact,
    DeploymentKey,
    DeploymentQuery,
    DeploymentRecord,
    Kind,
    Outcome,
    Platform,
    RecordRequest,
    Status,
    Store,
)

REPOSITORY = "docker.io/acme/api"


class Observation(NamedTuple):
    """What one recording reported: under which name, which digest, what it did to which row."""

    name: str
    digest: str
    outcome: Outcome
    record_id: int


def digest_of(number: int) -> str:
    return f"sha256:{number:064x}"


def key_of(name: str) -> DeploymentKey:
    return DeploymentKey(
        environment="deployed",
        logical_environment="production",
        deployment_name=name,
        kind=Kind.CONTAINER_IMAGE,
    )


def request_of(name: str, digest: str) -> RecordRequest:
    artifact = Artifact(repository=REPOSITORY, digest=digest)
    return RecordRequest(key=key_of(name), artifact=artifact, platform=Platform())


async def history_of(store: Store, name: str) -> list[DeploymentRecord]:
    records: list[DeploymentRecord] = []
    after_id: int | None = None
    while True:
        page = await store.list_deployments(
            DeploymentQuery(deployment_name=name, history=True, limit=1000, after_id=after_id)
        )
        records.extend(page.records)
        if page.next_after_id is None:
            return records
        after_id = page.next_after_id


def check_one_chain(
    records: list[DeploymentRecord], observed: list[Observation]
) -> list[DeploymentRecord]:
    """Assert the history of one key is one complete chain; return it oldest first."""
    by_id = {r.id: r for r in records}
    assert len(by_id) == len(records), "duplicate record ids"
    deployed = [r for r in records if r.status is Status.DEPLOYED]
    assert len(deployed) == 1, f"{len(deployed)} deployed records under one key"
    assert {r.status for r in records} <= {Status.DEPLOYED, Status.SUPERSEDED}
    for r in records:
        if r.status is Status.SUPERSEDED:
            assert r.superseded_by in by_id, f"record {r.id} superseded by a missing record"
        else:
            assert r.superseded_by is None
    successors = [r.superseded_by for r in records if r.superseded_by is not None]
    assert len(set(successors)) == len(successors), "a record replaces two others"
    [first] = [r for r in records if r.id not in successors]

    chain = [first]
    while chain[-1].superseded_by is not None:
        chain.append(by_id[chain[-1].superseded_by])
    assert len(chain) == len(records), "records outside the chain"
    assert chain[-1] == deployed[0]
    for older, newer in itertools.pairwise(chain):
        assert older.id < newer.id
        assert older.artifact.digest != newer.artifact.digest, "same artifact inserted twice"

    # Rows == changes: each row was inserted by exactly one recording that said so,
    # and every recording touched a row of the digest it asked for.
    inserting = {Outcome.CREATED, Outcome.SUPERSEDED}
    inserted = sorted(o.record_id for o in observed if o.outcome in inserting)
    assert inserted == sorted(by_id)
    assert [o.outcome for o in observed].count(Outcome.CREATED) == 1
    assert {o.outcome for o in observed} <= inserting | {Outcome.REFRESHED}
    for o in observed:
        assert by_id[o.record_id].artifact.digest == o.digest
    return chain


class WorkerReport(NamedTuple):
    """What one recording process sends back: its observations, or its traceback."""

    seed: int
    observed: list[Observation]
    error: str | None


Worker = Callable[[str, int, Barrier, "Queue[WorkerReport]"], None]


def run_recording_processes(
    worker: Worker, location: str, *, processes: int, timeout_s: float
) -> list[Observation]:
    """Run ``worker(location, seed, start, reports)`` in ``processes`` spawned processes
    released together, and return every observation; a failed worker fails the test."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(processes)
    reports: Queue[WorkerReport] = context.Queue()
    workers = [
        context.Process(target=worker, args=(location, seed, start, reports))
        for seed in range(processes)
    ]
    for process in workers:
        process.start()
    try:
        collected = [reports.get(timeout=timeout_s) for _ in workers]
        for process in workers:
            process.join(timeout=30)
    finally:
        for process in workers:
            if process.is_alive():
                process.terminate()
                process.join()
    assert [r.error for r in collected] == [None] * processes
    assert [p.exitcode for p in workers] == [0] * processes
    return [o for report in collected for o in report.observed]
