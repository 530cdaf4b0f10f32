"""PostgreSQL store for several replicas writing at once.

Transactions run at READ COMMITTED. A recording first takes a transaction-scoped
advisory lock on its key, then reads the deployed record ``FOR UPDATE``, decides
with ``plan_recording`` and writes: writers of one key queue behind each other,
each reading what the one before committed, including when no record exists yet
(a row lock alone cannot lock a row that is not there). The partial unique index
stays the arbiter: should two transactions ever both insert a deployed record for
one key, the second fails with a unique violation and the whole transaction is
retried, which is safe because a recording is idempotent. Deadlocks and
serialization failures are retried the same way; nothing else is.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import asyncpg  # type: ignore[import-untyped]

from imagegate.auth import ApiKey, Scope
from imagegate.facts import (
    CLOCK_SKEW,
    Evidence,
    Provenance,
    ScanNotFoundError,
    ScanReport,
    ScanRetiredError,
    ScanRetirement,
    StoredScan,
    decode_vulnerabilities,
    encode_vulnerabilities,
    ranked_scans,
)
from imagegate.store._postgres_schema import MIGRATIONS, SCHEMA_MIGRATIONS_TABLE
from imagegate.tracking import (
    Artifact,
    DeploymentKey,
    DeploymentPage,
    DeploymentQuery,
    DeploymentRecord,
    Environment,
    EnvironmentExistsError,
    Kind,
    LogicalEnvironment,
    Origin,
    Platform,
    QueuedRequest,
    QueuedResult,
    RecordRequest,
    RecordResult,
    Status,
    StoreError,
    StoreUnavailableError,
    TrackingError,
    UnknownEnvironmentError,
    plan_recording,
)

T = TypeVar("T")

DEFAULT_MIN_SIZE = 1
"""Connections the pool keeps open when idle."""
DEFAULT_MAX_SIZE = 10
"""Connections the pool opens at most; more callers wait for a free one."""
DEFAULT_STATEMENT_TIMEOUT_MS = 5000
"""The server cancels a statement that runs (or waits for a lock) longer than this."""
DEFAULT_CONNECT_TIMEOUT_S = 5.0
"""How long opening a connection may take."""

MIGRATION_TIMEOUT_S = 600.0
"""How long start-up waits for another replica's migration, or takes for its own."""

WRITE_ATTEMPTS = 8
"""Tries of one write transaction that lost a race (unique violation, deadlock)."""

# Advisory lock namespaces (the first of the two int4 keys).
_MIGRATION_LOCK = (0x1A6E, 1)
_KEY_LOCK_NAMESPACE = 0x1A6F

_RECORD_COLUMNS = (
    "id, environment, logical_environment, deployment_name, kind, repository, digest, tag, "
    "platform_os, platform_architecture, platform_variant, status, created_at, updated_at, "
    "last_seen_at, superseded_by, origin, ended_by"
)

# Losing a race: the transaction changed nothing and may run again.
_RETRIABLE = (
    asyncpg.UniqueViolationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)
# The server cannot be reached, is going away, or did not answer in time.
_UNAVAILABLE = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    # What a connection the server ended under our feet may raise on its next use.
    asyncpg.exceptions.InternalClientError,
    asyncpg.QueryCanceledError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.InsufficientResourcesError,
    asyncpg.ReadOnlySQLTransactionError,
    asyncpg.LockNotAvailableError,
    OSError,
    TimeoutError,
)

Connection = Any
"""An ``asyncpg.Connection`` (asyncpg ships no type information)."""


