"""Deployment records, environments and queue positions (``tracking.Store``), once
for both databases.

A recording reads the deployed record of its key, decides with ``plan_recording``
and writes, inside the write transaction its store opens; the database's own
invariants (one deployed record per key, history never rewritten) stay the last word.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from imagegate.errors import RefusedError
from imagegate.store._sql import Dialect, Fetch, Query, Row, Steps
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
    UnknownEnvironmentError,
    plan_recording,
)

RECORD_COLUMNS = (
    "id, environment, logical_environment, deployment_name, kind, repository, digest, tag, "
    "platform_os, platform_architecture, platform_variant, status, created_at, updated_at, "
    "last_seen_at, superseded_by, origin, ended_by"
)
_ENVIRONMENT_COLUMNS = "name, description, created_at"


def record(
    dialect: Dialect, request: RecordRequest, now: datetime, create_environment: bool
) -> Steps[RecordResult]:
    yield from _locked(dialect, [request.key])
    return (yield from _apply(dialect, request, now, create_environment, read_back=True))


def record_queued(
    dialect: Dialect,
    source: str,
    items: Sequence[QueuedRequest],
    now: datetime,
    create_environment: bool,
) -> Steps[list[QueuedResult]]:
    if not items:
        return []
    # The position row, locked first: batches of one source run one after the other.
    yield Query(
        "INSERT INTO queue_positions (source, last_sequence, updated_at) VALUES (?, 0, ?) "
        "ON CONFLICT (source) DO NOTHING",
        (source, dialect.time(now)),
    )
    applied_up_to = yield from queue_position(dialect, source, lock=True)
    pending = [item for item in items if item.sequence > applied_up_to]
    yield from _locked(dialect, [item.request.key for item in pending])
    results: list[QueuedResult] = []
    for item in items:
        if item.sequence <= applied_up_to:
            results.append(QueuedResult(sequence=item.sequence, already_applied=True))
            continue
        # A savepoint per request: a refused one leaves no trace, the others go on.
        yield Query("SAVEPOINT queued_request")
        try:
            # The recorder needs only the outcome: mapping the records would double the
            # work of a batch.
            result = yield from _apply(
                dialect, item.request, now, create_environment, read_back=False
            )
        except RefusedError as error:
            yield Query("ROLLBACK TO SAVEPOINT queued_request")
            results.append(QueuedResult(sequence=item.sequence, error=error))
        else:
            results.append(QueuedResult(sequence=item.sequence, result=result))
        yield Query("RELEASE SAVEPOINT queued_request")
    last = max(item.sequence for item in items)
    if last > applied_up_to:
        yield Query(
            "UPDATE queue_positions SET last_sequence = ?, updated_at = ? WHERE source = ?",
            (last, dialect.time(now), source),
        )
    return results


def queue_position(dialect: Dialect, source: str, *, lock: bool = False) -> Steps[int]:
    row = yield Query(
        "SELECT last_sequence FROM queue_positions WHERE source = ?"
        + (dialect.for_update if lock else ""),
        (source,),
        Fetch.ONE,
    )
    return int(row[0]) if row else 0


def list_deployments(dialect: Dialect, query: DeploymentQuery) -> Steps[DeploymentPage]:
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
            clauses.append(f"{column} = ?")
            params.append(value)
    if not query.history and query.status is None:
        clauses.append("status = 'deployed'")
    if query.after_id is not None:
        clauses.append("id < ?")
        params.append(query.after_id)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = yield Query(
        f"SELECT {RECORD_COLUMNS} FROM deployments {where} ORDER BY id DESC LIMIT ?",
        (*params, query.limit + 1),
        Fetch.ALL,
    )
    records = tuple(_record_from_row(dialect, row) for row in rows[: query.limit])
    next_after_id = records[-1].id if len(rows) > query.limit else None
    return DeploymentPage(records=records, next_after_id=next_after_id)


def active_deployment_names(
    dialect: Dialect, *, environment: str, logical_environment: str, kind: Kind, repository: str
) -> Steps[list[str]]:
    rows = yield Query(
        f"SELECT deployment_name FROM deployments {dialect.deployed_by_repository} "
        "WHERE environment = ? AND logical_environment = ? AND kind = ? AND repository = ? "
        "AND status = 'deployed' ORDER BY deployment_name",
        (environment, logical_environment, kind.value, repository),
        Fetch.ALL,
    )
    return [str(row[0]) for row in rows]


def create_environment(
    dialect: Dialect, name: str, description: str, now: datetime
) -> Steps[Environment]:
    created = yield Query(
        "INSERT INTO environments (name, description, created_at) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO NOTHING RETURNING name",
        (name, description, dialect.time(now)),
        Fetch.ONE,
    )
    if created is None:
        raise EnvironmentExistsError(name)
    return Environment(name=name, description=description, created_at=now)


def get_environment(dialect: Dialect, name: str) -> Steps[Environment | None]:
    row = yield Query(
        f"SELECT {_ENVIRONMENT_COLUMNS} FROM environments WHERE name = ?", (name,), Fetch.ONE
    )
    return _environment(dialect, row) if row else None


def list_environments(dialect: Dialect) -> Steps[list[Environment]]:
    rows = yield Query(
        f"SELECT {_ENVIRONMENT_COLUMNS} FROM environments ORDER BY name", fetch=Fetch.ALL
    )
    return [_environment(dialect, row) for row in rows]


def list_logical_environments(dialect: Dialect) -> Steps[list[LogicalEnvironment]]:
    rows = yield Query(
        "SELECT name, created_at FROM logical_environments ORDER BY name", fetch=Fetch.ALL
    )
    return [LogicalEnvironment(name=row[0], created_at=dialect.read_time(row[1])) for row in rows]


def _locked(dialect: Dialect, keys: Sequence[DeploymentKey]) -> Steps[None]:
    # The keys first, then the environments: every writer takes locks in this order.
    for query in dialect.key_locks(keys):  # noqa: UP028 - a list takes no sent answers
        yield query


def _apply(
    dialect: Dialect,
    request: RecordRequest,
    now: datetime,
    create_environment: bool,
    *,
    read_back: bool,
) -> Steps[RecordResult]:
    """Apply one request inside the caller's write transaction, its key locked; without
    ``read_back`` the result carries the outcome only (no records)."""
    key = request.key
    stamp = dialect.time(request.observed_at or now)
    yield from _ensure_environments(key, stamp, create_environment)
    row = yield Query(
        f"SELECT {RECORD_COLUMNS} FROM deployments WHERE environment = ? "
        "AND logical_environment = ? AND deployment_name = ? AND kind = ? "
        f"AND status = 'deployed'{dialect.for_update}",
        (key.environment, key.logical_environment, key.deployment_name, key.kind.value),
        Fetch.ONE,
    )
    active = _record_from_row(dialect, row) if row else None
    plan = plan_recording(active=active, request=request)
    record_row: Row | None = None
    superseded_row: Row | None = None
    # Retire before inserting: the unique index admits one deployed row at any time.
    if plan.retire_id is not None and plan.retire_status is not None:
        record_row = yield _returning(
            "UPDATE deployments SET status = ?, updated_at = ?, ended_by = ? WHERE id = ?",
            (plan.retire_status.value, stamp, request.origin.value, plan.retire_id),
        )
    if plan.insert:
        record_row = yield _insert(request, stamp)
        if plan.retire_id is not None:
            superseded_row = yield _returning(
                "UPDATE deployments SET superseded_by = ? WHERE id = ?",
                (_present(record_row)[0], plan.retire_id),
            )
    if plan.refresh_id is not None:
        # The greatest: a request replayed late must not move last_seen_at backwards.
        record_row = yield _returning(
            f"UPDATE deployments SET last_seen_at = {dialect.greatest}(last_seen_at, ?) "
            "WHERE id = ?",
            (stamp, plan.refresh_id),
        )
    if not read_back:
        return RecordResult(outcome=plan.outcome, record=None)
    return RecordResult(
        outcome=plan.outcome,
        record=_record_from_row(dialect, _present(record_row)) if record_row else None,
        superseded=_record_from_row(dialect, _present(superseded_row)) if superseded_row else None,
    )


def _ensure_environments(key: DeploymentKey, stamp: object, create: bool) -> Steps[None]:
    if create:
        yield Query(
            "INSERT INTO environments (name, description, created_at) VALUES (?, '', ?) "
            "ON CONFLICT (name) DO NOTHING",
            (key.environment, stamp),
        )
    else:
        found = yield Query(
            "SELECT 1 FROM environments WHERE name = ?", (key.environment,), Fetch.ONE
        )
        if found is None:
            raise UnknownEnvironmentError(key.environment, field="environment")
    yield Query(
        "INSERT INTO logical_environments (name, created_at) VALUES (?, ?) "
        "ON CONFLICT (name) DO NOTHING",
        (key.logical_environment, stamp),
    )


def _insert(request: RecordRequest, stamp: object) -> Query:
    artifact = request.artifact
    assert artifact is not None, "planned inserts carry an artifact"
    platform = request.platform
    return _returning(
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


def _returning(sql: str, params: tuple[object, ...]) -> Query:
    return Query(f"{sql} RETURNING {RECORD_COLUMNS}", params, Fetch.ONE)


def _present(row: Row | None) -> Row:
    if row is None:
        raise StoreError("a deployment record vanished inside its transaction")
    return row


def _record_from_row(dialect: Dialect, row: Row) -> DeploymentRecord:
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
        created_at=dialect.read_time(created_at),
        updated_at=dialect.read_time(updated_at),
        last_seen_at=dialect.read_time(last_seen_at),
        superseded_by=superseded_by,
        origin=Origin(origin),
        ended_by=Origin(ended_by) if ended_by is not None else None,
    )


def _environment(dialect: Dialect, row: Row) -> Environment:
    return Environment(name=row[0], description=row[1], created_at=dialect.read_time(row[2]))
