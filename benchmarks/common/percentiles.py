"""Percentiles as the benchmarks report them: nearest rank."""

from __future__ import annotations

import math
from collections.abc import Sequence


def nearest_rank(ordered: Sequence[float], quantile: float) -> float:
    """The smallest value with at least ``quantile`` of ``ordered`` (sorted) at or below it."""
    if not ordered:
        raise ValueError("no values")
    if not 0.0 < quantile <= 1.0:
        raise ValueError(f"quantile {quantile} is not in (0, 1]")
    return ordered[max(0, math.ceil(quantile * len(ordered)) - 1)]