class PostgresStore:
    """``Store``, ``ApiKeyStore`` and ``EvidenceStore`` on a PostgreSQL database."""

    def __init__(self, pool: Any, *, where: str, acquire_timeout_s: float) -> None:
        self._pool = pool
        self._where = where
        self._acquire_timeout_s = acquire_timeout_s
        self._closed = False

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        min_size: int = DEFAULT_MIN_SIZE,
        max_size: int = DEFAULT_MAX_SIZE,
        statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
    ) -> PostgresStore:
        """Connect a pool to the database at ``url`` (a libpq URL) and migrate it."""
        where = _describe(url)
        timeout_s = statement_timeout_ms / 1000
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=min_size,
                max_size=max_size,
                timeout=connect_timeout_s,
                # A client-side bound as well, for a server that stops answering at all.
                command_timeout=timeout_s + connect_timeout_s if statement_timeout_ms else None,
                server_settings={
                    "statement_timeout": str(statement_timeout_ms),
                    "idle_in_transaction_session_timeout": str(max(statement_timeout_ms, 60_000)),
                    "TimeZone": "UTC",
                    "application_name": "imagegate",
                },
            )
        except _UNAVAILABLE as error:
            raise StoreUnavailableError(
                f"cannot connect to PostgreSQL store {where}: {error}"
            ) from error
        except asyncpg.PostgresError as error:
            raise StoreUnavailableError(f"cannot open PostgreSQL store {where}: {error}") from error
        store = cls(pool, where=where, acquire_timeout_s=timeout_s + connect_timeout_s)
        try:
            await store._migrate()
        except BaseException:
            await store.close()
            raise
        return store

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.wait_for(self._pool.close(), timeout=10)
        except (TimeoutError, *_UNAVAILABLE):
            self._pool.terminate()

    async def schema_version(self) -> int:
        """The highest migration applied to the database."""

        async def read(connection: Connection) -> int:
            version = await connection.fetchval("SELECT max(version) FROM schema_migrations")
            return int(version or 0)

        return await self._read(read)

    # --- tracking.Store ---------------------------------------------------------

    async def record(
        self, request: RecordRequest, *, now: datetime, create_environment: bool
    ) -> RecordResult:
        return await self._write(lambda c: _apply(c, request, now, create_environment))

    async def record_queued(
        self,
        source: str,
        items: Sequence[QueuedRequest],
        *,
        now: datetime,
        create_environment: bool,
    ) -> list[QueuedResult]:
        return await self._write(
            lambda c: _record_queued(c, source, items, now, create_environment)
        )

    async def queue_position(self, source: str) -> int:
        async def read(connection: Connection) -> int:
            return await _queue_position(connection, source, lock=False)

        return await self._read(read)

    async def list_deployments(self, query: DeploymentQuery) -> DeploymentPage:
        return await self._read(lambda c: _list_deployments(c, query))

    async def active_deployment_names(
        self, *, environment: str, logical_environment: str, kind: Kind, repository: str
    ) -> list[str]:
        async def read(connection: Connection) -> list[str]:
            rows = await connection.fetch(
                "SELECT deployment_name FROM deployments WHERE environment = $1 "
                "AND logical_environment = $2 AND kind = $3 AND repository = $4 "
                "AND status = 'deployed' ORDER BY deployment_name",
                environment,
                logical_environment,
                kind.value,
                repository,
            )
            return [cast(str, row[0]) for row in rows]

        return await self._read(read)

    async def create_environment(
        self, name: str, *, description: str, now: datetime
    ) -> Environment:
        async def create(connection: Connection) -> Environment:
            try:
                await connection.execute(
                    "INSERT INTO environments (name, description, created_at) VALUES ($1, $2, $3)",
                    name,
                    description,
                    now,
                )
            except asyncpg.UniqueViolationError as error:
                raise EnvironmentExistsError(name) from error
            return Environment(name=name, description=description, created_at=now)

        # Not retried: a unique violation here is the answer, not a lost race.
        return await self._transaction(create)

    async def get_environment(self, name: str) -> Environment | None:
        async def read(connection: Connection) -> Environment | None:
            row = await connection.fetchrow(
                "SELECT name, description, created_at FROM environments WHERE name = $1", name
            )
            return _environment(row) if row else None

        return await self._read(read)

    async def list_environments(self) -> list[Environment]:
        async def read(connection: Connection) -> list[Environment]:
            rows = await connection.fetch(
                "SELECT name, description, created_at FROM environments ORDER BY name"
            )
            return [_environment(row) for row in rows]

        return await self._read(read)

    async def list_logical_environments(self) -> list[LogicalEnvironment]:
        async def read(connection: Connection) -> list[LogicalEnvironment]:
            rows = await connection.fetch(
                "SELECT name, created_at FROM logical_environments ORDER BY name"
            )
            return [LogicalEnvironment(name=row[0], created_at=row[1]) for row in rows]

        return await self._read(read)

    # --- auth.ApiKeyStore -------------------------------------------------------

    async def add_api_key(self, key: ApiKey) -> None:
        async def add(connection: Connection) -> None:
            await connection.execute(
                "INSERT INTO api_keys (key_id, name, secret_hash, scopes, created_at) "
                "VALUES ($1, $2, $3, $4, $5)",
                key.key_id,
                key.name,
                key.secret_hash,
                " ".join(sorted(key.scopes)),
                key.created_at,
            )

        await self._transaction(add)

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        async def read(connection: Connection) -> ApiKey | None:
            row = await connection.fetchrow(
                "SELECT key_id, name, secret_hash, scopes, created_at, revoked_at "
                "FROM api_keys WHERE key_id = $1",
                key_id,
            )
            return _api_key(row) if row else None

        return await self._read(read)

    async def list_api_keys(self) -> list[ApiKey]:
        async def read(connection: Connection) -> list[ApiKey]:
            rows = await connection.fetch(
                "SELECT key_id, name, secret_hash, scopes, created_at, revoked_at "
                "FROM api_keys ORDER BY created_at, key_id"
            )
            return [_api_key(row) for row in rows]

        return await self._read(read)

    async def revoke_api_key(self, key_id: str, *, now: datetime) -> bool:
        async def revoke(connection: Connection) -> bool:
            revoked = await connection.fetchval(
                "UPDATE api_keys SET revoked_at = $1 WHERE key_id = $2 AND revoked_at IS NULL "
                "RETURNING key_id",
                now,
                key_id,
            )
            return revoked is not None

        return await self._transaction(revoke)

    # --- facts.EvidenceStore ----------------------------------------------------

    async def add_scan(self, report: ScanReport, *, now: datetime) -> None:
        blob = encode_vulnerabilities(report.vulnerabilities)

        async def add(connection: Connection) -> None:
            await connection.execute(
                "INSERT INTO scan_reports (digest, scanner, scanned_at, received_at, "
                "vulnerabilities) VALUES ($1, $2, $3, $4, $5)",
                report.digest,
                report.scanner,
                report.scanned_at,
                now,
                blob,
            )

        await self._transaction(add)

    async def latest_scan(self, digest: str) -> ScanReport | None:
        return await self._read(lambda c: _latest_scan(c, digest))

    async def scans(self, digest: str) -> list[StoredScan]:
        async def read(connection: Connection) -> list[StoredScan]:
            return ranked_scans(await _stored_scans(connection, digest))

        return await self._read(read)

    async def retire_scan(
        self, digest: str, scan_id: int, *, reason: str, now: datetime
    ) -> StoredScan:
        async def retire(connection: Connection) -> StoredScan:
            found = await _stored_scans(connection, digest, scan_id=scan_id)
            if not found:
                raise ScanNotFoundError(digest, scan_id)
            stored = found[0]
            # Of two retirements at once, the second waits for the first's commit and then
            # inserts nothing; the retirement it reads next (a new statement, a new
            # snapshot) is the first's.
            inserted = await connection.fetchval(
                "INSERT INTO scan_retirements (scan_id, retired_at, reason) VALUES ($1, $2, $3) "
                "ON CONFLICT (scan_id) DO NOTHING RETURNING scan_id",
                scan_id,
                now,
                reason,
            )
            if inserted is None:
                earlier = await connection.fetchrow(
                    "SELECT retired_at, reason FROM scan_retirements WHERE scan_id = $1", scan_id
                )
                raise ScanRetiredError(
                    digest,
                    scan_id,
                    ScanRetirement(retired_at=earlier["retired_at"], reason=earlier["reason"]),
                )
            return StoredScan(
                id=stored.id,
                report=stored.report,
                received_at=stored.received_at,
                retirement=ScanRetirement(retired_at=now, reason=reason),
            )

        return await self._transaction(retire)

    async def set_provenance(
        self,
        digest: str,
        provenance: Provenance,
        labels: Mapping[str, str],
        *,
        now: datetime,
    ) -> None:
        encoded = json.dumps(dict(sorted(labels.items())))

        async def upsert(connection: Connection) -> None:
            await connection.execute(
                "INSERT INTO provenance_evidence (digest, builder_id, source_repository, "
                '"commit", labels, updated_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6) '
                "ON CONFLICT (digest) DO UPDATE SET builder_id = excluded.builder_id, "
                "source_repository = excluded.source_repository, "
                '"commit" = excluded."commit", labels = excluded.labels, '
                "updated_at = excluded.updated_at",
                digest,
                provenance.builder_id,
                provenance.source_repository,
                provenance.commit,
                encoded,
                now,
            )

        # An upsert of one row: concurrent posts of one digest wait on the row, no race.
        await self._transaction(upsert)

    async def evidence(self, digest: str) -> Evidence:
        return await self._read(lambda c: _evidence(c, digest))

    # --- plumbing ---------------------------------------------------------------

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        if self._closed:
            raise StoreError("the store is closed")
        try:
            async with self._pool.acquire(timeout=self._acquire_timeout_s) as connection:
                yield connection
        except (TrackingError, StoreError):
            raise
        except _UNAVAILABLE as error:
            raise StoreUnavailableError(
                f"PostgreSQL store {self._where} unavailable: {error}"
            ) from error
        except asyncpg.PostgresError as error:
            raise StoreError(f"PostgreSQL store {self._where} failed: {error}") from error

    async def _read(self, operation: Callable[[Connection], Awaitable[T]]) -> T:
        async with self._connection() as connection:
            return await operation(connection)

    async def _transaction(self, operation: Callable[[Connection], Awaitable[T]]) -> T:
        async with self._connection() as connection, connection.transaction():
            return await operation(connection)

    async def _write(self, operation: Callable[[Connection], Awaitable[T]]) -> T:
        """Run ``operation`` in a transaction, again if it lost a race."""
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                async with self._connection() as connection, connection.transaction():
                    return await operation(connection)
            except StoreError as error:
                cause = error.__cause__
                if not isinstance(cause, _RETRIABLE):
                    raise
                if attempt == WRITE_ATTEMPTS:
                    if isinstance(cause, asyncpg.UniqueViolationError):
                        raise StoreError(
                            f"PostgreSQL store {self._where}: still conflicting after "
                            f"{WRITE_ATTEMPTS} attempts: {cause}"
                        ) from cause
                    raise StoreUnavailableError(
                        f"PostgreSQL store {self._where}: still conflicting after "
                        f"{WRITE_ATTEMPTS} attempts: {cause}"
                    ) from cause
            # Jitter, so that the losers of one race do not meet again at once.
            await asyncio.sleep(random.uniform(0, 0.005 * attempt))  # noqa: S311
        raise AssertionError("unreachable")

    async def _migrate(self) -> None:
        async def migrate(connection: Connection) -> None:
            # Waiting for another replica's migration, or migrating a large table, may take
            # longer than a statement may; not forever, though.
            bound = f"{int(MIGRATION_TIMEOUT_S)}s"
            await connection.execute(f"SET LOCAL statement_timeout = '{bound}'")
            await connection.execute(f"SET LOCAL lock_timeout = '{bound}'")
            await connection.execute(
                "SELECT pg_advisory_xact_lock($1, $2)",
                *_MIGRATION_LOCK,
                timeout=MIGRATION_TIMEOUT_S,
            )
            await connection.execute(SCHEMA_MIGRATIONS_TABLE)
            applied = await connection.fetchval(
                "SELECT coalesce(max(version), 0) FROM schema_migrations"
            )
            if applied > len(MIGRATIONS):
                raise StoreError(
                    f"PostgreSQL store {self._where} is at schema version {applied}, newer "
                    f"than this imagegate knows ({len(MIGRATIONS)}); upgrade imagegate"
                )
            for version, script in enumerate(MIGRATIONS, start=1):
                if version <= applied:
                    continue
                await connection.execute(script, timeout=MIGRATION_TIMEOUT_S)
                await connection.execute(
                    "INSERT INTO schema_migrations (version) VALUES ($1)", version
                )

        await self._transaction(migrate)


