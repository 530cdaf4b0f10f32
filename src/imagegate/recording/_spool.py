"""A durable first-in first-out queue of record requests, on a local SQLite file.

Admission appends here and answers; the recorder drains into the store. Appends
are group-committed: requests arriving while a commit is under way share the
next one, so one fsync serves many concurrent admissions.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import msgspec

from imagegate._sqlite import write_transaction
from imagegate.tracking import (
    Artifact,
    DeploymentKey,
    Kind,
    Origin,
    Platform,
    QueuedRequest,
    RecordRequest,
    Status,
    StoreUnavailableError,
    utc_now,
)

T = TypeVar("T")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS spool_identity (source TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS spooled (sequence INTEGER PRIMARY KEY AUTOINCREMENT, "
    "request BLOB NOT NULL, spooled_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS parked (sequence INTEGER PRIMARY KEY, request BLOB NOT NULL, "
    "error_code TEXT NOT NULL, error TEXT NOT NULL, parked_at TEXT NOT NULL)",
)


class _SpooledPlatform(msgspec.Struct, array_like=True):
    os: str
    architecture: str
    variant: str | None


class _SpooledRequest(msgspec.Struct, array_like=True):
    """The spool's own encoding of a RecordRequest (compact, versioned by position)."""

    environment: str
    logical_environment: str
    deployment_name: str
    kind: str
    repository: str | None
    digest: str | None
    tag: str | None
    platform: _SpooledPlatform | None
    status: str
    observed_at: str
    origin: str = Origin.ADMISSION.value
    """Added after the first release: requests spooled before came from admission."""


@dataclass(frozen=True, slots=True)
class ParkedRequest:
    """A request the store refused for good, kept for an operator to inspect."""

    sequence: int
    request: RecordRequest
    error_code: str
    error: str


class Spool:
    """Durable FIFO of record requests. Use ``open``; one process per file."""

    def __init__(
        self, connection: sqlite3.Connection, executor: ThreadPoolExecutor, source: str
    ) -> None:
        self._connection = connection
        self._executor = executor
        self._source = source
        self._pending: list[tuple[list[bytes], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._appended = asyncio.Event()
        self._closed = False

    @classmethod
    async def open(cls, path: str | Path) -> Spool:
        """Open or create the spool file at ``path``."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imagegate-spool")
        loop = asyncio.get_running_loop()
        try:
            connection, source = await loop.run_in_executor(executor, _open, Path(path))
        except (sqlite3.Error, OSError) as error:
            executor.shutdown(wait=False)
            # A directory, a file that is not a database, a read-only place: say which.
            raise StoreUnavailableError(f"cannot open the spool {str(path)!r}: {error}") from None
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(connection, executor, source)

    @property
    def source(self) -> str:
        """This spool's identity, under which the store keeps its replay position."""
        return self._source

    @property
    def appended(self) -> asyncio.Event:
        """Set whenever requests were committed; the recorder clears it before draining."""
        return self._appended

    async def append(self, requests: Sequence[RecordRequest]) -> None:
        """Commit ``requests`` durably (fsync'd) in order; returns once they are on disk."""
        if self._closed:
            raise StoreUnavailableError("the spool is closed")
        if not requests:
            return
        encoded = [_encode(request) for request in requests]
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((encoded, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="imagegate-spool-flush")
        await asyncio.shield(future)

    async def peek(self, limit: int) -> list[QueuedRequest]:
        """Up to ``limit`` oldest requests, without removing them."""
        rows = await self._run(
            lambda c: c.execute(
                "SELECT sequence, request FROM spooled ORDER BY sequence LIMIT ?", (limit,)
            ).fetchall()
        )
        return [QueuedRequest(sequence=row[0], request=_decode(row[1])) for row in rows]

    async def ack(self, up_to: int) -> None:
        """Remove every request up to and including sequence ``up_to``."""

        def delete(connection: sqlite3.Connection) -> None:
            # No fsync of its own: an ack lost to a power cut only replays requests the
            # store's queue position already marks applied, and the next durable append
            # syncs the log with this commit in it. Admission then shares the disk with
            # one fsync fewer per batch the recorder writes.
            connection.execute("PRAGMA synchronous = NORMAL")
            try:
                with write_transaction(connection):
                    connection.execute("DELETE FROM spooled WHERE sequence <= ?", (up_to,))
            finally:
                connection.execute("PRAGMA synchronous = FULL")

        await self._run(delete)

    async def park(self, sequence: int, *, error_code: str, error: str) -> None:
        """Move a refused request out of the queue into the parked table."""

        def move(connection: sqlite3.Connection) -> None:
            with write_transaction(connection):
                connection.execute(
                    "INSERT OR REPLACE INTO parked (sequence, request, error_code, error, "
                    "parked_at) SELECT sequence, request, ?, ?, ? FROM spooled WHERE sequence = ?",
                    (error_code, error, _now_text(), sequence),
                )
                connection.execute("DELETE FROM spooled WHERE sequence = ?", (sequence,))

        await self._run(move)

    async def parked(self) -> list[ParkedRequest]:
        """Requests the store refused, oldest first."""
        rows = await self._run(
            lambda c: c.execute(
                "SELECT sequence, request, error_code, error FROM parked ORDER BY sequence"
            ).fetchall()
        )
        return [
            ParkedRequest(sequence=row[0], request=_decode(row[1]), error_code=row[2], error=row[3])
            for row in rows
        ]

    async def depth(self) -> int:
        """How many requests wait to be written to the store."""
        row = await self._run(lambda c: c.execute("SELECT count(*) FROM spooled").fetchone())
        return int(row[0])

    async def close(self) -> None:
        """Finish pending appends, then close the file."""
        if self._closed:
            return
        self._closed = True
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._connection.close)
        self._executor.shutdown(wait=True)

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch, self._pending = self._pending, []
            rows = [row for encoded, _ in batch for row in encoded]
            try:
                await loop.run_in_executor(self._executor, _insert, self._connection, rows)
            except sqlite3.Error as error:
                failure = StoreUnavailableError(f"cannot write the spool: {error}")
                for _, future in batch:
                    if not future.done():
                        future.set_exception(failure)
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)
            self._appended.set()

    async def _run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, operation, self._connection)
        except sqlite3.Error as error:
            raise StoreUnavailableError(f"spool failed: {error}") from error


