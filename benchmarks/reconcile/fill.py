"""The cluster the reconciliation reads: Deployments created through the API server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from imagegate.kube import KubeClient, load_connection

PER_NAMESPACE = 100


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
