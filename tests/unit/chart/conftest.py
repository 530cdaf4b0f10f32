"""The helm binary for the chart tests: skipped without it, unless in CI."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "charts" / "imagegate"


def find_helm() -> Path | None:
    """$HELM, else helm in $IMAGEGATE_E2E_BIN, else the one on PATH."""
    candidates = [os.environ.get("HELM")]
    if os.environ.get("IMAGEGATE_E2E_BIN"):
        candidates.append(str(Path(os.environ["IMAGEGATE_E2E_BIN"]) / "helm"))
    candidates.append(shutil.which("helm"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def helm() -> Path:
    found = find_helm()
    if found is None:
        message = (
            "helm not found ($HELM, $IMAGEGATE_E2E_BIN/helm or PATH): "
            "run hack/e2e-tools.sh and set IMAGEGATE_E2E_BIN"
        )
        if os.environ.get("CI") or os.environ.get("IMAGEGATE_E2E_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return found
