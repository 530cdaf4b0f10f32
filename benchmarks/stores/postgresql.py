"""The PostgreSQL store in the benchmark: a server from ``testbed.postgres``, filled by
``COPY``, restarted durable, measured, explained."""

from __future__ import annotations

import argparse
import os
import time
from datetime import timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from testbed.postgres import PostgresUnavailable, session_server

from benchmarks.stores.fleet import COLUMNS, Fleet
from benchmarks.stores.measure import measure_store
from benchmarks.stores.plans import plan_queries
from imagegate.store import PostgresStore, open_store
from imagegate.tracking import Tracker


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


async def bench_postgres(fleet: Fleet, args: argparse.Namespace) -> dict[str, Any]:
    try:
        server = await session_server()
    except PostgresUnavailable as error:
        raise SystemExit(f"PostgreSQL: {error}") from error
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
        server.cluster.restart(durable=True)
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
