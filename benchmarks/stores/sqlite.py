"""The SQLite store in the benchmark: filled on its own connection, measured, explained."""

from __future__ import annotations

import argparse
import os
import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.stores.fleet import COLUMNS, Fleet
from benchmarks.stores.measure import measure_store
from benchmarks.stores.plans import plan_queries
from imagegate.store import SqliteStore, format_timestamp, open_store
from imagegate.tracking import Tracker


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


async def explain_sqlite(store: SqliteStore, sample: dict[str, Any]) -> dict[str, list[str]]:
    plans: dict[str, list[str]] = {}
    for name, (sql, params) in plan_queries(sample, lambda _: "?").items():

        def explain(c: sqlite3.Connection, sql: str = sql, params: list[Any] = params) -> Any:
            return c.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()

        plans[name] = [str(row[3]) for row in await store._run(explain)]
    return plans


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
