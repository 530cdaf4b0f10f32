"""PostgreSQL-specific: what the database itself holds, and how failures reach callers.

Raw ``asyncpg`` connections bypass imagegate to show that the schema (partial
unique index, triggers, checks) refuses what the code never does; the last tests
show the races the store retries and the failures it reports as unavailability.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from imagegate.facts import ScanReport
from imagegate.store import PostgresStore, StoreUrlError
from imagegate.store._open import parse_postgres_url
from imagegate.store._postgres_schema import MIGRATIONS
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
    StoreUnavailableError,
    Tracker,
)
from support.postgres import fresh_store_url
from support.processes import free_port

KEY = DeploymentKey(
    environment="deployed",
    logical_environment="production",
    deployment_name="api",
    kind=Kind.CONTAINER_IMAGE,
)
V1 = Artifact(repository="docker.io/acme/api", digest="sha256:" + "1" * 64, tag="v1")
V2 = Artifact(repository="docker.io/acme/api", digest="sha256:" + "2" * 64, tag="v2")
STAMP = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def url() -> str:
    return await fresh_store_url()


@pytest.fixture
async def store(url: str) -> AsyncIterator[PostgresStore]:
    opened = await PostgresStore.open(url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def raw(url: str) -> AsyncIterator[Any]:
    """A plain asyncpg connection in autocommit mode, bypassing imagegate."""
    connection = await asyncpg.connect(url)
    try:
        yield connection
    finally:
        await connection.close()


async def record(store: PostgresStore, artifact: Artifact | None) -> DeploymentRecord:
    status = Status.DEPLOYED if artifact else Status.DECOMMISSIONED
    result = await Tracker(store).record(
        RecordRequest(key=KEY, artifact=artifact, platform=Platform(), status=status)
    )
    assert result.record is not None
    return result.record


async def insert_raw(connection: Any, digest: str, status: str) -> int:
    record_id: int = await connection.fetchval(
        "INSERT INTO deployments (environment, logical_environment, deployment_name, kind, "
        "repository, digest, status, created_at, updated_at, last_seen_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8) RETURNING id",
        KEY.environment,
        KEY.logical_environment,
        KEY.deployment_name,
        KEY.kind.value,
        V1.repository,
        digest,
        status,
        STAMP,
    )
    return record_id


async def test_reopening_migrates_once(url: str, raw: Any) -> None:
    stores = [await PostgresStore.open(url) for _ in range(3)]
    try:
        assert [await s.schema_version() for s in stores] == [len(MIGRATIONS)] * 3
    finally:
        for s in stores:
            await s.close()
    versions = await raw.fetch("SELECT version FROM schema_migrations ORDER BY version")
    assert [row[0] for row in versions] == list(range(1, len(MIGRATIONS) + 1))
    assert await raw.fetchval("SELECT count(*) FROM environments") == 1
    assert await raw.fetchval("SELECT count(*) FROM logical_environments") == 3


async def test_a_newer_schema_is_refused(url: str, raw: Any) -> None:
    await (await PostgresStore.open(url)).close()
    await raw.execute("INSERT INTO schema_migrations (version) VALUES ($1)", len(MIGRATIONS) + 1)
    with pytest.raises(StoreError, match="newer than this imagegate knows"):
        await PostgresStore.open(url)


async def test_index_admits_one_deployed_row_per_key(store: PostgresStore, raw: Any) -> None:
    await record(store, V1)
    with pytest.raises(asyncpg.UniqueViolationError, match="deployments_one_deployed_per_key"):
        await insert_raw(raw, V2.digest, "deployed")
    # The index is partial: history rows under the same key are welcome.
    await insert_raw(raw, V2.digest, "superseded")
    assert await raw.fetchval("SELECT count(*) FROM deployments WHERE status = 'deployed'") == 1
    assert await raw.fetchval("SELECT count(*) FROM deployments") == 2


async def test_unknown_kind_and_status_are_refused(raw: Any, store: PostgresStore) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await insert_raw(raw, V1.digest, "retired")
    with pytest.raises(asyncpg.CheckViolationError):
        await raw.execute(
            "INSERT INTO deployments (environment, logical_environment, deployment_name, kind, "
            "repository, digest, status, created_at, updated_at, last_seen_at) "
            "VALUES ('deployed', 'production', 'x', 'VM_IMAGE', 'r', 'd', 'deployed', "
            "now(), now(), now())"
        )


async def test_rows_are_never_deleted(store: PostgresStore, raw: Any) -> None:
    created = await record(store, V1)
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="never deleted"):
        await raw.execute("DELETE FROM deployments WHERE id = $1", created.id)
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="never deleted"):
        await raw.execute("DELETE FROM deployments")
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="never deleted"):
        await raw.execute("TRUNCATE deployments CASCADE")
    assert await raw.fetchval("SELECT count(*) FROM deployments") == 1


@pytest.mark.parametrize(
    ("column", "value"),
    [
        pytest.param("digest", "sha256:" + "f" * 64, id="digest"),
        pytest.param("repository", "docker.io/acme/other", id="repository"),
        pytest.param("tag", "v9", id="tag"),
        pytest.param("environment", "deployed", id="environment-even-unchanged"),
        pytest.param("created_at", STAMP, id="created_at"),
    ],
)
async def test_identity_of_a_row_never_changes(
    store: PostgresStore, raw: Any, column: str, value: object
) -> None:
    created = await record(store, V1)
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="identity"):
        await raw.execute(f"UPDATE deployments SET {column} = $1 WHERE id = $2", value, created.id)
    [listed] = (await store.list_deployments(DeploymentQuery())).records
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
    store: PostgresStore, raw: Any, retire_with: Artifact | None, back_to: str
) -> None:
    first = await record(store, V1)
    await record(store, retire_with)
    before = await raw.fetchval("SELECT status FROM deployments WHERE id = $1", first.id)
    assert before in {"superseded", "decommissioned"}
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="never back"):
        await raw.execute("UPDATE deployments SET status = $1 WHERE id = $2", back_to, first.id)
    assert await raw.fetchval("SELECT status FROM deployments WHERE id = $1", first.id) == before


async def test_scan_reports_are_never_rewritten(store: PostgresStore, raw: Any) -> None:
    digest = "sha256:" + "a" * 64
    await store.add_scan(
        ScanReport(digest=digest, scanner="grype", scanned_at=STAMP, vulnerabilities=()), now=STAMP
    )
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="never changed"):
        await raw.execute("UPDATE scan_reports SET scanner = 'forged'")
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="never deleted"):
        await raw.execute("DELETE FROM scan_reports")
    # Retirements refer to scans: both are truncated at once, or not at all.
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="never deleted"):
        await raw.execute("TRUNCATE scan_reports, scan_retirements")
    with pytest.raises(asyncpg.FeatureNotSupportedError, match="foreign key"):
        await raw.execute("TRUNCATE scan_reports")
    assert await raw.fetchval("SELECT count(*) FROM scan_reports") == 1


async def test_scan_retirements_are_never_rewritten(store: PostgresStore, raw: Any) -> None:
    digest = "sha256:" + "b" * 64
    await store.add_scan(
        ScanReport(digest=digest, scanner="grype", scanned_at=STAMP, vulnerabilities=()), now=STAMP
    )
    [stored] = await store.scans(digest)
    await store.retire_scan(digest, stored.id, reason="broken scanner run", now=STAMP)
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="never changed"):
        await raw.execute("UPDATE scan_retirements SET reason = 'forged'")
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="never deleted"):
        await raw.execute("DELETE FROM scan_retirements")
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="never deleted"):
        await raw.execute("TRUNCATE scan_retirements")
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await raw.execute(
            "INSERT INTO scan_retirements (scan_id, retired_at, reason) VALUES (-1, now(), 'x')"
        )
    other = "sha256:" + "c" * 64
    await store.add_scan(
        ScanReport(digest=other, scanner="grype", scanned_at=STAMP, vulnerabilities=()), now=STAMP
    )
    [unretired] = await store.scans(other)
    with pytest.raises(asyncpg.CheckViolationError):
        await raw.execute(
            "INSERT INTO scan_retirements (scan_id, retired_at, reason) VALUES ($1, now(), '')",
            unretired.id,
        )
    assert await raw.fetchval("SELECT count(*) FROM scan_retirements") == 1


async def test_listing_active_records_uses_the_partial_indexes(
    store: PostgresStore, raw: Any
) -> None:
    await record(store, V1)
    await raw.execute("SET enable_seqscan = off")
    plan = await raw.fetchval(
        "EXPLAIN SELECT deployment_name FROM deployments WHERE environment = 'deployed' "
        "AND logical_environment = 'production' AND kind = 'CONTAINER_IMAGE' "
        "AND repository = 'docker.io/acme/api' AND status = 'deployed'"
    )
    assert "deployments_deployed_by_repository" in plan


# --- races the store retries, failures it reports -------------------------------------


async def test_an_insert_race_lost_to_the_unique_index_is_retried(
    store: PostgresStore, raw: Any
) -> None:
    """A writer that bypasses the key lock inserts first; the store's insert waits on the
    index, fails with a unique violation when that commits, and the retry supersedes."""
    transaction = raw.transaction()
    await transaction.start()
    competitor = await insert_raw(raw, V1.digest, "deployed")
    recording = asyncio.create_task(record(store, V2))
    await asyncio.sleep(0.3)  # the store's INSERT is now waiting on the uncommitted row
    assert not recording.done()
    await transaction.commit()
    created = await recording
    history = (await store.list_deployments(DeploymentQuery(history=True))).records
    assert [(r.id, r.status, r.superseded_by) for r in history] == [
        (created.id, Status.DEPLOYED, None),
        (competitor, Status.SUPERSEDED, created.id),
    ]


async def test_a_lock_held_past_the_statement_timeout_is_unavailability(url: str, raw: Any) -> None:
    impatient = await PostgresStore.open(url, statement_timeout_ms=200)
    try:
        first = await record(impatient, V1)
        transaction = raw.transaction()
        await transaction.start()
        await raw.execute("SELECT * FROM deployments WHERE id = $1 FOR UPDATE", first.id)
        with pytest.raises(StoreUnavailableError, match="statement timeout"):
            await record(impatient, V2)
        await transaction.rollback()
        again = await Tracker(impatient).record(
            RecordRequest(key=KEY, artifact=V2, platform=Platform())
        )
        assert again.outcome is Outcome.SUPERSEDED
    finally:
        await impatient.close()


async def test_no_server_is_unavailability() -> None:
    nowhere = f"postgresql://imagegate:secret@127.0.0.1:{free_port()}/imagegate"
    with pytest.raises(StoreUnavailableError, match="cannot connect") as caught:
        await PostgresStore.open(nowhere, connect_timeout_s=2)
    assert "secret" not in str(caught.value)


async def test_a_server_gone_away_is_unavailability(store: PostgresStore, raw: Any) -> None:
    await record(store, V1)
    await raw.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = 'imagegate' AND pid <> pg_backend_pid()"
    )
    # The pool notices dead connections and opens new ones: no error reaches the caller
    # once the server is back, only while it is not.
    for _ in range(3):
        try:
            await store.list_environments()
        except StoreUnavailableError:
            continue
        break
    assert [e.name for e in await store.list_environments()] == ["deployed"]


async def test_closed_store_refuses_work(url: str) -> None:
    opened = await PostgresStore.open(url)
    await opened.close()
    await opened.close()
    with pytest.raises(StoreError, match="the store is closed"):
        await opened.list_environments()


# --- URLs ----------------------------------------------------------------------------


def test_url_options_are_imagegates_and_the_rest_libpqs() -> None:
    location = parse_postgres_url(
        "postgresql://ig:pw@db:5433/imagegate?sslmode=require&max_size=20"
        "&statement_timeout_ms=1500&min_size=2&target_session_attrs=read-write"
    )
    assert (location.min_size, location.max_size, location.statement_timeout_ms) == (2, 20, 1500)
    assert location.dsn == (
        "postgresql://ig:pw@db:5433/imagegate?sslmode=require&target_session_attrs=read-write"
    )
    assert parse_postgres_url("postgres://db/imagegate").dsn == "postgres://db/imagegate"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param("postgresql://db/x?max_size=lots", "max_size must be a whole number"),
        pytest.param("postgresql://db/x?min_size=5&max_size=2", "min_size <= max_size"),
        pytest.param("postgresql://db/x#frag", "fragment"),
    ],
)
def test_bad_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(StoreUrlError, match=message):
        parse_postgres_url(url)


def test_passwords_stay_out_of_url_errors() -> None:
    with pytest.raises(StoreUrlError) as caught:
        parse_postgres_url("postgresql://ig:hunter2@db/x?max_size=x")
    assert "hunter2" not in str(caught.value)
