"""Exactly-once batches from a durable queue, the same on SQLite and PostgreSQL.

A refused request rolls back alone (its savepoint) and the others are applied; a
replayed batch is recognised by the queue position committed with the records;
records are dated by when they were observed, and a late replay never moves
``last_seen_at`` backwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from imagegate.store import PostgresStore, SqliteStore
from imagegate.tracking import (
    Artifact,
    DeploymentKey,
    DeploymentQuery,
    Kind,
    Outcome,
    Platform,
    QueuedRequest,
    RecordRequest,
    Status,
    Tracker,
    UnknownEnvironmentError,
)
from support.postgres import fresh_store_url

T0 = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
V1 = Artifact(repository="docker.io/acme/api", digest="sha256:" + "1" * 64)
V2 = Artifact(repository="docker.io/acme/api", digest="sha256:" + "2" * 64)


def key(name: str, environment: str = "deployed") -> DeploymentKey:
    return DeploymentKey(
        environment=environment,
        logical_environment="production",
        deployment_name=name,
        kind=Kind.CONTAINER_IMAGE,
    )


def queued(
    sequence: int, name: str, artifact: Artifact, *, at: datetime, environment: str = "deployed"
) -> QueuedRequest:
    return QueuedRequest(
        sequence=sequence,
        request=RecordRequest(
            key=key(name, environment), artifact=artifact, platform=Platform(), observed_at=at
        ),
    )


@pytest.fixture(params=["sqlite", "postgresql"])
async def tracker(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Tracker]:
    store: SqliteStore | PostgresStore
    if request.param == "sqlite":
        store = await SqliteStore.open(tmp_path / "imagegate.db")
    else:
        store = await PostgresStore.open(await fresh_store_url())
    try:
        yield Tracker(store, clock=lambda: T0 + timedelta(hours=1))
    finally:
        await store.close()


async def test_a_refused_request_rolls_back_alone(tracker: Tracker) -> None:
    batch = [
        queued(1, "api", V1, at=T0),
        queued(2, "web", V1, at=T0, environment="k8s-nowhere"),
        queued(3, "api", V2, at=T0 + timedelta(seconds=1)),
    ]
    results = await tracker.record_queued("spool-a", batch)
    assert [r.sequence for r in results] == [1, 2, 3]
    assert results[0].result is not None
    assert results[0].result.outcome is Outcome.CREATED
    assert isinstance(results[1].error, UnknownEnvironmentError)
    assert results[2].result is not None
    assert results[2].result.outcome is Outcome.SUPERSEDED
    assert await tracker.queue_position("spool-a") == 3
    history = (await tracker.list_deployments(DeploymentQuery(history=True))).records
    assert [(r.key.deployment_name, r.artifact, r.status) for r in history] == [
        ("api", V2, Status.DEPLOYED),
        ("api", V1, Status.SUPERSEDED),
    ]
    # The refused request left nothing behind, and created no environment.
    assert [e.name for e in await tracker.list_environments()] == ["deployed"]


async def test_a_replayed_batch_is_applied_once(tracker: Tracker) -> None:
    batch = [queued(1, "api", V1, at=T0), queued(2, "api", V2, at=T0)]
    await tracker.record_queued("spool-a", batch)
    again = await tracker.record_queued("spool-a", [*batch, queued(3, "web", V1, at=T0)])
    assert [(r.sequence, r.already_applied) for r in again] == [(1, True), (2, True), (3, False)]
    assert await tracker.queue_position("spool-a") == 3
    assert await tracker.queue_position("spool-b") == 0
    history = (await tracker.list_deployments(DeploymentQuery(history=True))).records
    assert len(history) == 3


async def test_records_are_dated_when_observed_and_last_seen_never_goes_back(
    tracker: Tracker,
) -> None:
    later = T0 + timedelta(minutes=5)
    await tracker.record_queued("spool-a", [queued(1, "api", V1, at=T0)])
    await tracker.record_queued("spool-b", [queued(1, "api", V1, at=later)])
    # A replica whose spool drains late reports an older sighting.
    await tracker.record_queued("spool-c", [queued(1, "api", V1, at=T0 + timedelta(minutes=1))])
    [record] = (await tracker.list_deployments(DeploymentQuery())).records
    assert (record.created_at, record.updated_at, record.last_seen_at) == (T0, T0, later)
