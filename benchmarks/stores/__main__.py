"""``make bench-stores``: the SQLite and PostgreSQL record stores, side by side.

``python -m benchmarks.stores [--records N] [--writes N] ...`` (``--help`` lists the
flags); see the package's docstring for what it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]

from benchmarks.common.paths import RESULTS_DIR
from benchmarks.common.results import write_json
from benchmarks.stores.fleet import SEED, build_fleet
from benchmarks.stores.postgresql import bench_postgres
from benchmarks.stores.report import table
from benchmarks.stores.sqlite import bench_sqlite

DEFAULT_RESULTS = RESULTS_DIR / "stores.json"


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
    write_json(args.output, report)
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
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.stores", description=__doc__.split("\n")[0]
    )
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
