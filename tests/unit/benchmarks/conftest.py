"""The benchmark modules are imported as ``benchmarks.*``, from the repository's root."""

from __future__ import annotations

import sys
from pathlib import Path

_REPO_DIR = str(Path(__file__).resolve().parents[3])
if _REPO_DIR not in sys.path:
    sys.path.append(_REPO_DIR)
