"""A real kube-apiserver + etcd for a benchmark: the kopf peer logs in to one, the
reconciliation benchmark fills one with workloads.

It is the end-to-end tests' control plane (``testbed.controlplane``), on the
binaries ``hack/e2e-tools.sh`` builds and caches; ``IMAGEGATE_E2E_BIN`` names
their directory, and ``binaries`` says why there are none.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from testbed.controlplane import ControlPlane, ProcessFailedError
from testbed.pki import make_cluster_pki

_BINARIES = ("etcd", "kube-apiserver")


def binaries(configured: str | None) -> Path | str:
    """The directory of the control-plane binaries, or why there is none."""
    if not configured:
        return (
            "IMAGEGATE_E2E_BIN is not set: the Makefile's bench targets set it from "
            "hack/e2e-tools.sh, which builds kube-apiserver and etcd"
        )
    directory = Path(configured)
    missing = [name for name in _BINARIES if not (directory / name).is_file()]
    if missing:
        return f"{directory} lacks {', '.join(missing)}: run hack/e2e-tools.sh"
    return directory


class ControlPlaneError(RuntimeError):
    """etcd or kube-apiserver did not start; the message has its log's tail."""


@contextmanager
def control_plane(bin_dir: Path, work: Path) -> Iterator[ControlPlane]:
    """etcd and kube-apiserver on loopback with an admin kubeconfig; stopped on exit."""
    work.mkdir(parents=True, exist_ok=True)
    plane = ControlPlane(
        bin_dir=bin_dir, work_dir=work, pki=make_cluster_pki(work, now=datetime.now(UTC))
    )
    try:
        try:
            plane.start()
        except ProcessFailedError as error:
            raise ControlPlaneError(str(error)) from error
        yield plane
    finally:
        plane.stop()
