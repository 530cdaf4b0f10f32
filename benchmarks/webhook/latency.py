"""Latency as the webhook benchmark reports it: nearest-rank percentiles, in milliseconds."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from benchmarks.common.percentiles import nearest_rank


class Latency(msgspec.Struct, frozen=True):
    """Latency of a set of requests, in milliseconds."""

    min: float
    p50: float
    p90: float
    p99: float
    max: float
    mean: float


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
