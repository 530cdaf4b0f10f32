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
import random
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg  # type: ignore[import-untyped]

from imagegate.errors import RefusedError
from imagegate.store._base import SqlStore
from imagegate.store._postgres_schema import MIGRATIONS, SCHEMA_MIGRATIONS_TABLE
from imagegate.store._sql import Dialect, Fetch, Query, Steps, numbered
from imagegate.tracking import (
    DeploymentKey,
    StoreError,
    StoreUnavailableError,
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


def _key_lock(key: DeploymentKey) -> int:
    """A 32-bit lock id of ``key``; a collision only makes two keys queue together."""
    text = "\0".join(
        (key.environment, key.logical_environment, key.deployment_name, key.kind.value)
    )
    digest = hashlib.blake2b(text.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def _key_locks(keys: Sequence[DeploymentKey]) -> list[Query]:
    # Always in one order, so that two batches touching the same keys cannot deadlock.
    return [
        Query("SELECT pg_advisory_xact_lock(?, ?)", (_KEY_LOCK_NAMESPACE, lock))
        for lock in sorted({_key_lock(key) for key in keys})
    ]


def _identity(moment: datetime) -> datetime:
    # timestamptz both ways; the pool's sessions run in UTC.
    return moment


POSTGRES = Dialect(
    name="postgresql",
    greatest="GREATEST",
    for_update=" FOR UPDATE",
    deployed_by_repository="",
    time=_identity,
    read_time=_identity,
    key_locks=_key_locks,
)


class PostgresStore(SqlStore):
    """``Store``, ``ApiKeyStore`` and ``EvidenceStore`` on a PostgreSQL database."""

    dialect = POSTGRES

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

        async with self._connection() as connection:
            version = await connection.fetchval("SELECT max(version) FROM schema_migrations")
        return int(version or 0)

    # --- plumbing ---------------------------------------------------------------

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        if self._closed:
            raise StoreError("the store is closed")
        try:
            async with self._pool.acquire(timeout=self._acquire_timeout_s) as connection:
                yield connection
        except (RefusedError, StoreError):
            raise
        except _UNAVAILABLE as error:
            raise StoreUnavailableError(
                f"PostgreSQL store {self._where} unavailable: {error}"
            ) from error
        except asyncpg.PostgresError as error:
            raise StoreError(f"PostgreSQL store {self._where} failed: {error}") from error

    async def _read(self, steps: Steps[T]) -> T:
        async with self._connection() as connection:
            return await _drive(connection, steps)

    async def _write(self, steps: Callable[[], Steps[T]]) -> T:
        """Run new ``steps`` in a transaction, again if it lost a race."""
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                async with self._connection() as connection, connection.transaction():
                    return await _drive(connection, steps())
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
        async with self._connection() as connection, connection.transaction():
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


def _describe(url: str) -> str:
    """``host:port/database`` of ``url`` (several hosts, maybe), never its password."""
    parts = urlsplit(url)
    hosts = parts.netloc.rpartition("@")[2] or "localhost"
    return repr(f"{hosts}{parts.path}")


async def _drive(connection: Connection, steps: Steps[T]) -> T:
    """Run the statements ``steps`` yield, sending each its answer; their result."""
    answer: Any = None
    try:
        while True:
            answer = await _execute(connection, steps.send(answer))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


async def _execute(connection: Connection, query: Query) -> Any:
    sql = numbered(query.sql)
    if query.fetch is Fetch.ONE:
        return await connection.fetchrow(sql, *query.params)
    if query.fetch is Fetch.ALL:
        return await connection.fetch(sql, *query.params)
    await connection.execute(sql, *query.params)
    return None
