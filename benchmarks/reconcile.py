"""``make bench-reconcile``: the cluster watch reconciling 10,000 workloads.

A real kube-apiserver + etcd (the end-to-end suite's, ``IMAGEGATE_E2E_BIN``) is
filled with ``--workloads`` Deployments (10,000 by default, 100 per namespace).
Then three phases run, each in a process of its own so that its peak RSS is its
own:

- ``floor``: only the paginated lists the watch has to read (every tracked kind,
  and Nodes), parsed as JSON: what any reconciler of this cluster pays;
- ``cold``: imagegate's cluster watch from an empty SQLite store until every
  workload is recorded in the store (lists, records computed, spooled, written);
- ``warm``: the same on the store the cold phase left, as after a restart: every
  record is already there, so the reconciliation only refreshes.

Time and peak RSS are reported, with each phase's ratio to the floor; results go
to ``benchmarks/results/reconcile.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
sys.path.insert(0, str(REPO_DIR / "src"))
sys.path.insert(0, str(REPO_DIR))

from benchmarks.controlplane import control_plane  # noqa: E402

from imagegate.admission import DeploymentNameTemplate, RecordTarget  # noqa: E402
from imagegate.cluster import (  # noqa: E402
    TRACKED_KINDS,
    ClusterState,
    ClusterWatch,
    ClusterWatchSettings,
)
from imagegate.kube import KubeClient, load_connection  # noqa: E402
from imagegate.metrics import Metrics  # noqa: E402
from imagegate.recording import HeartbeatThrottle, Recorder, Spool  # noqa: E402
from imagegate.store import open_store  # noqa: E402
from imagegate.tracking import DeploymentQuery, Platform, Tracker  # noqa: E402

CLUSTER = "bench"
PER_NAMESPACE = 100
CONTROL_PLANE = ("etcd", "kube-apiserver")
RESULTS = BENCH_DIR / "results" / "reconcile.json"


def deployment(name: str, namespace: str, index: int) -> dict[str, Any]:
    digest = f"sha256:{index:064x}"
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": f"registry.example.com/bench/{name}:1.0@{digest}",
                            "ports": [{"containerPort": 8080}],
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                        }
                    ]
                },
            },
        },
    }


async def fill(kubeconfig: Path, workloads: int) -> None:
    """Create ``workloads`` Deployments, 16 requests at a time."""
    client = KubeClient.open(load_connection(str(kubeconfig)))
    try:
        namespaces = [f"bench-{n}" for n in range((workloads + PER_NAMESPACE - 1) // PER_NAMESPACE)]
        for namespace in namespaces:
            await client.post(
                "/api/v1/namespaces",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
                timeout_s=30,
            )
        queue: asyncio.Queue[int] = asyncio.Queue()
        for index in range(workloads):
            queue.put_nowait(index)

        async def worker() -> None:
            while not queue.empty():
                index = queue.get_nowait()
                namespace = namespaces[index // PER_NAMESPACE]
                body = deployment(f"web-{index}", namespace, index)
                await client.post(
                    f"/apis/apps/v1/namespaces/{namespace}/deployments", body, timeout_s=60
                )

        await asyncio.gather(*(worker() for _ in range(16)))
    finally:
        await client.close()


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


def run_phase(phase: str, kubeconfig: Path, work: Path) -> dict[str, Any]:
    completed = subprocess.run(
        [
            sys.executable,
            __file__,
            "--phase",
            phase,
            "--kubeconfig",
            str(kubeconfig),
            "--work",
            str(work),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if completed.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=10_000)
    parser.add_argument("--phase", choices=["floor", "cold", "warm"])
    parser.add_argument("--kubeconfig", type=Path)
    parser.add_argument("--work", type=Path)
    arguments = parser.parse_args()
    if arguments.phase:
        if arguments.phase == "floor":
            result = asyncio.run(floor_phase(arguments.kubeconfig))
        else:
            result = asyncio.run(imagegate_phase(arguments.kubeconfig, arguments.work))
        result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    configured = os.environ.get("IMAGEGATE_E2E_BIN", "")
    bin_dir = Path(configured)
    if not configured or not all((bin_dir / name).is_file() for name in CONTROL_PLANE):
        raise SystemExit(
            "IMAGEGATE_E2E_BIN must name kube-apiserver and etcd: make bench-reconcile sets "
            "it from hack/e2e-tools.sh"
        )
    with tempfile.TemporaryDirectory(prefix="imagegate-reconcile-") as temporary:
        work = Path(temporary)
        with control_plane(bin_dir, work / "plane") as plane:
            started = time.perf_counter()
            asyncio.run(fill(plane.kubeconfig, arguments.workloads))
            print(
                f"filled {arguments.workloads} Deployments in {time.perf_counter() - started:.1f}s"
            )
            phases = {
                phase: run_phase(phase, plane.kubeconfig, work)
                for phase in ("floor", "cold", "warm")
            }
    floor = phases["floor"]
    report = {
        "workloads": arguments.workloads,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "phases": phases,
        "ratios_to_floor": {
            phase: {
                "time": round(result["seconds"] / floor["seconds"], 2),
                "peak_rss": round(result["peak_rss_mib"] / floor["peak_rss_mib"], 2),
            }
            for phase, result in phases.items()
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print("| phase | seconds | peak RSS MiB | time / floor | RSS / floor |")
    print("| --- | --: | --: | --: | --: |")
    for phase, result in phases.items():
        ratio = report["ratios_to_floor"][phase]
        print(
            f"| {phase} | {result['seconds']:.2f} | {result['peak_rss_mib']:.1f} "
            f"| {ratio['time']}x | {ratio['peak_rss']}x |"
        )


if __name__ == "__main__":
    main()
