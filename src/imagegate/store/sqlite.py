"""Embedded store on one SQLite file: the default, needing no other server.

One connection lives on one dedicated thread, so the event loop never blocks on
disk and SQLite never sees the connection from two threads. Every write runs in
``BEGIN IMMEDIATE``: it takes the file's write lock before reading the deployed
record, so writers in other processes sharing the file are serialised and the
read-decide-write of a recording is atomic. WAL lets readers go on meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from imagegate._sqlite import write_transaction
from imagegate.auth import ApiKey, Scope
from imagegate.facts import (
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
    scan_rank,
)
from imagegate.store._sqlite_schema import MIGRATIONS
from imagegate.store._timestamps import format_timestamp, parse_timestamp
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
    StoreMissingError,
    StoreUnavailableError,
    TrackingError,
    UnknownEnvironmentError,
    plan_recording,
    utc_now,
)

T = TypeVar("T")

DEFAULT_BUSY_TIMEOUT_S = 10.0
"""How long a write waits for another process holding the file's write lock."""

_RECORD_COLUMNS = (
    "id, environment, logical_environment, deployment_name, kind, repository, digest, tag, "
    "platform_os, platform_architecture, platform_variant, status, created_at, updated_at, "
    "last_seen_at, superseded_by, origin, ended_by"
)


