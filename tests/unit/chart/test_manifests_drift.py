"""manifests/ is exactly what hack/render-manifests.sh makes of the chart now."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_manifests_match_the_chart(helm: Path, tmp_path: Path) -> None:
    rendered = subprocess.run(
        [str(REPO / "hack" / "render-manifests.sh"), str(tmp_path)],
        env={**os.environ, "HELM": str(helm)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert rendered.returncode == 0, rendered.stderr
    committed = sorted(path.name for path in (REPO / "manifests").iterdir())
    fresh = sorted(path.name for path in tmp_path.iterdir())
    assert fresh == committed
    for name in fresh:
        assert (tmp_path / name).read_bytes() == (REPO / "manifests" / name).read_bytes(), (
            f"manifests/{name} is stale: run `make manifests` and commit the result"
        )