def _open(path: Path) -> tuple[sqlite3.Connection, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    connection.execute("PRAGMA journal_mode = WAL")
    # FULL: an admission answered "allowed" must survive a power loss, not only a crash.
    connection.execute("PRAGMA synchronous = FULL")
    with write_transaction(connection):
        for statement in _SCHEMA:
            connection.execute(statement)
        row = connection.execute("SELECT source FROM spool_identity").fetchone()
        if row is None:
            source = f"spool-{uuid.uuid4()}"
            connection.execute("INSERT INTO spool_identity (source) VALUES (?)", (source,))
        else:
            source = row[0]
    return connection, source


def _insert(connection: sqlite3.Connection, rows: list[bytes]) -> None:
    stamp = _now_text()
    with write_transaction(connection):
        connection.executemany(
            "INSERT INTO spooled (request, spooled_at) VALUES (?, ?)",
            [(row, stamp) for row in rows],
        )


def _encode(request: RecordRequest) -> bytes:
    artifact = request.artifact
    platform = request.platform
    observed_at = request.observed_at or utc_now()
    return msgspec.msgpack.encode(
        _SpooledRequest(
            environment=request.key.environment,
            logical_environment=request.key.logical_environment,
            deployment_name=request.key.deployment_name,
            kind=request.key.kind.value,
            repository=artifact.repository if artifact else None,
            digest=artifact.digest if artifact else None,
            tag=artifact.tag if artifact else None,
            platform=(
                _SpooledPlatform(platform.os, platform.architecture, platform.variant)
                if platform
                else None
            ),
            status=request.status.value,
            observed_at=observed_at.isoformat(),
            origin=request.origin.value,
        )
    )


def _decode(blob: bytes) -> RecordRequest:
    spooled = msgspec.msgpack.decode(blob, type=_SpooledRequest)
    artifact = (
        Artifact(repository=spooled.repository, digest=spooled.digest, tag=spooled.tag)
        if spooled.repository is not None and spooled.digest is not None
        else None
    )
    platform = (
        Platform(
            os=spooled.platform.os,
            architecture=spooled.platform.architecture,
            variant=spooled.platform.variant,
        )
        if spooled.platform
        else None
    )
    return RecordRequest(
        key=DeploymentKey(
            environment=spooled.environment,
            logical_environment=spooled.logical_environment,
            deployment_name=spooled.deployment_name,
            kind=Kind(spooled.kind),
        ),
        artifact=artifact,
        platform=platform,
        status=Status(spooled.status),
        observed_at=datetime.fromisoformat(spooled.observed_at),
        origin=Origin(spooled.origin),
    )


def _now_text() -> str:
    return datetime.now(UTC).isoformat()