class SqliteStore:
    """``Store``, ``ApiKeyStore`` and ``EvidenceStore`` on one SQLite file."""

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

    # --- tracking.Store ---------------------------------------------------------

    async def record(
        self, request: RecordRequest, *, now: datetime, create_environment: bool
    ) -> RecordResult:
        return await self._run(lambda c: _record(c, request, now, create_environment))

    async def record_queued(
        self,
        source: str,
        items: Sequence[QueuedRequest],
        *,
        now: datetime,
        create_environment: bool,
    ) -> list[QueuedResult]:
        return await self._run(lambda c: _record_queued(c, source, items, now, create_environment))

    async def queue_position(self, source: str) -> int:
        return await self._run(lambda c: _queue_position(c, source))

    async def list_deployments(self, query: DeploymentQuery) -> DeploymentPage:
        return await self._run(lambda c: _list_deployments(c, query))

    async def active_deployment_names(
        self, *, environment: str, logical_environment: str, kind: Kind, repository: str
    ) -> list[str]:
        # INDEXED BY: without planner statistics SQLite prefers deployments_by_key, which
        # reads a whole environment's history (350 ms at 1M records instead of 0.1 ms).
        sql = (
            "SELECT deployment_name FROM deployments "
            "INDEXED BY deployments_deployed_by_repository WHERE environment = ? "
            "AND logical_environment = ? AND kind = ? AND repository = ? "
            "AND status = 'deployed' ORDER BY deployment_name"
        )
        params = (environment, logical_environment, kind.value, repository)
        rows = await self._run(lambda c: c.execute(sql, params).fetchall())
        return [row[0] for row in rows]

    async def create_environment(
        self, name: str, *, description: str, now: datetime
    ) -> Environment:
        def create(connection: sqlite3.Connection) -> Environment:
            try:
                with write_transaction(connection):
                    connection.execute(
                        "INSERT INTO environments (name, description, created_at) VALUES (?, ?, ?)",
                        (name, description, format_timestamp(now)),
                    )
            except sqlite3.IntegrityError as error:
                raise EnvironmentExistsError(name) from error
            return Environment(name=name, description=description, created_at=now)

        return await self._run(create)

    async def get_environment(self, name: str) -> Environment | None:
        sql = "SELECT name, description, created_at FROM environments WHERE name = ?"
        row = await self._run(lambda c: c.execute(sql, (name,)).fetchone())
        return _environment(row) if row else None

    async def list_environments(self) -> list[Environment]:
        sql = "SELECT name, description, created_at FROM environments ORDER BY name"
        rows = await self._run(lambda c: c.execute(sql).fetchall())
        return [_environment(row) for row in rows]

    async def list_logical_environments(self) -> list[LogicalEnvironment]:
        sql = "SELECT name, created_at FROM logical_environments ORDER BY name"
        rows = await self._run(lambda c: c.execute(sql).fetchall())
        return [LogicalEnvironment(name=row[0], created_at=parse_timestamp(row[1])) for row in rows]

    # --- auth.ApiKeyStore -------------------------------------------------------

    async def add_api_key(self, key: ApiKey) -> None:
        def add(connection: sqlite3.Connection) -> None:
            with write_transaction(connection):
                connection.execute(
                    "INSERT INTO api_keys (key_id, name, secret_hash, scopes, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        key.key_id,
                        key.name,
                        key.secret_hash,
                        " ".join(sorted(key.scopes)),
                        format_timestamp(key.created_at),
                    ),
                )

        await self._run(add)

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        sql = (
            "SELECT key_id, name, secret_hash, scopes, created_at, revoked_at "
            "FROM api_keys WHERE key_id = ?"
        )
        row = await self._run(lambda c: c.execute(sql, (key_id,)).fetchone())
        return _api_key(row) if row else None

    async def list_api_keys(self) -> list[ApiKey]:
        sql = (
            "SELECT key_id, name, secret_hash, scopes, created_at, revoked_at "
            "FROM api_keys ORDER BY created_at, key_id"
        )
        rows = await self._run(lambda c: c.execute(sql).fetchall())
        return [_api_key(row) for row in rows]

    async def revoke_api_key(self, key_id: str, *, now: datetime) -> bool:
        def revoke(connection: sqlite3.Connection) -> bool:
            with write_transaction(connection):
                cursor = connection.execute(
                    "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                    (format_timestamp(now), key_id),
                )
            return cursor.rowcount == 1

        return await self._run(revoke)

    # --- facts.EvidenceStore ----------------------------------------------------

    async def add_scan(self, report: ScanReport, *, now: datetime) -> None:
        row = (
            report.digest,
            report.scanner,
            format_timestamp(report.scanned_at),
            format_timestamp(now),
            encode_vulnerabilities(report.vulnerabilities),
        )

        def add(connection: sqlite3.Connection) -> None:
            with write_transaction(connection):
                connection.execute(
                    "INSERT INTO scan_reports (digest, scanner, scanned_at, received_at, "
                    "vulnerabilities) VALUES (?, ?, ?, ?, ?)",
                    row,
                )

        await self._run(add)

    async def latest_scan(self, digest: str) -> ScanReport | None:
        return await self._run(lambda c: _latest_scan(c, digest))

    async def scans(self, digest: str) -> list[StoredScan]:
        return await self._run(lambda c: ranked_scans(_stored_scans(c, digest)))

    async def retire_scan(
        self, digest: str, scan_id: int, *, reason: str, now: datetime
    ) -> StoredScan:
        def retire(connection: sqlite3.Connection) -> StoredScan:
            with write_transaction(connection):
                found = _stored_scans(connection, digest, scan_id=scan_id)
                if not found:
                    raise ScanNotFoundError(digest, scan_id)
                stored = found[0]
                if stored.retirement is not None:
                    raise ScanRetiredError(digest, scan_id, stored.retirement)
                connection.execute(
                    "INSERT INTO scan_retirements (scan_id, retired_at, reason) VALUES (?, ?, ?)",
                    (scan_id, format_timestamp(now), reason),
                )
            return StoredScan(
                id=stored.id,
                report=stored.report,
                received_at=stored.received_at,
                retirement=ScanRetirement(retired_at=now, reason=reason),
            )

        return await self._run(retire)

    async def set_provenance(
        self,
        digest: str,
        provenance: Provenance,
        labels: Mapping[str, str],
        *,
        now: datetime,
    ) -> None:
        row = (
            digest,
            provenance.builder_id,
            provenance.source_repository,
            provenance.commit,
            json.dumps(dict(sorted(labels.items()))),
            format_timestamp(now),
        )

        def upsert(connection: sqlite3.Connection) -> None:
            with write_transaction(connection):
                connection.execute(
                    "INSERT INTO provenance_evidence (digest, builder_id, source_repository, "
                    '"commit", labels, updated_at) VALUES (?, ?, ?, ?, ?, ?) '
                    "ON CONFLICT (digest) DO UPDATE SET builder_id = excluded.builder_id, "
                    "source_repository = excluded.source_repository, "
                    '"commit" = excluded."commit", labels = excluded.labels, '
                    "updated_at = excluded.updated_at",
                    row,
                )

        await self._run(upsert)

    async def evidence(self, digest: str) -> Evidence:
        return await self._run(lambda c: _evidence(c, digest))

    # --- plumbing ---------------------------------------------------------------

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


