"""Versioned schema of the embedded SQLite store.

Migrations are append-only: a released migration is never edited, a change is a
new entry. Each runs in its own transaction with the schema version it reaches.
"""

from __future__ import annotations

from imagegate.tracking import DEFAULT_ENVIRONMENT, DEFAULT_LOGICAL_ENVIRONMENTS, Origin

_SEED_ROWS = "\n".join(
    [
        *(
            f"INSERT INTO logical_environments (name, created_at) VALUES ('{name}', :now);"
            for name in DEFAULT_LOGICAL_ENVIRONMENTS
        ),
        "INSERT INTO environments (name, description, created_at) VALUES "
        f"('{DEFAULT_ENVIRONMENT}', 'default environment of records that name none', :now);",
    ]
)

# Spelled out rather than derived from Origin: a released migration never changes.
_ORIGINS = "'admission', 'cluster', 'api', 'cli', 'unknown'"
assert {o.strip(" '") for o in _ORIGINS.split(",")} == {o.value for o in Origin}

MIGRATIONS: tuple[str, ...] = (
    # 1: environments, deployment records, API keys.
    """
    CREATE TABLE environments (
        name        TEXT PRIMARY KEY,
        description TEXT NOT NULL DEFAULT '',
        created_at  TEXT NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE logical_environments (
        name       TEXT PRIMARY KEY,
        created_at TEXT NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE deployments (
        id                    INTEGER PRIMARY KEY AUTOINCREMENT,
        environment           TEXT NOT NULL REFERENCES environments (name),
        logical_environment   TEXT NOT NULL REFERENCES logical_environments (name),
        deployment_name       TEXT NOT NULL,
        kind                  TEXT NOT NULL CHECK (kind IN ('CONTAINER_IMAGE', 'HELM_CHART')),
        repository            TEXT NOT NULL,
        digest                TEXT NOT NULL,
        tag                   TEXT,
        platform_os           TEXT,
        platform_architecture TEXT,
        platform_variant      TEXT,
        status                TEXT NOT NULL
                              CHECK (status IN ('deployed', 'superseded', 'decommissioned')),
        created_at            TEXT NOT NULL,
        updated_at            TEXT NOT NULL,
        last_seen_at          TEXT NOT NULL,
        superseded_by         INTEGER REFERENCES deployments (id)
    );

    -- The invariant, held by the database: one deployed record per key.
    CREATE UNIQUE INDEX deployments_one_deployed_per_key
        ON deployments (environment, logical_environment, deployment_name, kind)
        WHERE status = 'deployed';

    -- History of one key, and "which names deploy this repository" lookups.
    CREATE INDEX deployments_by_key
        ON deployments (environment, logical_environment, deployment_name, kind, id);
    CREATE INDEX deployments_deployed_by_repository
        ON deployments (environment, logical_environment, kind, repository)
        WHERE status = 'deployed';
    -- Listing active records newest first without scanning history.
    CREATE INDEX deployments_by_status ON deployments (status, id);

    -- History is an audit trail: rows are never deleted, their identity never edited,
    -- and only a deployed record changes status (to superseded or decommissioned).
    CREATE TRIGGER deployments_never_deleted BEFORE DELETE ON deployments
    BEGIN
        SELECT RAISE(ABORT, 'deployment records are history and are never deleted');
    END;
    CREATE TRIGGER deployments_identity_immutable
    BEFORE UPDATE OF id, environment, logical_environment, deployment_name, kind, repository,
                     digest, tag, platform_os, platform_architecture, platform_variant,
                     created_at
    ON deployments
    BEGIN
        SELECT RAISE(ABORT, 'the identity of a deployment record never changes');
    END;
    CREATE TRIGGER deployments_status_moves_forward BEFORE UPDATE OF status ON deployments
    WHEN NEW.status <> OLD.status AND (OLD.status <> 'deployed' OR NEW.status = 'deployed')
    BEGIN
        SELECT RAISE(ABORT, 'only a deployed record changes status, and never back');
    END;

    CREATE TABLE api_keys (
        key_id      TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        scopes      TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        revoked_at  TEXT
    ) WITHOUT ROWID;
    """
    + _SEED_ROWS,
    # 2: how far each durable admission queue has been applied (exactly-once replay).
    """
    CREATE TABLE queue_positions (
        source        TEXT PRIMARY KEY,
        last_sequence INTEGER NOT NULL,
        updated_at    TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
    # 3: evidence CI posts about digests: scan reports (history) and provenance (latest).
    """
    CREATE TABLE scan_reports (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        digest          TEXT NOT NULL,
        scanner         TEXT NOT NULL,
        scanned_at      TEXT NOT NULL,
        received_at     TEXT NOT NULL,
        vulnerabilities BLOB NOT NULL
    );

    -- The newest scan of a digest, without reading its history.
    CREATE INDEX scan_reports_by_digest ON scan_reports (digest, scanned_at);

    -- Scan reports are history, like deployment records.
    CREATE TRIGGER scan_reports_never_changed BEFORE UPDATE ON scan_reports
    BEGIN
        SELECT RAISE(ABORT, 'scan reports are history and are never changed');
    END;
    CREATE TRIGGER scan_reports_never_deleted BEFORE DELETE ON scan_reports
    BEGIN
        SELECT RAISE(ABORT, 'scan reports are history and are never deleted');
    END;

    CREATE TABLE provenance_evidence (
        digest            TEXT PRIMARY KEY,
        builder_id        TEXT,
        source_repository TEXT,
        "commit"          TEXT,
        labels            TEXT NOT NULL DEFAULT '{}',
        updated_at        TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
    # 4: the history of one deployment name across environments, without a table scan.
    """
    CREATE INDEX deployments_by_name ON deployments (deployment_name, id);
    """,
    # 5: where each change came from (admission, cluster watch, API, CLI): the origin
    # of a record, and what ended it. Rows written before are of unknown origin.
    f"""
    ALTER TABLE deployments ADD COLUMN origin TEXT NOT NULL DEFAULT 'unknown'
        CHECK (origin IN ({_ORIGINS}));
    ALTER TABLE deployments ADD COLUMN ended_by TEXT CHECK (ended_by IN ({_ORIGINS}));
    CREATE TRIGGER deployments_origin_immutable BEFORE UPDATE OF origin ON deployments
    WHEN NEW.origin <> OLD.origin
    BEGIN
        SELECT RAISE(ABORT, 'the identity of a deployment record never changes: origin');
    END;
    """,
    # 6: an operator takes a scan out of the count (one dated wrongly, of a broken
    # scanner run): a retirement is kept beside the scan, which stays as it was.
    """
    CREATE TABLE scan_retirements (
        scan_id    INTEGER PRIMARY KEY REFERENCES scan_reports (id),
        retired_at TEXT NOT NULL,
        reason     TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 1024)
    );

    CREATE TRIGGER scan_retirements_never_changed BEFORE UPDATE ON scan_retirements
    BEGIN
        SELECT RAISE(ABORT, 'scan retirements are history and are never changed');
    END;
    CREATE TRIGGER scan_retirements_never_deleted BEFORE DELETE ON scan_retirements
    BEGIN
        SELECT RAISE(ABORT, 'scan retirements are history and are never deleted');
    END;
    """,
)