def _describe(url: str) -> str:
    """``host:port/database`` of ``url`` (several hosts, maybe), never its password."""
    parts = urlsplit(url)
    hosts = parts.netloc.rpartition("@")[2] or "localhost"
    return repr(f"{hosts}{parts.path}")


def _key_lock(key: DeploymentKey) -> int:
    """A 32-bit lock id of ``key``; a collision only makes two keys queue together."""
    text = "\0".join(
        (key.environment, key.logical_environment, key.deployment_name, key.kind.value)
    )
    digest = hashlib.blake2b(text.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


async def _lock_keys(connection: Connection, keys: Sequence[DeploymentKey]) -> None:
    # Always in one order, so that two batches touching the same keys cannot deadlock.
    for lock in sorted({_key_lock(key) for key in keys}):
        await connection.execute("SELECT pg_advisory_xact_lock($1, $2)", _KEY_LOCK_NAMESPACE, lock)


async def _record_queued(
    connection: Connection,
    source: str,
    items: Sequence[QueuedRequest],
    now: datetime,
    create_environment: bool,
) -> list[QueuedResult]:
    if not items:
        return []
    # The position row, locked first: batches of one source run one after the other.
    await connection.execute(
        "INSERT INTO queue_positions (source, last_sequence, updated_at) VALUES ($1, 0, $2) "
        "ON CONFLICT (source) DO NOTHING",
        source,
        now,
    )
    applied_up_to = await _queue_position(connection, source, lock=True)
    pending = [item for item in items if item.sequence > applied_up_to]
    await _lock_keys(connection, [item.request.key for item in pending])
    results: list[QueuedResult] = []
    for item in items:
        if item.sequence <= applied_up_to:
            results.append(QueuedResult(sequence=item.sequence, already_applied=True))
            continue
        try:
            # A savepoint per request: a refused one leaves no trace, the others go on.
            async with connection.transaction():
                result = await _apply(connection, item.request, now, create_environment)
        except TrackingError as error:
            results.append(QueuedResult(sequence=item.sequence, error=error))
        else:
            results.append(QueuedResult(sequence=item.sequence, result=result))
    last = max((item.sequence for item in items), default=applied_up_to)
    if last > applied_up_to:
        await connection.execute(
            "UPDATE queue_positions SET last_sequence = $2, updated_at = $3 WHERE source = $1",
            source,
            last,
            now,
        )
    return results


async def _queue_position(connection: Connection, source: str, *, lock: bool) -> int:
    suffix = " FOR UPDATE" if lock else ""
    value = await connection.fetchval(
        f"SELECT last_sequence FROM queue_positions WHERE source = $1{suffix}", source
    )
    return int(value or 0)


async def _apply(
    connection: Connection,
    request: RecordRequest,
    now: datetime,
    create_environment: bool,
) -> RecordResult:
    """Apply one request inside the caller's transaction."""
    key = request.key
    stamp = request.observed_at or now
    # The key first, then the environments: every writer takes locks in this order.
    await _lock_keys(connection, [key])
    await _ensure_environments(connection, key, stamp, create_environment)
    row = await connection.fetchrow(
        f"SELECT {_RECORD_COLUMNS} FROM deployments WHERE environment = $1 "
        "AND logical_environment = $2 AND deployment_name = $3 AND kind = $4 "
        "AND status = 'deployed' FOR UPDATE",
        key.environment,
        key.logical_environment,
        key.deployment_name,
        key.kind.value,
    )
    active = _record_from_row(row) if row else None
    plan = plan_recording(active=active, request=request)
    retired: DeploymentRecord | None = None
    # Retire before inserting: the unique index admits one deployed row at any time.
    if plan.retire_id is not None and plan.retire_status is not None:
        retired = await _fetch_one(
            connection,
            "UPDATE deployments SET status = $1, updated_at = $2, ended_by = $3 WHERE id = $4 "
            f"RETURNING {_RECORD_COLUMNS}",
            plan.retire_status.value,
            stamp,
            request.origin.value,
            plan.retire_id,
        )
    record: DeploymentRecord | None = retired
    superseded: DeploymentRecord | None = None
    if plan.insert:
        record = await _insert(connection, request, stamp)
        if plan.retire_id is not None:
            superseded = await _fetch_one(
                connection,
                f"UPDATE deployments SET superseded_by = $1 WHERE id = $2 "
                f"RETURNING {_RECORD_COLUMNS}",
                record.id,
                plan.retire_id,
            )
    if plan.refresh_id is not None:
        # GREATEST: a request replayed late must not move last_seen_at backwards.
        record = await _fetch_one(
            connection,
            "UPDATE deployments SET last_seen_at = GREATEST(last_seen_at, $1) WHERE id = $2 "
            f"RETURNING {_RECORD_COLUMNS}",
            stamp,
            plan.refresh_id,
        )
    return RecordResult(outcome=plan.outcome, record=record, superseded=superseded)


async def _ensure_environments(
    connection: Connection, key: DeploymentKey, stamp: datetime, create_environment: bool
) -> None:
    if create_environment:
        await connection.execute(
            "INSERT INTO environments (name, description, created_at) VALUES ($1, '', $2) "
            "ON CONFLICT (name) DO NOTHING",
            key.environment,
            stamp,
        )
    elif not await connection.fetchval(
        "SELECT true FROM environments WHERE name = $1", key.environment
    ):
        raise UnknownEnvironmentError(key.environment, field="environment")
    await connection.execute(
        "INSERT INTO logical_environments (name, created_at) VALUES ($1, $2) "
        "ON CONFLICT (name) DO NOTHING",
        key.logical_environment,
        stamp,
    )


async def _insert(
    connection: Connection, request: RecordRequest, stamp: datetime
) -> DeploymentRecord:
    artifact = request.artifact
    assert artifact is not None, "planned inserts carry an artifact"
    platform = request.platform
    return await _fetch_one(
        connection,
        "INSERT INTO deployments (environment, logical_environment, deployment_name, kind, "
        "repository, digest, tag, platform_os, platform_architecture, platform_variant, "
        "status, created_at, updated_at, last_seen_at, origin) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'deployed', $11, $11, $11, $12) "
        f"RETURNING {_RECORD_COLUMNS}",
        request.key.environment,
        request.key.logical_environment,
        request.key.deployment_name,
        request.key.kind.value,
        artifact.repository,
        artifact.digest,
        artifact.tag,
        platform.os if platform else None,
        platform.architecture if platform else None,
        platform.variant if platform else None,
        stamp,
        request.origin.value,
    )


async def _fetch_one(connection: Connection, sql: str, *params: object) -> DeploymentRecord:
    row = await connection.fetchrow(sql, *params)
    if row is None:
        raise StoreError("a deployment record vanished inside its transaction")
    return _record_from_row(row)


async def _list_deployments(connection: Connection, query: DeploymentQuery) -> DeploymentPage:
    clauses: list[str] = []
    params: list[object] = []
    filters: list[tuple[str, object | None]] = [
        ("environment", query.environment),
        ("logical_environment", query.logical_environment),
        ("deployment_name", query.deployment_name),
        ("kind", query.kind.value if query.kind else None),
        ("status", query.status.value if query.status else None),
    ]
    for column, value in filters:
        if value is not None:
            params.append(value)
            clauses.append(f"{column} = ${len(params)}")
    if not query.history and query.status is None:
        clauses.append("status = 'deployed'")
    if query.after_id is not None:
        params.append(query.after_id)
        clauses.append(f"id < ${len(params)}")
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    params.append(query.limit + 1)
    rows = await connection.fetch(
        f"SELECT {_RECORD_COLUMNS} FROM deployments {where} ORDER BY id DESC LIMIT ${len(params)}",
        *params,
    )
    records = tuple(_record_from_row(row) for row in rows[: query.limit])
    next_after_id = records[-1].id if len(rows) > query.limit else None
    return DeploymentPage(records=records, next_after_id=next_after_id)


def _record_from_row(row: Any) -> DeploymentRecord:
    platform = (
        Platform(
            os=row["platform_os"],
            architecture=row["platform_architecture"],
            variant=row["platform_variant"],
        )
        if row["platform_os"] is not None
        else None
    )
    return DeploymentRecord(
        id=row["id"],
        key=DeploymentKey(
            environment=row["environment"],
            logical_environment=row["logical_environment"],
            deployment_name=row["deployment_name"],
            kind=Kind(row["kind"]),
        ),
        artifact=Artifact(repository=row["repository"], digest=row["digest"], tag=row["tag"]),
        platform=platform,
        status=Status(row["status"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_seen_at=row["last_seen_at"],
        superseded_by=row["superseded_by"],
        origin=Origin(row["origin"]),
        ended_by=Origin(row["ended_by"]) if row["ended_by"] is not None else None,
    )


def _environment(row: Any) -> Environment:
    return Environment(name=row[0], description=row[1], created_at=row[2])


def _api_key(row: Any) -> ApiKey:
    return ApiKey(
        key_id=row["key_id"],
        name=row["name"],
        secret_hash=row["secret_hash"],
        scopes=frozenset(Scope(scope) for scope in row["scopes"].split()),
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


async def _latest_scan(connection: Connection, digest: str) -> ScanReport | None:
    row = await connection.fetchrow(
        # Newest by the scanner's time, but never later than its arrival (give or take the
        # clock skew allowed): a report's own clock alone cannot make it outrank scans
        # posted after it (as facts.scan_rank ranks them). Retired scans do not count.
        "SELECT scanner, scanned_at, vulnerabilities FROM scan_reports AS s WHERE digest = $1 "
        "AND NOT EXISTS (SELECT 1 FROM scan_retirements AS r WHERE r.scan_id = s.id) "
        "ORDER BY LEAST(scanned_at, received_at + $2::interval) DESC, id DESC LIMIT 1",
        digest,
        CLOCK_SKEW,
    )
    if row is None:
        return None
    return ScanReport(
        digest=digest,
        scanner=row["scanner"],
        scanned_at=row["scanned_at"],
        vulnerabilities=decode_vulnerabilities(bytes(row["vulnerabilities"])),
    )


async def _stored_scans(
    connection: Connection, digest: str, *, scan_id: int | None = None
) -> list[StoredScan]:
    """The scans of ``digest`` (only ``scan_id``, if given) with their retirements."""
    query = (
        "SELECT s.id, s.scanner, s.scanned_at, s.received_at, s.vulnerabilities, "
        "r.retired_at, r.reason FROM scan_reports AS s "
        "LEFT JOIN scan_retirements AS r ON r.scan_id = s.id WHERE s.digest = $1"
    )
    parameters: list[object] = [digest]
    if scan_id is not None:
        query += " AND s.id = $2"
        parameters.append(scan_id)
    rows = await connection.fetch(query, *parameters)
    return [
        StoredScan(
            id=row["id"],
            report=ScanReport(
                digest=digest,
                scanner=row["scanner"],
                scanned_at=row["scanned_at"],
                vulnerabilities=decode_vulnerabilities(bytes(row["vulnerabilities"])),
            ),
            received_at=row["received_at"],
            retirement=(
                ScanRetirement(retired_at=row["retired_at"], reason=row["reason"])
                if row["retired_at"] is not None
                else None
            ),
        )
        for row in rows
    ]


async def _evidence(connection: Connection, digest: str) -> Evidence:
    scan = await _latest_scan(connection, digest)
    row = await connection.fetchrow(
        'SELECT builder_id, source_repository, "commit", labels FROM provenance_evidence '
        "WHERE digest = $1",
        digest,
    )
    if row is None:
        return Evidence(scan=scan)
    return Evidence(
        scan=scan,
        provenance=Provenance(
            builder_id=row["builder_id"],
            source_repository=row["source_repository"],
            commit=row["commit"],
        ),
        labels=MappingProxyType(json.loads(row["labels"])),
    )
