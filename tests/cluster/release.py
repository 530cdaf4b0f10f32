"""imagegate installed by its Helm chart, and what a platform team does with it:
read its records with ``kubectl exec``, apply workloads, wait for rollouts."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cluster.helm import CHART, Helm
from cluster.images import ClusterImages
from cluster.node import NodeCluster
from e2e.webhook import eventually

CLUSTER_NAME = "node-e2e"
ENVIRONMENT_LABEL = "imagegate.dev/environment"
# As the README labels imagegate's namespace.
RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}


def create_namespace(cluster: NodeCluster, name: str, labels: dict[str, str]) -> None:
    label_lines = "".join(f"\n    {key}: {json.dumps(value)}" for key, value in labels.items())
    cluster.kubectl(
        "apply",
        "-f",
        "-",
        input_text=f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n"
        f"  labels:{label_lines or ' {}'}\n",
    )


def workload(name: str, namespace: str, image: str, *, replicas: int = 1) -> str:
    """A Deployment of one busybox container ``app`` that runs until stopped."""
    return json.dumps(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {
                        "terminationGracePeriodSeconds": 1,
                        "containers": [
                            {
                                "name": "app",
                                "image": image,
                                "command": ["sleep", "86400"],
                                "resources": {"requests": {"cpu": "1m", "memory": "8Mi"}},
                            }
                        ],
                    },
                },
            },
        }
    )


@dataclass
class Release:
    """One ``helm install`` of charts/imagegate."""

    cluster: NodeCluster
    helm: Helm
    images: ClusterImages
    name: str = "imagegate"
    namespace: str = "imagegate"

    def base_values(self) -> dict[str, Any]:
        image = self.images.imagegate
        return {
            "image": {
                "repository": image.repository,
                "tag": image.tag,
                "digest": image.digest,
            },
            "clusterName": CLUSTER_NAME,
            "registry": {"insecure": [self.cluster.layout.registry]},
        }

    def install(self, values: dict[str, Any], *, command: str = "install") -> None:
        values_file = self.helm.values_file(f"{self.name}-{command}", values)
        self.helm(
            command,
            self.name,
            str(CHART),
            "--namespace",
            self.namespace,
            "--values",
            str(values_file),
            "--wait",
            "--timeout",
            "5m",
        )
        self.wait_until_called()

    def wait_until_called(self) -> None:
        """``helm --wait`` returns once the pods are ready, which can be before the node
        routes the Service to them: wait until the API server reaches the webhook."""
        probe = workload("probe", "default", self.images.busybox_1.by_digest)

        def reached() -> bool:
            result = self.cluster.kubectl(
                "apply", "--dry-run=server", "-f", "-", input_text=probe, check=False
            )
            # Allowed, or denied by a policy: either way imagegate answered.
            return result.returncode == 0 or "denied the request" in result.stderr

        eventually(reached, what="the API server reaching imagegate's Service", timeout_s=60)

    def upgrade(self, values: dict[str, Any]) -> None:
        self.install(values, command="upgrade")

    def uninstall(self) -> None:
        self.helm(
            "uninstall", self.name, "--namespace", self.namespace, "--wait", "--timeout", "2m"
        )

    def pods(self) -> list[dict[str, Any]]:
        listing = self.cluster.get_json(
            "pods",
            "-n",
            self.namespace,
            "-l",
            f"app.kubernetes.io/name=imagegate,app.kubernetes.io/instance={self.name}",
        )
        items: list[dict[str, Any]] = listing["items"]  # type: ignore[assignment]
        return [
            pod
            for pod in items
            if pod["metadata"].get("labels", {}).get("app.kubernetes.io/component") != "test"
        ]

    def cli(self, *arguments: str, check: bool = True) -> str:
        """``imagegate ARGS`` inside a running imagegate pod, on its own store."""
        completed = self.cluster.kubectl(
            "exec",
            "-n",
            self.namespace,
            f"deployment/{self.name}",
            "--",
            "imagegate",
            *arguments,
            check=check,
        )
        return completed.stdout

    def records(self, deployment_name: str) -> list[dict[str, Any]]:
        """The history of one deployment, newest first."""
        output = self.cli(
            "deployment", "list", "--history", "--deployment-name", deployment_name, "-o", "json"
        )
        loaded = json.loads(output)
        items: list[dict[str, Any]] = loaded["items"] if isinstance(loaded, dict) else loaded
        return items

    def records_when(
        self, deployment_name: str, ready: Callable[[list[dict[str, Any]]], bool], *, what: str
    ) -> list[dict[str, Any]]:
        def history_when_ready() -> list[dict[str, Any]] | None:
            found = self.records(deployment_name)
            return found if found and ready(found) else None

        history: list[dict[str, Any]] = eventually(history_when_ready, what=what, timeout_s=90)
        return history

    def logs(self) -> str:
        return self.cluster.kubectl(
            "logs", "-n", self.namespace, f"deployment/{self.name}", "--all-containers"
        ).stdout


def write_persistent_volume(cluster: NodeCluster, release: Release, directory: Path) -> None:
    """A hostPath volume for the chart's SQLite claim, bound to it in advance (the
    cluster has no provisioner), writable by imagegate's user."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    os.chown(directory, 65532, 65532)
    cluster.kubectl(
        "apply",
        "-f",
        "-",
        input_text=json.dumps(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": f"{release.name}-sqlite"},
                "spec": {
                    "capacity": {"storage": "1Gi"},
                    "accessModes": ["ReadWriteOnce"],
                    "persistentVolumeReclaimPolicy": "Retain",
                    "storageClassName": "",
                    "claimRef": {"namespace": release.namespace, "name": f"{release.name}-data"},
                    "hostPath": {"path": str(directory), "type": "Directory"},
                },
            }
        ),
    )
