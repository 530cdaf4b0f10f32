"""The open-loop schedule: request ``i`` is due at ``start + i / rate``, answers or not.

Measuring latency from the *scheduled* time, not from when the request happened to
be sent, keeps a slow server from hiding its queue (coordinated omission): a request
that waits behind a stalled one is charged for the wait.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class OpenLoopSchedule:
    """Send times of ``total`` requests at ``rate`` per second from ``start``."""

    start: float
    rate: float
    total: int

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError(f"rate {self.rate} must be positive")
        if self.total < 0:
            raise ValueError(f"total {self.total} must not be negative")

    def due_at(self, index: int) -> float:
        """When request ``index`` (from 0) is due."""
        return self.start + index / self.rate

    def due_by(self, now: float) -> int:
        """How many requests are due at or before ``now`` (at most ``total``)."""
        if now < self.start:
            return 0
        # The epsilon absorbs float error, so a request due exactly now counts as due.
        return min(self.total, math.floor((now - self.start) * self.rate + 1e-9) + 1)


def requests_for(rate: float, seconds: float) -> int:
    """Requests an open loop at ``rate`` schedules in ``seconds``."""
    return max(0, round(rate * seconds))
