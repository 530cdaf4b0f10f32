"""Latency percentiles as the benchmark reports them: nearest rank, in milliseconds."""

from __future__ import annotations

import math
from collections.abc import Sequence

import msgspec


class Latency(msgspec.Struct, frozen=True):
    """Latency of a set of requests, in milliseconds."""

    min: float
    p50: float
    p90: float
    p99: float
    max: float
    mean: float


def nearest_rank(ordered: Sequence[float], quantile: float) -> float:
    """The smallest value with at least ``quantile`` of ``ordered`` (sorted) at or below it."""
    if not ordered:
        raise ValueError("no values")
    if not 0.0 < quantile <= 1.0:
        raise ValueError(f"quantile {quantile} is not in (0, 1]")
    return ordered[max(0, math.ceil(quantile * len(ordered)) - 1)]


def summarize(seconds: Sequence[float]) -> Latency | None:
    """``seconds`` as a ``Latency`` in milliseconds; ``None`` when there are none."""
    if not seconds:
        return None
    ordered = sorted(seconds)

    def ms(value: float) -> float:
        return round(value * 1000, 3)

    return Latency(
        min=ms(ordered[0]),
        p50=ms(nearest_rank(ordered, 0.50)),
        p90=ms(nearest_rank(ordered, 0.90)),
        p99=ms(nearest_rank(ordered, 0.99)),
        max=ms(ordered[-1]),
        mean=ms(sum(ordered) / len(ordered)),
    )
