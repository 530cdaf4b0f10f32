"""``make bench-stores``: the SQLite and PostgreSQL record stores, side by side.

Fills each store with the same history (1,000,000 deployment records by default:
about 100,000 keys, each a chain of superseded records ending in one deployed
record), then measures through the real API (``Tracker`` over the store):

- record writes (creates, heartbeats that refresh, supersedes) at concurrency 1
  and 16, as asyncio tasks, each on a key of its own;
- ``record_queued`` batches of 256 requests (the admission recorder's path);
- list queries: the active records of an environment and logical environment (the
  first page of 100, and a deep page reached by cursor), the history of one
  deployment name, and the default-name lookup (``active_deployment_names``).

The fill bypasses the API: one ``executemany`` in one transaction on the SQLite
store's own connection, ``COPY`` over asyncpg for PostgreSQL. PostgreSQL is the
throwaway cluster of the tests (``tests/support/postgres.py``), which runs without
fsync; the fill runs like that, then the cluster is restarted with ``fsync``,
``synchronous_commit`` and ``full_page_writes`` on, so that every measured commit is
durable in both stores (SQLite runs with ``synchronous = FULL``).

Writes ``benchmarks/results/stores.json`` and prints a markdown table, with the
query plans (``EXPLAIN QUERY PLAN`` / ``EXPLAIN ANALYZE``) of the main queries.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
sys.path.insert(0, str(REPO_DIR / "tests"))
sys.path.insert(0, str(REPO_DIR / "src"))

import asyncpg  # type: ignore[import-untyped]  # noqa: E402

from imagegate.store import PostgresStore, SqliteStore, open_store  # noqa: E402
from imagegate.store._timestamps import format_timestamp  # noqa: E402
from imagegate.tracking import (  # noqa: E402
    Artifact,
    DeploymentKey,
    DeploymentQuery,
    Kind,
    Outcome,
    Platform,
    QueuedRequest,
    RecordRequest,
    Tracker,
)

DEFAULT_RESULTS = BENCH_DIR / "results" / "stores.json"
SEED = 20261123

COLUMNS = (
    "id",
    "environment",
    "logical_environment",
    "deployment_name",
    "kind",
    "repository",
    "digest",
    "tag",
    "platform_os",
    "platform_architecture",
    "platform_variant",
    "status",
    "created_at",
    "updated_at",
    "last_seen_at",
    "superseded_by",
)

# Clusters as environments, each serving one stage of delivery.
REGIONS = ("eu-west-1", "eu-central-1", "us-east-1", "us-west-2")
STAGES = (("dev", "development"), ("stg", "staging"), ("prd", "production"))
NAMESPACES = [
    "payments",
    "checkout",
    "search",
    "identity",
    "catalog",
    "orders",
    "shipping",
    "billing",
    "ledger",
    "fraud",
    "notifications",
    "inventory",
    "pricing",
    "recommendations",
    "reviews",
    "media",
    "auth",
    "gateway",
    "analytics",
    "reporting",
    "support",
    "chat",
    "loyalty",
    "partners",
    "warehouse",
    "returns",
    "tax",
    "invoices",
    "subscriptions",
    "onboarding",
]
WORKLOADS = [
    "api",
    "worker",
    "web",
    "consumer",
    "scheduler",
    "cron",
    "migrator",
    "exporter",
    "gateway",
    "indexer",
    "processor",
    "sync",
    "ingest",
    "render",
    "cache",
    "proxy",
    "admin",
    "webhook",
    "backfill",
    "reconciler",
]
SIDECARS = (
    ("istio-proxy", "docker.io/istio/proxyv2"),
    ("otel-collector", "ghcr.io/open-telemetry/opentelemetry-collector"),
    ("cloudsql-proxy", "gcr.io/cloud-sql-connectors/cloud-sql-proxy"),
)
AMD64 = Platform(os="linux", architecture="amd64")


@dataclass(frozen=True, slots=True)
class KeySpec:
    """One deployment key of the fill, and its history."""

    key: DeploymentKey
    repository: str
    length: int
    """Records of its history; the last one is deployed."""

    @property
    def platform(self) -> Platform | None:
        return AMD64 if self.key.kind is Kind.CONTAINER_IMAGE else None

    def artifact(self, generation: int) -> Artifact:
        return Artifact(
            repository=self.repository,
            digest=digest_of(self.key, generation),
            tag=f"1.{generation}.0",
        )


def digest_of(key: DeploymentKey, generation: int) -> str:
    text = f"{key.environment}|{key.deployment_name}|{key.kind}|{generation}"
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Fleet:
    """The filled history: keys, rows (as tuples with datetimes), environments."""

    keys: list[KeySpec]
    rows: list[tuple[Any, ...]]
    environments: list[tuple[str, str]]
    """(environment, logical environment) pairs."""
    names: list[str]
    now: datetime


def build_fleet(records: int, rng: random.Random) -> Fleet:
    environments = [(f"{short}-{region}", stage) for short, stage in STAGES for region in REGIONS]
    # Deployment names as admission makes them: namespace/workload/container.
    names: list[tuple[str, str, Kind]] = []
    for namespace in NAMESPACES:
        for workload in WORKLOADS:
            for index in range(14):
                base = f"{namespace}/{workload}-{index}"
                repository = f"registry.example.com/{namespace}/{workload}-{index}"
                names.append((f"{base}/{workload}", repository, Kind.CONTAINER_IMAGE))
                for container, sidecar_repo in SIDECARS:
                    if rng.random() < 0.5:
                        names.append((f"{base}/{container}", sidecar_repo, Kind.CONTAINER_IMAGE))
                if rng.random() < 0.1:
                    names.append((base, f"registry.example.com/charts/{workload}", Kind.HELM_CHART))
    keys: list[KeySpec] = []
    total = 0
    while total < records:
        for name, repository, kind in names:
            for environment, logical in environments:
                if rng.random() >= 0.4:  # not every workload runs in every cluster
                    continue
                length = min(1 + rng.randrange(19), records - total)  # 10 on average
                key = DeploymentKey(environment, logical, name, kind)
                keys.append(KeySpec(key=key, repository=repository, length=length))
                total += length
                if total >= records:
                    break
            if total >= records:
                break
        if total < records:  # a second pass adds keys under fresh names
            names = [(f"{name}-b", repository, kind) for name, repository, kind in names]
    rng.shuffle(keys)

    # Ids in rounds (every key's first record, then every key's second, ...), so that a
    # key's history is spread over the id range as it would be after a year of use.
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=365)
    ids: list[list[int]] = [[] for _ in keys]
    next_id = 1
    for generation in range(max(spec.length for spec in keys)):
        for index, spec in enumerate(keys):
            if spec.length > generation:
                ids[index].append(next_id)
                next_id += 1
    step = timedelta(days=360) / next_id
    stamps = [start + step * record_id for record_id in range(next_id)]
    rows: list[tuple[Any, ...]] = [()] * (next_id - 1)
    for index, spec in enumerate(keys):
        chain = ids[index]
        platform_ = spec.platform
        os_, arch = (platform_.os, platform_.architecture) if platform_ else (None, None)
        for generation, record_id in enumerate(chain):
            deployed = generation == len(chain) - 1
            created = stamps[record_id]
            if deployed:
                updated = created
                seen = now - timedelta(seconds=rng.randrange(60, 3600))
                successor = None
            else:
                successor = chain[generation + 1]
                updated = seen = stamps[successor]
            rows[record_id - 1] = (
                record_id,
                spec.key.environment,
                spec.key.logical_environment,
                spec.key.deployment_name,
                spec.key.kind.value,
                spec.repository,
                digest_of(spec.key, generation),
                f"1.{generation}.0",
                os_,
                arch,
                None,
                "deployed" if deployed else "superseded",
                created,
                updated,
                seen,
                successor,
            )
    return Fleet(
        keys=keys,
        rows=rows,
        environments=environments,
        names=sorted({spec.key.deployment_name for spec in keys}),
        now=now,
    )


# --- filling ----------------------------------------------------------------------


async def fill_sqlite(store: SqliteStore, fleet: Fleet) -> None:
    cache: dict[datetime, str] = {}

    def text(moment: datetime) -> str:
        found = cache.get(moment)
        if found is None:
            found = cache[moment] = format_timestamp(moment)
        return found

    def fill(connection: sqlite3.Connection) -> None:
        cache_size = connection.execute("PRAGMA cache_size").fetchone()[0]
        # Rows are consistent by construction (superseded_by points forward in a chain);
        # foreign keys are checked again below, after the fill.
        connection.execute("PRAGMA foreign_keys = OFF")
        connection.execute("PRAGMA cache_size = -524288")
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            "INSERT OR IGNORE INTO environments (name, description, created_at) VALUES (?, '', ?)",
            [(name, text(fleet.now - timedelta(days=366))) for name, _ in fleet.environments],
        )
        placeholders = ", ".join("?" * len(COLUMNS))
        connection.executemany(
            f"INSERT INTO deployments ({', '.join(COLUMNS)}) VALUES ({placeholders})",
            (
                (*row[:12], text(row[12]), text(row[13]), text(row[14]), row[15])
                for row in fleet.rows
            ),
        )
        connection.execute("COMMIT")
        connection.execute(f"PRAGMA cache_size = {cache_size}")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    await store._run(fill)
    cache.clear()


async def fill_postgres(url: str, fleet: Fleet) -> None:
    connection = await asyncpg.connect(url, timeout=30)
    try:
        # Skip the per-row foreign-key triggers of COPY (superuser only); checked below.
        await connection.execute("SET session_replication_role = replica")
        await connection.executemany(
            "INSERT INTO environments (name, description, created_at) VALUES ($1, '', $2) "
            "ON CONFLICT (name) DO NOTHING",
            [(name, fleet.now - timedelta(days=366)) for name, _ in fleet.environments],
        )
        await connection.copy_records_to_table(
            "deployments", records=fleet.rows, columns=list(COLUMNS), timeout=900
        )
        await connection.execute(
            "SELECT setval(pg_get_serial_sequence('deployments', 'id'), max(id)) FROM deployments"
        )
        await connection.execute("RESET session_replication_role")
        await connection.execute("VACUUM (ANALYZE) deployments", timeout=900)
        await connection.execute("CHECKPOINT", timeout=900)
    finally:
        await connection.close()


# --- measuring --------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass
class Measured:
    operations: int
    wall_s: float
    latencies_ms: list[float] = field(default_factory=list)

    def summary(self, unit_per_operation: int = 1) -> dict[str, float]:
        return {
            "operations": self.operations,
            "requests": self.operations * unit_per_operation,
            "wall_s": round(self.wall_s, 3),
            "per_s": round(self.operations * unit_per_operation / self.wall_s, 1),
            "p50_ms": round(percentile(self.latencies_ms, 0.50), 3),
            "p99_ms": round(percentile(self.latencies_ms, 0.99), 3),
            "max_ms": round(max(self.latencies_ms), 3),
        }


async def run_closed_loop(
    jobs: Sequence[Callable[[], Awaitable[None]]], concurrency: int
) -> Measured:
    pending = iter(jobs)
    latencies: list[float] = []

    async def worker() -> None:
        for job in pending:
            began = time.perf_counter()
            await job()
            latencies.append((time.perf_counter() - began) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Measured(len(jobs), time.perf_counter() - began, latencies)


class KeyPool:
    """Hands out keys of the fill that no scenario has written yet."""

    def __init__(self, keys: list[KeySpec]) -> None:
        self._keys = keys
        self._next = 0

    def take(self, count: int) -> list[KeySpec]:
        taken = self._keys[self._next : self._next + count]
        if len(taken) < count:
            raise SystemExit("not enough keys in the fill for these write counts")
        self._next += count
        return taken


def request_for(spec: KeySpec, generation: int) -> RecordRequest:
    return RecordRequest(key=spec.key, artifact=spec.artifact(generation), platform=spec.platform)


def new_key_request(index: int, fleet: Fleet, scenario: str) -> RecordRequest:
    environment, logical = fleet.environments[index % len(fleet.environments)]
    name = f"bench-{scenario}/app-{index}/app"
    key = DeploymentKey(environment, logical, name, Kind.CONTAINER_IMAGE)
    return RecordRequest(
        key=key,
        artifact=Artifact(
            repository=f"registry.example.com/bench-{scenario}/app-{index}",
            digest=digest_of(key, 0),
            tag="1.0.0",
        ),
        platform=AMD64,
    )


async def measure_writes(
    tracker: Tracker, fleet: Fleet, pool: KeyPool, writes: int, label: str
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    wrong: list[str] = []

    def job(request: RecordRequest, expected: Outcome) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            result = await tracker.record(request)
            if result.outcome is not expected:
                wrong.append(f"{request.key}: {result.outcome} instead of {expected}")

        return run

    for concurrency in (1, 16):
        scenarios: dict[str, list[Callable[[], Awaitable[None]]]] = {
            "create": [
                job(new_key_request(index, fleet, f"c{concurrency}"), Outcome.CREATED)
                for index in range(writes)
            ],
            "refresh": [
                job(request_for(spec, spec.length - 1), Outcome.REFRESHED)
                for spec in pool.take(writes)
            ],
            "supersede": [
                job(request_for(spec, spec.length), Outcome.SUPERSEDED)
                for spec in pool.take(writes)
            ],
        }
        for scenario, jobs in scenarios.items():
            measured = await run_closed_loop(jobs, concurrency)
            results[f"{scenario}_c{concurrency}"] = measured.summary()
            print(
                f"  {label} {scenario:9} c={concurrency:<2} "
                f"{results[f'{scenario}_c{concurrency}']['per_s']:>8} writes/s",
                flush=True,
            )
    if wrong:
        raise SystemExit(f"{label}: unexpected outcomes, e.g. {wrong[:3]}")
    return results


async def measure_queued(
    tracker: Tracker, fleet: Fleet, pool: KeyPool, batch: int, batches: int, label: str
) -> dict[str, Any]:
    """Batches like the recorder's: mostly heartbeats, some supersedes and creates."""
    latencies: list[float] = []
    sequence = 0
    applied = 0
    began = time.perf_counter()
    for number in range(batches):
        creates = batch // 64
        supersedes = batch * 3 // 64
        refreshes = batch - creates - supersedes
        requests = [
            *(request_for(spec, spec.length - 1) for spec in pool.take(refreshes)),
            *(request_for(spec, spec.length) for spec in pool.take(supersedes)),
            *(new_key_request(number * batch + i, fleet, "queued") for i in range(creates)),
        ]
        items = []
        for request in requests:
            sequence += 1
            items.append(QueuedRequest(sequence=sequence, request=request))
        started = time.perf_counter()
        results = await tracker.record_queued("bench-recorder", items)
        latencies.append((time.perf_counter() - started) * 1000)
        applied += sum(1 for result in results if result.result is not None)
        if any(result.error is not None for result in results):
            raise SystemExit(f"{label}: a queued request was refused")
    measured = Measured(batches, time.perf_counter() - began, latencies)
    summary = measured.summary(unit_per_operation=batch)
    summary["applied"] = applied
    print(f"  {label} record_queued batches of {batch}: {summary['per_s']} requests/s", flush=True)
    return summary


