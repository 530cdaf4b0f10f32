"""API keys (``auth.ApiKeyStore``), once for both databases: only their hashes are kept."""

from __future__ import annotations

from datetime import datetime

from imagegate.auth import ApiKey, Scope
from imagegate.store._sql import Dialect, Fetch, Query, Row, Steps

_COLUMNS = "key_id, name, secret_hash, scopes, created_at, revoked_at"


def add_api_key(dialect: Dialect, key: ApiKey) -> Steps[None]:
    yield Query(
        "INSERT INTO api_keys (key_id, name, secret_hash, scopes, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (
            key.key_id,
            key.name,
            key.secret_hash,
            " ".join(sorted(key.scopes)),
            dialect.time(key.created_at),
        ),
    )


def get_api_key(dialect: Dialect, key_id: str) -> Steps[ApiKey | None]:
    row = yield Query(f"SELECT {_COLUMNS} FROM api_keys WHERE key_id = ?", (key_id,), Fetch.ONE)
    return _api_key(dialect, row) if row else None


def list_api_keys(dialect: Dialect) -> Steps[list[ApiKey]]:
    rows = yield Query(
        f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at, key_id", fetch=Fetch.ALL
    )
    return [_api_key(dialect, row) for row in rows]


def revoke_api_key(dialect: Dialect, key_id: str, now: datetime) -> Steps[bool]:
    revoked = yield Query(
        "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL "
        "RETURNING key_id",
        (dialect.time(now), key_id),
        Fetch.ONE,
    )
    return revoked is not None


def _api_key(dialect: Dialect, row: Row) -> ApiKey:
    key_id, name, secret_hash, scopes, created_at, revoked_at = row
    return ApiKey(
        key_id=key_id,
        name=name,
        secret_hash=secret_hash,
        scopes=frozenset(Scope(scope) for scope in scopes.split()),
        created_at=dialect.read_time(created_at),
        revoked_at=dialect.read_time(revoked_at) if revoked_at else None,
    )
