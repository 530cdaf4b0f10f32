"""Pacing retries: the delay doubles after each failure, up to a cap, and starts over
after a success. One shape for every loop that waits out an outage (the store, the
Kubernetes API, a background task that keeps failing)."""

from __future__ import annotations

import asyncio


class Backoff:
    """Exponential backoff between ``initial_s`` and ``max_s`` seconds."""

    def __init__(self, initial_s: float, max_s: float) -> None:
        if not 0 < initial_s <= max_s:
            raise ValueError(f"backoff needs 0 < initial ({initial_s}) <= max ({max_s})")
        self._initial_s = initial_s
        self._max_s = max_s
        self.next_s = initial_s
        """How long the next ``wait`` sleeps (for a log line before it)."""

    async def wait(self) -> None:
        """Sleep the current delay (nothing to await but time), then double it."""
        await asyncio.sleep(self.next_s)
        self.next_s = min(self.next_s * 2, self._max_s)

    def reset(self) -> None:
        """After a success: the next failure waits the initial delay again."""
        self.next_s = self._initial_s