async def measure_queries(
    tracker: Tracker, fleet: Fleet, iterations: int, budget_s: float, deep_page: int, label: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    rng = random.Random(SEED + 1)
    # A cursor deep into every environment's active records, found by walking pages.
    deep_cursors: list[tuple[str, str, int]] = []
    for environment, logical in fleet.environments:
        after: int | None = None
        for _ in range(deep_page - 1):
            page = await tracker.list_deployments(
                DeploymentQuery(
                    environment=environment, logical_environment=logical, limit=100, after_id=after
                )
            )
            after = page.next_after_id
            if after is None:
                raise SystemExit(f"{environment} has fewer than {deep_page} pages of records")
        assert after is not None
        deep_cursors.append((environment, logical, after))
    deployed = [spec for spec in fleet.keys if spec.key.kind is Kind.CONTAINER_IMAGE]
    app_keys = [spec for spec in deployed if spec.repository.startswith("registry.example")]

    queries: dict[str, Callable[[], Awaitable[int]]] = {}

    async def first_page() -> int:
        environment, logical = rng.choice(fleet.environments)
        page = await tracker.list_deployments(
            DeploymentQuery(environment=environment, logical_environment=logical, limit=100)
        )
        return len(page.records)

    async def deep() -> int:
        environment, logical, after = rng.choice(deep_cursors)
        page = await tracker.list_deployments(
            DeploymentQuery(
                environment=environment, logical_environment=logical, limit=100, after_id=after
            )
        )
        return len(page.records)

    async def history() -> int:
        name = rng.choice(fleet.names)
        page = await tracker.list_deployments(
            DeploymentQuery(deployment_name=name, history=True, limit=100)
        )
        return len(page.records)

    async def default_name() -> int:
        spec = rng.choice(app_keys)
        names = await tracker._store.active_deployment_names(
            environment=spec.key.environment,
            logical_environment=spec.key.logical_environment,
            kind=spec.key.kind,
            repository=spec.repository,
        )
        return len(names)

    queries = {
        "active_first_page": first_page,
        f"active_page_{deep_page}": deep,
        "history_of_name": history,
        "active_deployment_names": default_name,
    }
    results: dict[str, Any] = {}
    for name, query in queries.items():
        warm_up = time.perf_counter()
        for _ in range(min(20, iterations)):
            await query()
            if time.perf_counter() - warm_up > budget_s / 10:
                break
        latencies: list[float] = []
        rows = 0
        began = time.perf_counter()
        # At most ``iterations``, and no more than ``budget_s`` for a slow query.
        while len(latencies) < iterations and time.perf_counter() - began < budget_s:
            started = time.perf_counter()
            rows += await query()
            latencies.append((time.perf_counter() - started) * 1000)
        measured = Measured(len(latencies), time.perf_counter() - began, latencies)
        results[name] = measured.summary() | {"rows_per_query": round(rows / len(latencies), 1)}
        print(f"  {label} {name:26} p50 {results[name]['p50_ms']} ms", flush=True)
    environment, logical, after = deep_cursors[0]
    spec = next(spec for spec in app_keys if spec.key.environment == environment)
    sample = {
        "environment": environment,
        "logical_environment": logical,
        "after_id": after,
        "deployment_name": spec.key.deployment_name,
        "repository": spec.repository,
    }
    return results, sample


# The stores' SQL for the measured queries (as built in store/sqlite.py and postgres.py).
def plan_queries(
    sample: dict[str, Any], mark: Callable[[int], str]
) -> dict[str, tuple[str, list[Any]]]:
    cols = ", ".join(COLUMNS)
    env, logical = sample["environment"], sample["logical_environment"]
    return {
        "active_first_page": (
            f"SELECT {cols} FROM deployments WHERE environment = {mark(1)} AND "
            f"logical_environment = {mark(2)} AND status = 'deployed' "
            f"ORDER BY id DESC LIMIT {mark(3)}",
            [env, logical, 101],
        ),
        "active_deep_page": (
            f"SELECT {cols} FROM deployments WHERE environment = {mark(1)} AND "
            f"logical_environment = {mark(2)} AND status = 'deployed' AND id < {mark(3)} "
            f"ORDER BY id DESC LIMIT {mark(4)}",
            [env, logical, sample["after_id"], 101],
        ),
        "history_of_name": (
            f"SELECT {cols} FROM deployments WHERE deployment_name = {mark(1)} "
            f"ORDER BY id DESC LIMIT {mark(2)}",
            [sample["deployment_name"], 101],
        ),
        "active_deployment_names": (
            f"SELECT deployment_name FROM deployments WHERE environment = {mark(1)} "
            f"AND logical_environment = {mark(2)} AND kind = {mark(3)} AND repository = {mark(4)} "
            "AND status = 'deployed' ORDER BY deployment_name",
            [env, logical, "CONTAINER_IMAGE", sample["repository"]],
        ),
        "record_reads_deployed_of_key": (
            f"SELECT {cols} FROM deployments WHERE environment = {mark(1)} "
            f"AND logical_environment = {mark(2)} AND deployment_name = {mark(3)} "
            f"AND kind = {mark(4)} AND status = 'deployed'",
            [env, logical, sample["deployment_name"], "CONTAINER_IMAGE"],
        ),
    }


async def explain_sqlite(store: SqliteStore, sample: dict[str, Any]) -> dict[str, list[str]]:
    plans: dict[str, list[str]] = {}
    for name, (sql, params) in plan_queries(sample, lambda _: "?").items():

        def explain(c: sqlite3.Connection, sql: str = sql, params: list[Any] = params) -> Any:
            return c.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()

        plans[name] = [str(row[3]) for row in await store._run(explain)]
    return plans


async def explain_postgres(url: str, sample: dict[str, Any]) -> dict[str, list[str]]:
    plans: dict[str, list[str]] = {}
    connection = await asyncpg.connect(url, timeout=30)
    try:
        for name, (sql, params) in plan_queries(sample, lambda n: f"${n}").items():
            # A prepared statement, as asyncpg runs the store's queries.
            rows = await connection.fetch(
                f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) {sql}", *params
            )
            plans[name] = [str(row[0]) for row in rows]
    finally:
        await connection.close()
    return plans


