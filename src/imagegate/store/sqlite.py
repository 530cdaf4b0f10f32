"""Embedded store on one SQLite file: the default, needing no other server.

One connection lives on one dedicated thread, so the event loop never blocks on
disk and SQLite never sees the connection from two threads. Every write runs in
``BEGIN IMMEDIATE``: it takes the file's write lock before reading the deployed
record, so writers in other processes sharing the file are serialised and the
read-decide-write of a recording is atomic. WAL lets readers go on meanwhile.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from imagegate._sqlite import write_transaction
from imagegate.store._base import SqlStore
from imagegate.store._sql import Dialect, Fetch, Query, Steps
from imagegate.store._sqlite_schema import MIGRATIONS
from imagegate.store._timestamps import format_timestamp, parse_timestamp
from imagegate.tracking import (
    StoreError,
    StoreMissingError,
    StoreUnavailableError,
    utc_now,
)

T = TypeVar("T")

DEFAULT_BUSY_TIMEOUT_S = 10.0
"""How long a write waits for another process holding the file's write lock."""

SQLITE = Dialect(
    name="sqlite",
    greatest="MAX",
    # BEGIN IMMEDIATE holds the whole file: no row locks to take, nor key locks.
    for_update="",
    # Without planner statistics SQLite prefers deployments_by_key, which reads a whole
    # environment's history (350 ms at 1M records instead of 0.1 ms).
    deployed_by_repository="INDEXED BY deployments_deployed_by_repository",
    time=format_timestamp,
    read_time=parse_timestamp,
)


class SqliteStore(SqlStore):
    """``Store``, ``ApiKeyStore`` and ``EvidenceStore`` on one SQLite file."""

    dialect = SQLITE

    def __init__(self, connection: sqlite3.Connection, executor: ThreadPoolExecutor) -> None:
        self._connection = connection
        self._executor = executor
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
        create: bool = True,
    ) -> SqliteStore:
        """Open the database at ``path`` (creating it and its directory, with ``create``)
        and migrate it; without ``create``, a missing file is a ``StoreMissingError``."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imagegate-sqlite")
        loop = asyncio.get_running_loop()
        try:
            connection = await loop.run_in_executor(
                executor, _connect, Path(path), busy_timeout_s, create
            )
        except BaseException:
            executor.shutdown(wait=False)
            raise
        store = cls(connection, executor)
        try:
            await store._run(_migrate)
        except BaseException:
            await store.close()
            raise
        return store

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._connection.close)
        self._executor.shutdown(wait=True)

    async def schema_version(self) -> int:
        """The migration level of the database file."""
        return await self._run(_schema_version)

    async def _read(self, steps: Steps[T]) -> T:
        return await self._run(lambda connection: _drive(connection, steps))

    async def _write(self, steps: Callable[[], Steps[T]]) -> T:
        def write(connection: sqlite3.Connection) -> T:
            with write_transaction(connection):
                return _drive(connection, steps())

        return await self._run(write)

    async def _run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise StoreError("the store is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, operation, self._connection)
        except sqlite3.OperationalError as error:
            # Locked past the busy timeout, disk full, file unreadable: all transient
            # from the caller's point of view.
            raise StoreUnavailableError(f"SQLite store unavailable: {error}") from error
        except sqlite3.DatabaseError as error:
            raise StoreError(f"SQLite store failed: {error}") from error


def _drive(connection: sqlite3.Connection, steps: Steps[T]) -> T:
    """Run the statements ``steps`` yield, sending each its answer; their result."""
    answer: Any = None
    try:
        while True:
            answer = _execute(connection, steps.send(answer))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


def _execute(connection: sqlite3.Connection, query: Query) -> Any:
    cursor = connection.execute(query.sql, query.params)
    if query.fetch is Fetch.ONE:
        row = cursor.fetchone()
        cursor.fetchall()  # a statement with RETURNING completes once read to its end
        return row
    if query.fetch is Fetch.ALL:
        return cursor.fetchall()
    return None


def _connect(path: Path, busy_timeout_s: float, create: bool) -> sqlite3.Connection:
    if not create and not path.is_file():
        raise StoreMissingError(
            f"there is no SQLite store at {str(path)!r} (nothing was recorded there); "
            "name the store that holds the records (--store or IMAGEGATE_STORE)"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN ourselves, so transactions are explicit.
        connection = sqlite3.connect(
            path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        connection.execute("PRAGMA journal_mode = WAL")
        # FULL: a committed record survives power loss, not only a process crash;
        # the audit trail is worth an fsync per commit.
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")
    except (sqlite3.Error, OSError) as error:
        raise StoreUnavailableError(f"cannot open SQLite store {str(path)!r}: {error}") from error
    return connection


def _schema_version(connection: sqlite3.Connection) -> int:
    row = connection.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def _migrate(connection: sqlite3.Connection) -> None:
    found = _schema_version(connection)
    if found > len(MIGRATIONS):
        # A newer imagegate wrote it: writing with older code could break what it relies on.
        database = connection.execute("PRAGMA database_list").fetchone()[2]
        raise StoreError(
            f"SQLite store {database!r} is at schema version {found}, newer than this "
            f"imagegate knows ({len(MIGRATIONS)}); upgrade imagegate"
        )
    for version, script in enumerate(MIGRATIONS, start=1):
        # Re-check under the write lock: another process may have migrated meanwhile.
        with write_transaction(connection):
            if _schema_version(connection) >= version:
                continue
            for statement in _statements(script):
                params = {"now": format_timestamp(utc_now())} if ":now" in statement else {}
                connection.execute(statement, params)
            connection.execute(f"PRAGMA user_version = {version}")


def _statements(script: str) -> Iterator[str]:
    # executescript() would commit the open transaction; split into statements instead.
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""
    if pending.strip():
        raise StoreError(f"incomplete SQL statement in migration: {pending.strip()[:80]}")
