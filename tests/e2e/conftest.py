"""Session fixtures: a real cluster, imagegate as its validating webhook.

By default the cluster is a control plane started here from binaries that
``hack/e2e-tools.sh`` builds into a cache outside the repository;
``IMAGEGATE_E2E_BIN`` points at them (``make e2e`` and ``.ci/run`` set it).
Without it the suite is skipped, unless ``IMAGEGATE_E2E_REQUIRED=1`` makes that a
failure (as in CI). With ``IMAGEGATE_E2E_KUBECONFIG`` the same scenarios run on an
existing cluster (``make kind-e2e``), calling imagegate at
``IMAGEGATE_E2E_WEBHOOK_HOST``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from testbed.controlplane import Cluster, ControlPlane, ExternalCluster
from testbed.pki import make_cluster_pki

from e2e.webhook import (
    POLICIES,
    WebhookProcess,
    mutating_webhook_configuration,
    validating_webhook_configuration,
    wait_until_webhook_is_called,
)
from imagegate.tracking import utc_now
from support.registry import LocalRegistry


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


def e2e_bin() -> Path:
    """The directory of the control-plane binaries; skip (or fail in CI) without it."""
    configured = os.environ.get("IMAGEGATE_E2E_BIN")
    if not configured:
        message = "IMAGEGATE_E2E_BIN is not set: run `make e2e` (builds the control plane)"
        if os.environ.get("IMAGEGATE_E2E_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    bin_dir = Path(configured)
    missing = [
        name for name in ("etcd", "kube-apiserver", "kubectl") if not (bin_dir / name).exists()
    ]
    if missing:
        pytest.fail(f"{bin_dir} lacks {', '.join(missing)}: run hack/e2e-tools.sh")
    return bin_dir


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    external = os.environ.get("IMAGEGATE_E2E_KUBECONFIG")
    if external:
        yield ExternalCluster(kubeconfig=Path(external))
        return
    bin_dir = e2e_bin()
    work = tmp_path_factory.mktemp("control-plane")
    plane = ControlPlane(bin_dir=bin_dir, work_dir=work, pki=make_cluster_pki(work, now=utc_now()))
    try:
        plane.start()
        yield plane
    finally:
        plane.stop()


@pytest.fixture(scope="session")
def webhook(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebhookProcess]:
    work_dir = tmp_path_factory.mktemp("imagegate")
    policies = work_dir / "policies.yaml"
    policies.write_text(POLICIES)
    process = WebhookProcess(
        work_dir=work_dir,
        kubeconfig=cluster.kubeconfig,
        host=os.environ.get("IMAGEGATE_E2E_WEBHOOK_HOST", "127.0.0.1"),
        policies=policies,
    )
    try:
        process.start()
        cluster.kubectl("apply", "-f", "-", input_text=validating_webhook_configuration(process))
        cluster.kubectl("apply", "-f", "-", input_text=mutating_webhook_configuration(process))
        wait_until_webhook_is_called(cluster)
        yield process
    finally:
        for kind in ("validatingwebhookconfiguration", "mutatingwebhookconfiguration"):
            cluster.kubectl("delete", kind, "imagegate", check=False)
        process.stop()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """A real OCI registry on the host, where imagegate looks tags up."""
    local = LocalRegistry(work_dir=tmp_path_factory.mktemp("registry"))
    local.start()
    try:
        yield local
    finally:
        local.stop()
