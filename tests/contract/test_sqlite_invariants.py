"""SQLite-specific: the invariants the database file itself holds, whoever writes to it.

These tests open the file with ``sqlite3`` directly, bypassing imagegate, to show
that the schema (partial unique index, triggers) refuses what the code never does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from imagegate.store import SqliteStore
from imagegate.store._sqlite_schema import MIGRATIONS
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
    StoreError,
    Tracker,
)

KEY = DeploymentKey(
    environment="deployed",
    logical_environment="production",
    deployment_name="api",
    kind=Kind.CONTAINER_IMAGE,
)
V1 = Artifact(repository="docker.io/acme/api", digest="sha256:" + "1" * 64, tag="v1")
V2 = Artifact(repository="docker.io/acme/api", digest="sha256:" + "2" * 64, tag="v2")
STAMP = "2024-05-01T12:00:00.000000Z"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "imagegate.db"


@pytest.fixture
async def sqlite_store(db_path: Path) -> AsyncIterator[SqliteStore]:
    store = await SqliteStore.open(db_path)
    try:
        yield store
    finally:
        await store.close()


@contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection in autocommit mode, bypassing imagegate."""
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        yield connection


async def record(store: SqliteStore, artifact: Artifact) -> DeploymentRecord:
    result = await Tracker(store).record(
        RecordRequest(key=KEY, artifact=artifact, platform=Platform())
    )
    assert result.record is not None
    return result.record


def insert_raw(connection: sqlite3.Connection, digest: str, status: str) -> None:
    connection.execute(
        "INSERT INTO deployments (environment, logical_environment, deployment_name, kind, "
        "repository, digest, status, created_at, updated_at, last_seen_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            KEY.environment,
            KEY.logical_environment,
            KEY.deployment_name,
            KEY.kind.value,
            V1.repository,
            digest,
            status,
            STAMP,
            STAMP,
            STAMP,
        ),
    )


def count_rows(path: Path, table: str) -> int:
    with raw(path) as connection:
        row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0])


