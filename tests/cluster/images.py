"""The images the cluster runs: built by ``hack/cluster-images.sh`` into buildah's
local storage, pushed here into the registry inside the cluster's namespace, and
pulled from there by containerd like from any registry."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from cluster.node import NodeCluster

LOCAL_PREFIX = "localhost/imagegate-e2e"


@dataclass(frozen=True)
class PushedImage:
    """An image in the cluster's registry."""

    repository: str
    """``host:port/name``."""
    tag: str
    digest: str
    """The manifest's digest, as the registry serves it."""

    @property
    def by_digest(self) -> str:
        return f"{self.repository}@{self.digest}"

    @property
    def by_tag(self) -> str:
        return f"{self.repository}:{self.tag}"


@dataclass(frozen=True)
class ClusterImages:
    imagegate: PushedImage
    busybox_1: PushedImage
    busybox_2: PushedImage
    """The same workload, one generation later: another digest."""


def buildah() -> str:
    found = shutil.which("buildah")
    if found is None:
        pytest.fail("buildah is not installed: run hack/cluster-tools.sh")
    return found


def push(cluster: NodeCluster, local_name: str, name: str, tag: str, work_dir: Path) -> PushedImage:
    """``buildah push`` of a local image to ``<registry>/<name>:<tag>``."""
    missing = cluster.run_inside(
        [buildah(), "inspect", "--type", "image", f"{LOCAL_PREFIX}/{local_name}"], check=False
    )
    if missing.returncode != 0:
        pytest.fail(
            f"{LOCAL_PREFIX}/{local_name} is not built: run "
            'hack/cluster-images.sh "$(hack/cluster-tools.sh | tail -1)"'
        )
    repository = f"{cluster.layout.registry}/{name}"
    digest_file = work_dir / f"{name}-{tag}.digest"
    cluster.run_inside(
        [
            buildah(),
            "push",
            "--quiet",
            "--tls-verify=false",
            "--digestfile",
            str(digest_file),
            f"{LOCAL_PREFIX}/{local_name}",
            f"docker://{repository}:{tag}",
        ],
        timeout_s=300,
    )
    return PushedImage(repository=repository, tag=tag, digest=digest_file.read_text().strip())


def push_all(cluster: NodeCluster, work_dir: Path) -> ClusterImages:
    """Every image the scenarios use; the sandbox (pause) image too."""
    pause_version = (cluster.tools.bin_dir / "pause.version").read_text().strip()
    push(cluster, f"pause:{pause_version}", "pause", pause_version, work_dir)
    return ClusterImages(
        imagegate=push(cluster, "imagegate:dev", "imagegate", "dev", work_dir),
        busybox_1=push(cluster, "busybox:1", "busybox", "1", work_dir),
        busybox_2=push(cluster, "busybox:2", "busybox", "2", work_dir),
    )
