"""The spool and the recorder on real SQLite files: durability and exactly-once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from imagegate.metrics import Metrics
from imagegate.recording import Recorder, RecorderSettings, Spool
from imagegate.store import SqliteStore
from imagegate.tracking import (
    Artifact,
    DeploymentKey,
    DeploymentQuery,
    Kind,
    Platform,
    RecordRequest,
    Status,
    Tracker,
)

START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def request(
    name: str, digest_number: int, minute: int, environment: str = "deployed"
) -> RecordRequest:
    return RecordRequest(
        key=DeploymentKey(environment, "production", name, Kind.CONTAINER_IMAGE),
        artifact=Artifact(repository="ghcr.io/acme/web", digest=f"sha256:{digest_number:064x}"),
        platform=Platform(),
        observed_at=START + timedelta(minutes=minute),
    )


@contextlib.asynccontextmanager
async def opened(tmp_path: Path) -> AsyncIterator[tuple[Spool, SqliteStore, Tracker]]:
    spool = await Spool.open(tmp_path / "spool.db")
    store = await SqliteStore.open(tmp_path / "store.db")
    try:
        yield spool, store, Tracker(store)
    finally:
        await spool.close()
        await store.close()


@contextlib.asynccontextmanager
async def recording(
    spool: Spool, tracker: Tracker, metrics: Metrics, settings: RecorderSettings | None = None
) -> AsyncIterator[Recorder]:
    recorder = Recorder(spool, tracker, metrics=metrics, settings=settings)
    task = asyncio.create_task(recorder.run(), name="test-recorder")
    try:
        yield recorder
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_spooled_requests_survive_reopening(tmp_path: Path) -> None:
    spool = await Spool.open(tmp_path / "spool.db")
    source = spool.source
    await spool.append([request("a", 1, 0), request("b", 2, 1)])
    await spool.close()
    spool = await Spool.open(tmp_path / "spool.db")
    try:
        assert spool.source == source
        queued = await spool.peek(10)
        assert [item.request for item in queued] == [request("a", 1, 0), request("b", 2, 1)]
        assert [item.sequence for item in queued] == [1, 2]
    finally:
        await spool.close()


async def test_records_are_dated_by_when_they_were_observed(tmp_path: Path) -> None:
    async with opened(tmp_path) as (spool, _store, tracker):
        await spool.append([request("a", 1, 0), request("a", 2, 5)])
        async with recording(spool, tracker, Metrics()) as recorder:
            await recorder.drain()
        page = await tracker.list_deployments(DeploymentQuery(history=True))
        first, second = sorted(page.records, key=lambda r: r.id)
        assert first.created_at == START
        assert (second.created_at, first.updated_at) == (START + timedelta(minutes=5),) * 2


async def test_a_crash_between_store_write_and_spool_ack_writes_nothing_twice(
    tmp_path: Path,
) -> None:
    # v1, v2, v1 again for one key: replaying the batch naively would add records.
    async with opened(tmp_path) as (spool, _store, tracker):
        await spool.append([request("a", 1, 0), request("a", 2, 1), request("a", 1, 2)])
        batch = await spool.peek(10)
        applied = await tracker.record_queued(spool.source, batch)
        assert [r.result.outcome.value for r in applied if r.result] == [
            "created",
            "superseded",
            "superseded",
        ]
        # ... and the process dies here, before acknowledging the batch in the spool.
    async with opened(tmp_path) as (spool, _store, tracker):
        assert await spool.depth() == 3
        metrics = Metrics()
        async with recording(spool, tracker, metrics) as recorder:
            await recorder.drain()
        page = await tracker.list_deployments(DeploymentQuery(history=True))
        assert len(page.records) == 3
        assert [r.status for r in page.records].count(Status.DEPLOYED) == 1
        written = metrics.registry.get_sample_value(
            "imagegate_records_written_total", {"outcome": "superseded"}
        )
        assert written is None  # the replay recognised the batch and applied nothing


async def test_a_refused_request_is_parked_and_the_queue_goes_on(tmp_path: Path) -> None:
    async with opened(tmp_path) as (spool, _store, tracker):
        await spool.append(
            [request("a", 1, 0), request("b", 1, 1, environment="k8s-gone"), request("c", 1, 2)]
        )
        metrics = Metrics()
        async with recording(spool, tracker, metrics) as recorder:
            await recorder.drain()
        page = await tracker.list_deployments(DeploymentQuery())
        assert sorted(r.key.deployment_name for r in page.records) == ["a", "c"]
        (parked,) = await spool.parked()
        assert parked.request.key.deployment_name == "b"
        assert parked.error_code == "unknown_environment"
        assert "environment 'k8s-gone' does not exist" in parked.error
        refused = metrics.registry.get_sample_value(
            "imagegate_records_refused_total", {"code": "unknown_environment"}
        )
        assert refused == 1.0


@pytest.mark.parametrize("batch_size", [1, 2, 100])
async def test_order_is_kept_whatever_the_batch_size(tmp_path: Path, batch_size: int) -> None:
    async with opened(tmp_path) as (spool, _store, tracker):
        await spool.append([request("a", n % 3 + 1, n) for n in range(7)])
        settings = RecorderSettings(batch_size=batch_size)
        async with recording(spool, tracker, Metrics(), settings) as recorder:
            await recorder.drain()
        page = await tracker.list_deployments(DeploymentQuery(history=True))
        digests = [
            int(r.artifact.digest.removeprefix("sha256:"), 16) for r in reversed(page.records)
        ]
        assert digests == [n % 3 + 1 for n in range(7)]


async def test_an_append_is_one_transaction_however_many_requests(tmp_path: Path) -> None:
    # In autocommit mode a ``with connection`` block opens no transaction: each row
    # would commit and fsync alone. The statements the spool sends show it does not.
    spool = await Spool.open(tmp_path / "spool.db")
    statements: list[str] = []
    spool._connection.set_trace_callback(statements.append)  # white-box: the SQL sent
    try:
        await spool.append([request(f"web-{index}", index, index) for index in range(20)])
    finally:
        spool._connection.set_trace_callback(None)
        await spool.close()
    kinds = [statement.split()[0].upper() for statement in statements]
    assert kinds == ["BEGIN", *["INSERT"] * 20, "COMMIT"]