async def test_a_schema_newer_than_this_imagegate_is_refused(db_path: Path) -> None:
    await (await SqliteStore.open(db_path)).close()
    with raw(db_path) as connection:
        connection.execute("PRAGMA user_version = 999")
    with pytest.raises(StoreError) as refused:
        await SqliteStore.open(db_path)
    assert str(refused.value) == (
        f"SQLite store {str(db_path)!r} is at schema version 999, newer than this imagegate "
        f"knows ({len(MIGRATIONS)}); upgrade imagegate"
    )
    with raw(db_path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 999


async def test_reopening_migrates_once(db_path: Path) -> None:
    assert len(MIGRATIONS) >= 1
    first = await SqliteStore.open(db_path)
    assert await first.schema_version() == len(MIGRATIONS)
    await first.close()
    second = await SqliteStore.open(db_path)
    also_open = await SqliteStore.open(db_path)
    try:
        assert await second.schema_version() == len(MIGRATIONS)
        assert await also_open.schema_version() == len(MIGRATIONS)
    finally:
        await also_open.close()
        await second.close()
    with raw(db_path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert count_rows(db_path, "environments") == 1
    assert count_rows(db_path, "logical_environments") == 3


async def test_index_admits_one_deployed_row_per_key(
    sqlite_store: SqliteStore, db_path: Path
) -> None:
    await record(sqlite_store, V1)
    with raw(db_path) as connection:
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE constraint failed"):
            insert_raw(connection, V2.digest, "deployed")
        # The index is partial: history rows under the same key are welcome.
        insert_raw(connection, V2.digest, "superseded")
        deployed = connection.execute(
            "SELECT count(*) FROM deployments WHERE status = 'deployed'"
        ).fetchone()[0]
    assert deployed == 1
    assert count_rows(db_path, "deployments") == 2


async def test_rows_are_never_deleted(sqlite_store: SqliteStore, db_path: Path) -> None:
    created = await record(sqlite_store, V1)
    with raw(db_path) as connection:
        with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
            connection.execute("DELETE FROM deployments WHERE id = ?", (created.id,))
        with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
            connection.execute("DELETE FROM deployments")
    assert count_rows(db_path, "deployments") == 1


@pytest.mark.parametrize(
    ("column", "value"),
    [
        pytest.param("digest", "sha256:" + "f" * 64, id="digest"),
        pytest.param("repository", "docker.io/acme/other", id="repository"),
        pytest.param("tag", "v9", id="tag"),
        pytest.param("environment", "deployed", id="environment-even-unchanged"),
        pytest.param("created_at", STAMP, id="created_at"),
        pytest.param("origin", "cli", id="origin"),
    ],
)
async def test_identity_of_a_row_never_changes(
    sqlite_store: SqliteStore, db_path: Path, column: str, value: str
) -> None:
    created = await record(sqlite_store, V1)
    with raw(db_path) as connection, pytest.raises(sqlite3.IntegrityError, match="identity"):
        connection.execute(f"UPDATE deployments SET {column} = ? WHERE id = ?", (value, created.id))
    [listed] = (await sqlite_store.list_deployments(DeploymentQuery())).records
    assert listed == created


@pytest.mark.parametrize(
    ("retire_with", "back_to"),
    [
        pytest.param(V2, "deployed", id="superseded-to-deployed"),
        pytest.param(None, "deployed", id="decommissioned-to-deployed"),
        pytest.param(None, "superseded", id="decommissioned-to-superseded"),
        pytest.param(V2, "decommissioned", id="superseded-to-decommissioned"),
    ],
)
async def test_status_never_moves_back(
    sqlite_store: SqliteStore, db_path: Path, retire_with: Artifact | None, back_to: str
) -> None:
    first = await record(sqlite_store, V1)
    if retire_with is not None:
        await record(sqlite_store, retire_with)
    else:
        await Tracker(sqlite_store).record(
            RecordRequest(key=KEY, artifact=None, platform=None, status=Status.DECOMMISSIONED)
        )
    with raw(db_path) as connection:
        before = connection.execute(
            "SELECT status FROM deployments WHERE id = ?", (first.id,)
        ).fetchone()[0]
        assert before in {"superseded", "decommissioned"}
        with pytest.raises(sqlite3.IntegrityError, match="never back"):
            connection.execute(
                "UPDATE deployments SET status = ? WHERE id = ?", (back_to, first.id)
            )
        after = connection.execute(
            "SELECT status FROM deployments WHERE id = ?", (first.id,)
        ).fetchone()[0]
    assert after == before


async def test_deployed_row_may_be_retired_by_raw_sql(
    sqlite_store: SqliteStore, db_path: Path
) -> None:
    created = await record(sqlite_store, V1)
    with raw(db_path) as connection:
        connection.execute(
            "UPDATE deployments SET status = 'decommissioned' WHERE id = ?", (created.id,)
        )
    history = await sqlite_store.list_deployments(DeploymentQuery(history=True))
    assert [r.status for r in history.records] == [Status.DECOMMISSIONED]


async def test_data_survives_reopening(db_path: Path) -> None:
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    store = await SqliteStore.open(db_path)
    try:
        tracker = Tracker(store, clock=lambda: moment)
        await tracker.create_environment("k8s-east", description="east")
        await tracker.record(RecordRequest(key=KEY, artifact=V1, platform=Platform()))
        result = await tracker.record(RecordRequest(key=KEY, artifact=V2, platform=None))
        assert result.outcome is Outcome.SUPERSEDED
        before = await store.list_deployments(DeploymentQuery(history=True))
    finally:
        await store.close()

    reopened = await SqliteStore.open(db_path)
    try:
        after = await reopened.list_deployments(DeploymentQuery(history=True))
        environment = await reopened.get_environment("k8s-east")
    finally:
        await reopened.close()
    assert after == before
    assert [(r.artifact, r.status) for r in after.records] == [
        (V2, Status.DEPLOYED),
        (V1, Status.SUPERSEDED),
    ]
    assert after.records[0].created_at == moment
    assert environment is not None
    assert (environment.description, environment.created_at) == ("east", moment)


async def test_closed_store_refuses_work(db_path: Path) -> None:
    store = await SqliteStore.open(db_path)
    await store.close()
    await store.close()
    with pytest.raises(StoreError, match="the store is closed"):
        await store.list_environments()
