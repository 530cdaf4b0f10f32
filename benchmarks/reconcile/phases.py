"""The measured phases, each run in a process of its own so that its peak RSS is its own:
the floor (the lists alone) and imagegate's cluster watch (cold or warm store)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from imagegate.admission import DeploymentNameTemplate, RecordTarget
from imagegate.cluster import TRACKED_KINDS, ClusterState, ClusterWatch, ClusterWatchSettings
from imagegate.kube import KubeClient, load_connection
from imagegate.metrics import Metrics
from imagegate.recording import HeartbeatThrottle, Recorder, Spool
from imagegate.store import open_store
from imagegate.tracking import DeploymentQuery, Platform, Tracker

CLUSTER = "bench"


async def floor_phase(kubeconfig: Path) -> dict[str, Any]:
    client = KubeClient.open(load_connection(str(kubeconfig)))
    started = time.perf_counter()
    items = 0
    try:
        for path in ["/api/v1/nodes", *(path for _, path in TRACKED_KINDS)]:
            token = ""
            while True:
                query = f"?limit=500&continue={token}" if token else "?limit=500"
                document = await client.get(path + query, timeout_s=60)
                items += len(document.get("items") or [])
                token = (document.get("metadata") or {}).get("continue") or ""
                if not token:
                    break
    finally:
        await client.close()
    return {"seconds": time.perf_counter() - started, "objects": items}


async def imagegate_phase(kubeconfig: Path, work: Path) -> dict[str, Any]:
    metrics = Metrics()
    client = KubeClient.open(load_connection(str(kubeconfig)))
    store = await open_store(f"sqlite:///{work / 'imagegate.db'}")
    tracker = Tracker(store)
    if await tracker.get_environment(CLUSTER) is None:
        await tracker.create_environment(CLUSTER)
    spool = await Spool.open(work / "spool.db")
    recorder = Recorder(spool, tracker, metrics=metrics)
    throttle = HeartbeatThrottle(spool, interval_s=10)
    target = RecordTarget(
        cluster=CLUSTER, logical_environment="production", name_template=DeploymentNameTemplate()
    )
    state = ClusterState(target_of=lambda namespace: target, default_platform=Platform())
    watch = ClusterWatch(
        client,
        state=state,
        sink=throttle,
        tracker=tracker,
        cluster=CLUSTER,
        metrics=metrics,
        settings=ClusterWatchSettings(),
    )
    started = time.perf_counter()
    tasks = [asyncio.create_task(recorder.run()), asyncio.create_task(watch.run())]
    try:
        await watch.synced.wait()
        await throttle.close()
        await recorder.drain()
        elapsed = time.perf_counter() - started
        page = await tracker.list_deployments(DeploymentQuery(environment=CLUSTER, limit=1))
        plan = watch.status().last_reconcile
        assert plan is not None
        return {
            "seconds": elapsed,
            "workloads": state.workload_count,
            "recorded": plan.recorded,
            "refreshed": plan.refreshed,
            "stored": bool(page.records),
        }
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await spool.close()
        await store.close()
        await client.close()
