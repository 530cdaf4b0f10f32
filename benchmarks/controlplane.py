"""A real kube-apiserver + etcd for the kopf peer, which logs in and discovers resources.

It reuses the end-to-end tests' control plane (``tests/e2e/controlplane.py``) and
binaries (built and cached by ``hack/e2e-tools.sh``; ``IMAGEGATE_E2E_BIN`` names
their directory). Without them the kopf peer is skipped, and ``binaries`` says why.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
_BINARIES = ("etcd", "kube-apiserver")

# The tests' control plane is imported, not copied; tests/ is not a package on the path.
if str(REPO_DIR / "tests") not in sys.path:
    sys.path.append(str(REPO_DIR / "tests"))

from e2e.controlplane import ControlPlane, ProcessFailedError  # noqa: E402
from e2e.pki import make_cluster_pki  # noqa: E402


def binaries(configured: str | None) -> Path | str:
    """The directory of the control-plane binaries, or why the kopf peer cannot run."""
    if importlib.util.find_spec("kopf") is None:
        return "kopf is not installed (make install installs the bench extra)"
    if not configured:
        return (
            "IMAGEGATE_E2E_BIN is not set: make bench sets it from hack/e2e-tools.sh, "
            "which builds kube-apiserver and etcd"
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
