"""The measurements, through the real API (``Tracker`` over a store): writes at two
concurrencies, ``record_queued`` batches, and list queries."""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common.percentiles import nearest_rank
from benchmarks.stores.fleet import AMD64, SEED, Fleet, KeySpec, digest_of
from imagegate.tracking import (
    Artifact,
    DeploymentKey,
    DeploymentQuery,
    Kind,
    Outcome,
    QueuedRequest,
    RecordRequest,
    Tracker,
)


@dataclass
class Measured:
    """Operations, the wall-clock time they took, and the latency of each."""

    operations: int
    wall_s: float
    latencies_ms: list[float] = field(default_factory=list)

    def summary(self, unit_per_operation: int = 1) -> dict[str, float]:
        ordered = sorted(self.latencies_ms)
        return {
            "operations": self.operations,
            "requests": self.operations * unit_per_operation,
            "wall_s": round(self.wall_s, 3),
            "per_s": round(self.operations * unit_per_operation / self.wall_s, 1),
            "p50_ms": round(nearest_rank(ordered, 0.50), 3),
            "p99_ms": round(nearest_rank(ordered, 0.99), 3),
            "max_ms": round(ordered[-1], 3),
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
