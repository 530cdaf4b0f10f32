"""The chart's PostgreSQL mode on the node cluster: two replicas sharing one
PostgreSQL server (Debian's, running inside the cluster's network namespace),
a PodDisruptionBudget, and no admission lost while one replica's pod is deleted
in the middle of a stream of Deployments."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from testbed.postgres import postgres_bin_dir

from cluster.helm import Helm
from cluster.images import ClusterImages
from cluster.node import NodeCluster
from cluster.release import RESTRICTED, Release, create_namespace, workload
from e2e.webhook import eventually

STREAM = 24
DELETE_AFTER = 6


class PostgresServer:
    """``postgres`` on the node's address, with a role and a database for imagegate."""

    def __init__(self, cluster: NodeCluster, work_dir: Path) -> None:
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            pytest.fail("PostgreSQL is not installed: apt-get install -y postgresql")
        self.bin_dir = bin_dir
        self.cluster = cluster
        self.data = work_dir / "data"
        self.sockets = work_dir / "sockets"
        self.password = secrets.token_hex(16)
        self.port = 5432

    @property
    def url(self) -> str:
        return f"postgresql://imagegate:{self.password}@{self.cluster.layout.node_ip}:{self.port}/imagegate"

    def start(self) -> None:
        self.sockets.mkdir(parents=True)
        subprocess.run(["chown", "-R", "postgres:postgres", str(self.data.parent)], check=True)
        self._as_postgres(
            str(self.bin_dir / "initdb"),
            "--pgdata",
            str(self.data),
            "--username",
            "postgres",
            "--auth-local",
            "trust",
            "--auth-host",
            "scram-sha-256",
            "--no-sync",
        )
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.write("host all all 0.0.0.0/0 scram-sha-256\n")
        process = self.cluster.start_process(
            "postgres",
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(self.bin_dir / "postgres"),
                "-D",
                str(self.data),
                "-c",
                f"listen_addresses={self.cluster.layout.node_ip}",
                "-c",
                f"port={self.port}",
                "-c",
                f"unix_socket_directories={self.sockets}",
                "-c",
                "fsync=off",
            ],
        )
        process.wait_until(self._accepts, what="connections")
        self._psql(f"CREATE ROLE imagegate LOGIN PASSWORD '{self.password}'")
        self._psql("CREATE DATABASE imagegate OWNER imagegate")

    def stop(self) -> None:
        process = self.cluster.processes.get("postgres")
        if process is not None:
            process.stop()

    def _accepts(self) -> bool:
        completed = subprocess.run(
            [str(self.bin_dir / "pg_isready"), "-h", str(self.sockets), "-p", str(self.port)],
            capture_output=True,
            check=False,
        )
        return completed.returncode == 0

    def _psql(self, statement: str) -> None:
        self._as_postgres(
            str(self.bin_dir / "psql"),
            "-h",
            str(self.sockets),
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            statement,
        )

    def _as_postgres(self, *command: str) -> None:
        completed = subprocess.run(
            ["runuser", "-u", "postgres", "--", *command],
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise AssertionError(f"{command[0]} failed: {completed.stderr}{completed.stdout}")


@pytest.fixture(scope="module")
def release(
    node_cluster: NodeCluster,
    helm: Helm,
    images: ClusterImages,
) -> Iterator[Release]:
    # Not under pytest's base directory: that is root's alone, and PostgreSQL runs as
    # its own user.
    work_dir = Path(tempfile.mkdtemp(prefix="imagegate-node-postgres-"))
    work_dir.chmod(0o755)
    server = PostgresServer(node_cluster, work_dir)
    installed = Release(
        cluster=node_cluster,
        helm=helm,
        images=images,
        name="imagegate-ha",
        namespace="imagegate-ha",
    )
    try:
        server.start()
        create_namespace(node_cluster, installed.namespace, RESTRICTED)
        node_cluster.kubectl(
            "create",
            "secret",
            "generic",
            "imagegate-store",
            "-n",
            installed.namespace,
            f"--from-literal=url={server.url}",
        )
        values: dict[str, Any] = {
            **installed.base_values(),
            "store": {"type": "postgresql", "postgresql": {"existingSecret": "imagegate-store"}},
        }
        installed.install(values)
        yield installed
    finally:
        helm("uninstall", installed.name, "-n", installed.namespace, "--wait", check=False)
        node_cluster.kubectl(
            "delete", "namespace", installed.namespace, "--wait=false", check=False
        )
        server.stop()
        shutil.rmtree(work_dir, ignore_errors=True)


def test_two_replicas_with_a_disruption_budget_on_one_node(
    release: Release, node_cluster: NodeCluster
) -> None:
    pods = release.pods()
    assert len(pods) == 2
    assert all(status["ready"] for pod in pods for status in pod["status"]["containerStatuses"])
    budget = node_cluster.get_json("pdb", release.name, "-n", release.namespace)
    assert budget["spec"]["minAvailable"] == 1  # type: ignore[index]
    assert budget["status"]["disruptionsAllowed"] == 1  # type: ignore[index]
    # The default anti-affinity is preferred, so one node holds both.
    affinity = pods[0]["spec"]["affinity"]["podAntiAffinity"]
    assert "preferredDuringSchedulingIgnoredDuringExecution" in affinity
    assert {pod["spec"]["nodeName"] for pod in pods} == {node_cluster.layout.node_name}


def test_no_admission_fails_while_a_replica_is_deleted(
    release: Release, node_cluster: NodeCluster, images: ClusterImages
) -> None:
    namespace = "stream"
    create_namespace(node_cluster, namespace, {})
    victim = release.pods()[0]["metadata"]["name"]
    failures = []
    for number in range(STREAM):
        if number == DELETE_AFTER:
            node_cluster.kubectl("delete", "pod", victim, "-n", release.namespace, "--wait=false")
        result = node_cluster.kubectl(
            "apply",
            "-f",
            "-",
            input_text=workload(f"app-{number}", namespace, images.busybox_1.by_digest, replicas=0),
            check=False,
        )
        if result.returncode != 0:
            failures.append((number, result.stderr.strip()))
    assert failures == []

    # Both replicas write one store: every Deployment has its record, whichever
    # replica admitted it.
    for number in range(STREAM):
        name = f"{namespace}/app-{number}/app"
        (record,) = release.records_when(
            name, lambda found: len(found) == 1, what=f"{name} recorded"
        )
        assert record["status"] == "deployed"
    eventually(
        lambda: (
            len(
                [
                    pod
                    for pod in release.pods()
                    if not pod["metadata"].get("deletionTimestamp")
                    and all(s["ready"] for s in pod["status"].get("containerStatuses", []))
                ]
            )
            == 2
        ),
        what="two ready replicas again",
        timeout_s=120,
    )
