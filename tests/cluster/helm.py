"""helm against the node cluster, with its own configuration and cache directories
(nothing of the user's ~/.config/helm is read or written)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cluster.node import NodeCluster, clean_env

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "imagegate"


@dataclass(frozen=True)
class Helm:
    cluster: NodeCluster
    home: Path

    def __call__(
        self, *arguments: str, check: bool = True, timeout_s: float = 420
    ) -> subprocess.CompletedProcess[str]:
        env = clean_env()
        env.update(
            HELM_CONFIG_HOME=str(self.home / "config"),
            HELM_CACHE_HOME=str(self.home / "cache"),
            HELM_DATA_HOME=str(self.home / "data"),
            KUBECONFIG=str(self.cluster.kubeconfig),
        )
        return self.cluster.run_inside(
            [self.cluster.tools.path("helm"), *arguments],
            check=check,
            timeout_s=timeout_s,
            env=env,
            what="helm",
        )

    def values_file(self, name: str, values: dict[str, Any]) -> Path:
        """``values`` as a file for ``--values`` (JSON is YAML)."""
        path = self.home / f"{name}.values.json"
        path.write_text(json.dumps(values, indent=2))
        return path