def _record(
    connection: sqlite3.Connection,
    request: RecordRequest,
    now: datetime,
    create_environment: bool,
) -> RecordResult:
    with write_transaction(connection):
        return _apply(connection, request, now, create_environment)


def _record_queued(
    connection: sqlite3.Connection,
    source: str,
    items: Sequence[QueuedRequest],
    now: datetime,
    create_environment: bool,
) -> list[QueuedResult]:
    results: list[QueuedResult] = []
    with write_transaction(connection):
        applied_up_to = _queue_position(connection, source)
        for item in items:
            if item.sequence <= applied_up_to:
                results.append(QueuedResult(sequence=item.sequence, already_applied=True))
                continue
            # A savepoint per request: a refused one leaves no trace, the others go on.
            connection.execute("SAVEPOINT queued_request")
            try:
                # The recorder needs only the outcome: reading the records back would
                # double the work of a batch.
                result = _apply(connection, item.request, now, create_environment, read_back=False)
            except TrackingError as error:
                connection.execute("ROLLBACK TO queued_request")
                results.append(QueuedResult(sequence=item.sequence, error=error))
            else:
                results.append(QueuedResult(sequence=item.sequence, result=result))
            finally:
                connection.execute("RELEASE queued_request")
        last = max((item.sequence for item in items), default=applied_up_to)
        if last > applied_up_to:
            connection.execute(
                "INSERT INTO queue_positions (source, last_sequence, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (source) DO UPDATE SET last_sequence = excluded.last_sequence, "
                "updated_at = excluded.updated_at",
                (source, last, format_timestamp(now)),
            )
    return results


def _queue_position(connection: sqlite3.Connection, source: str) -> int:
    row = connection.execute(
        "SELECT last_sequence FROM queue_positions WHERE source = ?", (source,)
    ).fetchone()
    return int(row[0]) if row else 0


def _apply(
    connection: sqlite3.Connection,
    request: RecordRequest,
    now: datetime,
    create_environment: bool,
    *,
    read_back: bool = True,
) -> RecordResult:
    """Apply one request inside the caller's write transaction; without ``read_back``
    the result carries the outcome only (no records)."""
    key = request.key
    stamp = format_timestamp(request.observed_at or now)
    _ensure_environments(connection, key, stamp, create_environment)
    row = connection.execute(
        f"SELECT {_RECORD_COLUMNS} FROM deployments WHERE environment = ? "
        "AND logical_environment = ? AND deployment_name = ? AND kind = ? "
        "AND status = 'deployed'",
        (key.environment, key.logical_environment, key.deployment_name, key.kind.value),
    ).fetchone()
    active = _record_from_row(row) if row else None
    plan = plan_recording(active=active, request=request)
    # Retire before inserting: the unique index admits one deployed row at any time.
    if plan.retire_id is not None and plan.retire_status is not None:
        connection.execute(
            "UPDATE deployments SET status = ?, updated_at = ?, ended_by = ? WHERE id = ?",
            (plan.retire_status.value, stamp, request.origin.value, plan.retire_id),
        )
    new_id: int | None = None
    if plan.insert:
        new_id = _insert(connection, request, stamp)
        if plan.retire_id is not None:
            connection.execute(
                "UPDATE deployments SET superseded_by = ? WHERE id = ?",
                (new_id, plan.retire_id),
            )
    if plan.refresh_id is not None:
        # MAX: a request replayed late must not move last_seen_at backwards.
        connection.execute(
            "UPDATE deployments SET last_seen_at = MAX(last_seen_at, ?) WHERE id = ?",
            (stamp, plan.refresh_id),
        )
    if not read_back:
        return RecordResult(outcome=plan.outcome, record=None)
    result_id = new_id or plan.refresh_id or plan.retire_id
    record = _fetch(connection, result_id) if result_id is not None else None
    superseded = (
        _fetch(connection, plan.retire_id) if plan.insert and plan.retire_id is not None else None
    )
    return RecordResult(outcome=plan.outcome, record=record, superseded=superseded)


