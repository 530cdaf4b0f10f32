"""Session fixtures: a cluster with a real node, and imagegate's images in its registry.

``IMAGEGATE_CLUSTER_BIN`` points at what ``hack/cluster-tools.sh`` builds (``make
cluster-e2e`` and ``.ci/run`` set it, after ``hack/cluster-images.sh``). Without it
the suite is skipped, unless ``IMAGEGATE_CLUSTER_REQUIRED=1`` makes that a failure
(as in CI). The node needs root: containers, mounts and a network namespace.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from cluster.helm import Helm
from cluster.images import ClusterImages, push_all
from cluster.node import NodeCluster, tools_from_environment

REQUIRED_BINARIES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
    "helm",
    "coredns",
    "pause",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/cluster/" in str(item.path):
            item.add_marker(pytest.mark.cluster)
            # Starting pods, pulling images and helm --wait take longer than a unit
            # test's bound; each scenario is still bounded.
            item.add_marker(pytest.mark.timeout(600))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed scenario's report ends with the tails of every component's log: in CI
    the work directory is gone by the time anyone reads the report."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    cluster = getattr(item, "funcargs", {}).get("node_cluster")
    if report.failed and isinstance(cluster, NodeCluster):
        report.sections.append(("cluster components", cluster.log_tails()))


def _unavailable(message: str) -> None:
    if os.environ.get("IMAGEGATE_CLUSTER_REQUIRED") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def node_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    tools = tools_from_environment()
    if tools is None:
        _unavailable("IMAGEGATE_CLUSTER_BIN is not set: run `make cluster-e2e`")
        raise AssertionError("unreachable")
    if os.geteuid() != 0:
        _unavailable("the node harness needs root (containers, mounts, a network namespace)")
    missing = [name for name in REQUIRED_BINARIES if not (tools.bin_dir / name).exists()]
    if missing:
        pytest.fail(f"{tools.bin_dir} lacks {', '.join(missing)}: run hack/cluster-tools.sh")
    cluster = NodeCluster(tools=tools, work_dir=tmp_path_factory.mktemp("node-cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def images(node_cluster: NodeCluster, tmp_path_factory: pytest.TempPathFactory) -> ClusterImages:
    return push_all(node_cluster, tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="session")
def helm(node_cluster: NodeCluster, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return Helm(cluster=node_cluster, home=tmp_path_factory.mktemp("helm"))
