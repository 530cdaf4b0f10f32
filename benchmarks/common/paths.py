"""Where the benchmarks find the repository and keep their results."""

from __future__ import annotations

from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[2]
"""The repository's root: the benchmarks' sub-processes run there (``python -m``)."""
RESULTS_DIR = REPO_DIR / "benchmarks" / "results"
"""Each benchmark's JSON results, kept in the repository."""
