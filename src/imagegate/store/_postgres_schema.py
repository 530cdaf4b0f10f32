"""Versioned schema of the PostgreSQL store: the SQLite schema, translated.

Migrations are append-only: a released migration is never edited, a change is a
new entry. ``PostgresStore`` applies the missing ones in one transaction under an
advisory lock and notes each in ``schema_migrations``, so that replicas starting
at once migrate exactly once.
"""

from __future__ import annotations

from imagegate.tracking import DEFAULT_ENVIRONMENT, DEFAULT_LOGICAL_ENVIRONMENTS, Origin

SCHEMA_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""

_SEED_ROWS = "\n".join(
    [
        *(
            f"INSERT INTO logical_environments (name, created_at) VALUES ('{name}', now());"
            for name in DEFAULT_LOGICAL_ENVIRONMENTS
        ),
        "INSERT INTO environments (name, description, created_at) VALUES "
        f"('{DEFAULT_ENVIRONMENT}', 'default environment of records that name none', now());",
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
        created_at  TIMESTAMPTZ NOT NULL
    );

    CREATE TABLE logical_environments (
        name       TEXT PRIMARY KEY,
        created_at TIMESTAMPTZ NOT NULL
    );

    CREATE TABLE deployments (
        id                    BIGSERIAL PRIMARY KEY,
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
        created_at            TIMESTAMPTZ NOT NULL,
        updated_at            TIMESTAMPTZ NOT NULL,
        last_seen_at          TIMESTAMPTZ NOT NULL,
        superseded_by         BIGINT REFERENCES deployments (id),
        CHECK (superseded_by IS NULL OR status = 'superseded')
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
    CREATE FUNCTION imagegate_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'integrity_constraint_violation';
    END
    $$;

    CREATE TRIGGER deployments_never_deleted BEFORE DELETE ON deployments
    FOR EACH ROW EXECUTE FUNCTION
        imagegate_refuse('deployment records are history and are never deleted');
    CREATE TRIGGER deployments_never_truncated BEFORE TRUNCATE ON deployments
    FOR EACH STATEMENT EXECUTE FUNCTION
        imagegate_refuse('deployment records are history and are never deleted');
    -- Naming an identity column in SET is refused even with an unchanged value, as in SQLite.
    CREATE TRIGGER deployments_identity_immutable
    BEFORE UPDATE OF id, environment, logical_environment, deployment_name, kind, repository,
                     digest, tag, platform_os, platform_architecture, platform_variant,
                     created_at
    ON deployments
    FOR EACH ROW EXECUTE FUNCTION
        imagegate_refuse('the identity of a deployment record never changes');
    CREATE TRIGGER deployments_status_moves_forward BEFORE UPDATE OF status ON deployments
    FOR EACH ROW WHEN (
        NEW.status <> OLD.status AND (OLD.status <> 'deployed' OR NEW.status = 'deployed')
    ) EXECUTE FUNCTION
        imagegate_refuse('only a deployed record changes status, and never back');

    CREATE TABLE api_keys (
        key_id      TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        scopes      TEXT NOT NULL,
        created_at  TIMESTAMPTZ NOT NULL,
        revoked_at  TIMESTAMPTZ
    );
    """
    + _SEED_ROWS,
    # 2: how far each durable admission queue has been applied (exactly-once replay).
    """
    CREATE TABLE queue_positions (
        source        TEXT PRIMARY KEY,
        last_sequence BIGINT NOT NULL CHECK (last_sequence >= 0),
        updated_at    TIMESTAMPTZ NOT NULL
    );
    """,
    # 3: evidence CI posts about digests: scan reports (history) and provenance (latest).
    """
    CREATE TABLE scan_reports (
        id              BIGSERIAL PRIMARY KEY,
        digest          TEXT NOT NULL,
        scanner         TEXT NOT NULL,
        scanned_at      TIMESTAMPTZ NOT NULL,
        received_at     TIMESTAMPTZ NOT NULL,
        vulnerabilities BYTEA NOT NULL
    );

    -- The newest scan of a digest, without reading its history.
    CREATE INDEX scan_reports_by_digest ON scan_reports (digest, scanned_at);

    -- Scan reports are history, like deployment records.
    CREATE TRIGGER scan_reports_never_changed BEFORE UPDATE ON scan_reports
    FOR EACH ROW EXECUTE FUNCTION
        imagegate_refuse('scan reports are history and are never changed');
    CREATE TRIGGER scan_reports_never_deleted BEFORE DELETE ON scan_reports
    FOR EACH ROW EXECUTE FUNCTION
        imagegate_refuse('scan reports are history and are never deleted');
    CREATE TRIGGER scan_reports_never_truncated BEFORE TRUNCATE ON scan_reports
    FOR EACH STATEMENT EXECUTE FUNCTION
        imagegate_refuse('scan reports are history and are never deleted');

    CREATE TABLE provenance_evidence (
        digest            TEXT PRIMARY KEY,
        builder_id        TEXT,
        source_repository TEXT,
        "commit"          TEXT,
        labels            JSONB NOT NULL DEFAULT '{}',
        updated_at        TIMESTAMPTZ NOT NULL
    );
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
    FOR EACH ROW WHEN (NEW.origin <> OLD.origin) EXECUTE FUNCTION
        imagegate_refuse('the identity of a deployment record never changes: origin');
    """,
    # 6: an operator takes a scan out of the count (one dated wrongly, of a broken
    # scanner run): a retirement is kept beside the scan, which stays as it was.
    """
    CREATE TABLE scan_retirements (
        scan_id    BIGINT PRIMARY KEY REFERENCES scan_reports (id),
        retired_at TIMESTAMPTZ NOT NULL,
        reason     TEXT NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 1024)
    );

    CREATE TRIGGER scan_retirements_never_changed BEFORE UPDATE ON scan_retirements
    FOR EACH ROW EXECUTE FUNCTION
        imagegate_refuse('scan retirements are history and are never changed');
    CREATE TRIGGER scan_retirements_never_deleted BEFORE DELETE ON scan_retirements
    FOR EACH ROW EXECUTE FUNCTION
        imagegate_refuse('scan retirements are history and are never deleted');
    CREATE TRIGGER scan_retirements_never_truncated BEFORE TRUNCATE ON scan_retirements
    FOR EACH STATEMENT EXECUTE FUNCTION
        imagegate_refuse('scan retirements are history and are never deleted');
    """,
)