def _ensure_environments(
    connection: sqlite3.Connection, key: DeploymentKey, stamp: str, create_environment: bool
) -> None:
    if create_environment:
        connection.execute(
            "INSERT OR IGNORE INTO environments (name, description, created_at) VALUES (?, '', ?)",
            (key.environment, stamp),
        )
    elif not connection.execute(
        "SELECT 1 FROM environments WHERE name = ?", (key.environment,)
    ).fetchone():
        raise UnknownEnvironmentError(key.environment, field="environment")
    connection.execute(
        "INSERT OR IGNORE INTO logical_environments (name, created_at) VALUES (?, ?)",
        (key.logical_environment, stamp),
    )


def _insert(connection: sqlite3.Connection, request: RecordRequest, stamp: str) -> int:
    artifact = request.artifact
    assert artifact is not None, "planned inserts carry an artifact"
    platform = request.platform
    cursor = connection.execute(
        "INSERT INTO deployments (environment, logical_environment, deployment_name, kind, "
        "repository, digest, tag, platform_os, platform_architecture, platform_variant, "
        "status, created_at, updated_at, last_seen_at, origin) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'deployed', ?, ?, ?, ?)",
        (
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
            stamp,
            stamp,
            request.origin.value,
        ),
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _fetch(connection: sqlite3.Connection, record_id: int) -> DeploymentRecord:
    row = connection.execute(
        f"SELECT {_RECORD_COLUMNS} FROM deployments WHERE id = ?", (record_id,)
    ).fetchone()
    return _record_from_row(row)


def _list_deployments(connection: sqlite3.Connection, query: DeploymentQuery) -> DeploymentPage:
    clauses: list[str] = []
    params: list[Any] = []
    filters: list[tuple[str, object | None]] = [
        ("environment", query.environment),
        ("logical_environment", query.logical_environment),
        ("deployment_name", query.deployment_name),
        ("kind", query.kind.value if query.kind else None),
        ("status", query.status.value if query.status else None),
    ]
    for column, value in filters:
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if not query.history and query.status is None:
        clauses.append("status = 'deployed'")
    if query.after_id is not None:
        clauses.append("id < ?")
        params.append(query.after_id)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = connection.execute(
        f"SELECT {_RECORD_COLUMNS} FROM deployments {where} ORDER BY id DESC LIMIT ?",
        [*params, query.limit + 1],
    ).fetchall()
    records = tuple(_record_from_row(row) for row in rows[: query.limit])
    next_after_id = records[-1].id if len(rows) > query.limit else None
    return DeploymentPage(records=records, next_after_id=next_after_id)


def _record_from_row(row: sqlite3.Row | tuple[Any, ...]) -> DeploymentRecord:
    (
        record_id,
        environment,
        logical_environment,
        deployment_name,
        kind,
        repository,
        digest,
        tag,
        platform_os,
        platform_architecture,
        platform_variant,
        status,
        created_at,
        updated_at,
        last_seen_at,
        superseded_by,
        origin,
        ended_by,
    ) = row
    platform = (
        Platform(os=platform_os, architecture=platform_architecture, variant=platform_variant)
        if platform_os is not None
        else None
    )
    return DeploymentRecord(
        id=record_id,
        key=DeploymentKey(
            environment=environment,
            logical_environment=logical_environment,
            deployment_name=deployment_name,
            kind=Kind(kind),
        ),
        artifact=Artifact(repository=repository, digest=digest, tag=tag),
        platform=platform,
        status=Status(status),
        created_at=parse_timestamp(created_at),
        updated_at=parse_timestamp(updated_at),
        last_seen_at=parse_timestamp(last_seen_at),
        superseded_by=superseded_by,
        origin=Origin(origin),
        ended_by=Origin(ended_by) if ended_by is not None else None,
    )


def _environment(row: tuple[Any, ...]) -> Environment:
    return Environment(name=row[0], description=row[1], created_at=parse_timestamp(row[2]))


def _api_key(row: tuple[Any, ...]) -> ApiKey:
    key_id, name, secret_hash, scopes, created_at, revoked_at = row
    return ApiKey(
        key_id=key_id,
        name=name,
        secret_hash=secret_hash,
        scopes=frozenset(Scope(scope) for scope in scopes.split()),
        created_at=parse_timestamp(created_at),
        revoked_at=parse_timestamp(revoked_at) if revoked_at else None,
    )


def _latest_scan(connection: sqlite3.Connection, digest: str) -> ScanReport | None:
    # Newest by the scanner's time, but never later than its arrival (give or take the
    # clock skew allowed): a report's own clock alone cannot make it outrank scans
    # posted after it. Ranked here, as SQLite's date functions do not write
    # format_timestamp's microseconds; a digest has few scans.
    ranked = connection.execute(
        "SELECT id, scanned_at, received_at FROM scan_reports WHERE digest = ? "
        "AND id NOT IN (SELECT scan_id FROM scan_retirements)",
        (digest,),
    ).fetchall()
    if not ranked:
        return None
    best = max(
        ranked,
        key=lambda row: (scan_rank(parse_timestamp(row[1]), parse_timestamp(row[2])), row[0]),
    )
    scanner, scanned_at, vulnerabilities = connection.execute(
        "SELECT scanner, scanned_at, vulnerabilities FROM scan_reports WHERE id = ?", (best[0],)
    ).fetchone()
    return ScanReport(
        digest=digest,
        scanner=scanner,
        scanned_at=parse_timestamp(scanned_at),
        vulnerabilities=decode_vulnerabilities(vulnerabilities),
    )


def _stored_scans(
    connection: sqlite3.Connection, digest: str, *, scan_id: int | None = None
) -> list[StoredScan]:
    """The scans of ``digest`` (only ``scan_id``, if given) with their retirements."""
    query = (
        "SELECT s.id, s.scanner, s.scanned_at, s.received_at, s.vulnerabilities, "
        "r.retired_at, r.reason FROM scan_reports AS s "
        "LEFT JOIN scan_retirements AS r ON r.scan_id = s.id WHERE s.digest = ?"
    )
    parameters: tuple[object, ...] = (digest,)
    if scan_id is not None:
        query += " AND s.id = ?"
        parameters = (digest, scan_id)
    return [
        StoredScan(
            id=row[0],
            report=ScanReport(
                digest=digest,
                scanner=row[1],
                scanned_at=parse_timestamp(row[2]),
                vulnerabilities=decode_vulnerabilities(row[4]),
            ),
            received_at=parse_timestamp(row[3]),
            retirement=(
                ScanRetirement(retired_at=parse_timestamp(row[5]), reason=row[6])
                if row[5] is not None
                else None
            ),
        )
        for row in connection.execute(query, parameters)
    ]


def _evidence(connection: sqlite3.Connection, digest: str) -> Evidence:
    scan = _latest_scan(connection, digest)
    row = connection.execute(
        'SELECT builder_id, source_repository, "commit", labels FROM provenance_evidence '
        "WHERE digest = ?",
        (digest,),
    ).fetchone()
    if row is None:
        return Evidence(scan=scan)
    builder_id, source_repository, commit, labels = row
    return Evidence(
        scan=scan,
        provenance=Provenance(
            builder_id=builder_id, source_repository=source_repository, commit=commit
        ),
        labels=MappingProxyType(json.loads(labels)),
    )