async def measure_store(
    label: str, tracker: Tracker, fleet: Fleet, args: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, Any]]:
    pool = KeyPool(fleet.keys)
    writes = await measure_writes(tracker, fleet, pool, args.writes, label)
    queued = await measure_queued(tracker, fleet, pool, args.batch, args.batches, label)
    queries, sample = await measure_queries(
        tracker, fleet, args.queries, args.query_budget_s, args.deep_page, label
    )
    return {"writes": writes, "record_queued": queued, "queries": queries}, sample


# --- the two stores ---------------------------------------------------------------


async def bench_sqlite(fleet: Fleet, args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    path = work_dir / "bench.db"
    store = await open_store(f"sqlite:///{path}")
    assert isinstance(store, SqliteStore)
    try:
        began = time.perf_counter()
        await fill_sqlite(store, fleet)
        fill_s = time.perf_counter() - began
        orphans = await store._run(
            lambda c: c.execute("PRAGMA foreign_key_check(deployments)").fetchall()
        )
        if orphans:
            raise SystemExit(f"SQLite fill broke foreign keys: {orphans[:3]}")
        os.sync()
        print(f"SQLite: filled {len(fleet.rows):,} records in {fill_s:.1f} s", flush=True)

        def pragmas(connection: sqlite3.Connection) -> dict[str, Any]:
            names = ("journal_mode", "synchronous", "cache_size", "page_size")
            return {name: connection.execute(f"PRAGMA {name}").fetchone()[0] for name in names}

        settings = await store._run(pragmas)
        measured, sample = await measure_store("SQLite", Tracker(store), fleet, args)
        plans = await explain_sqlite(store, sample)
    finally:
        await store.close()
    return {
        "fill_s": round(fill_s, 1),
        "file_mib": round(path.stat().st_size / 2**20, 1),
        "settings": settings,
        "sqlite_version": sqlite3.sqlite_version,
        **measured,
        "plans": plans,
    }


async def bench_postgres(fleet: Fleet, args: argparse.Namespace) -> dict[str, Any]:
    from support.postgres import session_server  # noqa: PLC0415 (needs sys.path above)

    server = await session_server()
    url = server.url
    store_url = f"{url}?max_size=16"
    store = await open_store(store_url)  # creates the schema
    await store.close()
    began = time.perf_counter()
    await fill_postgres(url, fleet)
    fill_s = time.perf_counter() - began
    print(f"PostgreSQL: filled {len(fleet.rows):,} records in {fill_s:.1f} s", flush=True)
    restarted = False
    if server.cluster is not None and not args.keep_test_settings:
        cluster = server.cluster
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={cluster.port}",
                f"-c unix_socket_directories={cluster.work_dir}",
                "-c fsync=on",
                "-c synchronous_commit=on",
                "-c full_page_writes=on",
                "-c max_connections=300",
            ]
        )
        cluster._run(
            "pg_ctl",
            "restart",
            "--pgdata",
            str(cluster.data_dir),
            "--mode",
            "fast",
            "--log",
            str(cluster.log_path),
            "--wait",
            "--options",
            options,
        )
        restarted = True
    os.sync()
    connection = await asyncpg.connect(url, timeout=30)
    try:
        settings = {
            name: await connection.fetchval(f"SHOW {name}")
            for name in (
                "fsync",
                "synchronous_commit",
                "full_page_writes",
                "shared_buffers",
                "server_version",
            )
        }
        orphans = await connection.fetchval(
            "SELECT count(*) FROM deployments d WHERE superseded_by IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM deployments s WHERE s.id = d.superseded_by)"
        )
        size = await connection.fetchval("SELECT pg_total_relation_size('deployments')")
    finally:
        await connection.close()
    if orphans:
        raise SystemExit(f"PostgreSQL fill broke foreign keys: {orphans} orphans")
    store = await open_store(store_url)
    assert isinstance(store, PostgresStore)
    try:
        measured, sample = await measure_store("PostgreSQL", Tracker(store), fleet, args)
    finally:
        await store.close()
    plans = await explain_postgres(url, sample)
    return {
        "fill_s": round(fill_s, 1),
        "table_and_indexes_mib": round(size / 2**20, 1),
        "restarted_with_fsync": restarted,
        "settings": settings,
        "pool_max_size": 16,
        **measured,
        "plans": plans,
    }


# --- report -----------------------------------------------------------------------


def table(sqlite: dict[str, Any], postgres: dict[str, Any]) -> str:
    lines = [
        "| measure | SQLite | PostgreSQL | PostgreSQL / SQLite |",
        "| --- | --: | --: | --: |",
    ]

    def add(title: str, left: float, right: float) -> None:
        ratio = right / left if left else float("nan")
        lines.append(f"| {title} | {left:,.1f} | {right:,.1f} | {ratio:.2f} |")

    def add_ms(title: str, left: float, right: float) -> None:
        ratio = right / left if left else float("nan")
        lines.append(f"| {title} | {left:.2f} | {right:.2f} | {ratio:.2f} |")

    for key, write in sqlite["writes"].items():
        scenario, concurrency = key.rsplit("_c", 1)
        other = postgres["writes"][key]
        add(f"{scenario}, c={concurrency}: writes/s", write["per_s"], other["per_s"])
        add_ms(f"{scenario}, c={concurrency}: p50 ms", write["p50_ms"], other["p50_ms"])
        add_ms(f"{scenario}, c={concurrency}: p99 ms", write["p99_ms"], other["p99_ms"])
    left, right = sqlite["record_queued"], postgres["record_queued"]
    add(
        f"record_queued, batches of {left['requests'] // left['operations']}: requests/s",
        left["per_s"],
        right["per_s"],
    )
    add_ms("record_queued: p50 ms per batch", left["p50_ms"], right["p50_ms"])
    add_ms("record_queued: p99 ms per batch", left["p99_ms"], right["p99_ms"])
    for name, query in sqlite["queries"].items():
        other = postgres["queries"][name]
        add_ms(f"{name}: p50 ms", query["p50_ms"], other["p50_ms"])
        add_ms(f"{name}: p99 ms", query["p99_ms"], other["p99_ms"])
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> int:
    began = time.perf_counter()
    rng = random.Random(SEED)
    fleet = build_fleet(args.records, rng)
    deployed = len(fleet.keys)
    print(
        f"fleet: {len(fleet.rows):,} records, {deployed:,} keys (one deployed record each), "
        f"{len(fleet.names):,} deployment names, {len(fleet.environments)} environments, "
        f"built in {time.perf_counter() - began:.1f} s",
        flush=True,
    )
    work_dir = Path(tempfile.mkdtemp(prefix="imagegate-bench-stores-"))
    try:
        sqlite_results = await bench_sqlite(fleet, args, work_dir)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    postgres_results = await bench_postgres(fleet, args)
    elapsed = time.perf_counter() - began
    report = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_clock_s": round(elapsed, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "asyncpg": asyncpg.__version__,
        },
        "parameters": {
            "records": len(fleet.rows),
            "keys": deployed,
            "deployment_names": len(fleet.names),
            "environments": [f"{env} ({logical})" for env, logical in fleet.environments],
            "writes_per_scenario": args.writes,
            "queued_batch": args.batch,
            "queued_batches": args.batches,
            "query_iterations": args.queries,
            "query_budget_s": args.query_budget_s,
            "deep_page": args.deep_page,
            "seed": SEED,
        },
        "sqlite": sqlite_results,
        "postgresql": postgres_results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print()
    print(table(sqlite_results, postgres_results))
    for store_name, results in (("SQLite", sqlite_results), ("PostgreSQL", postgres_results)):
        print(f"\n{store_name} query plans:")
        for query, lines in results["plans"].items():
            print(f"  {query}:")
            for line in lines:
                print(f"    {line}")
    print(f"\nwrote {args.output}; {elapsed:.0f} s in all")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="history to fill")
    parser.add_argument("--writes", type=int, default=2000, help="writes per scenario")
    parser.add_argument("--batch", type=int, default=256, help="record_queued batch size")
    parser.add_argument("--batches", type=int, default=16, help="record_queued batches")
    parser.add_argument("--queries", type=int, default=300, help="iterations per query")
    parser.add_argument(
        "--query-budget-s", type=float, default=10.0, help="time limit per query kind"
    )
    parser.add_argument("--deep-page", type=int, default=40, help="page reached by cursor")
    parser.add_argument(
        "--keep-test-settings",
        action="store_true",
        help="measure PostgreSQL with the tests' fsync=off settings (no restart)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_RESULTS)
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
