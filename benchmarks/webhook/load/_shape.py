"""The shape of a load: a closed loop (fixed concurrency) or an open loop (fixed rate)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["closed", "open"]


@dataclass(frozen=True)
class LoadShape:
    """How requests are sent: a closed loop or an open loop, and how long."""

    mode: Mode
    warmup_s: float
    duration_s: float
    concurrency: int = 1
    rate: float = 0.0
    connections: int = 64
    max_outstanding: int = 256
    max_requests: int = 2_000_000
    request_timeout_s: float = 10.0

    @property
    def connection_limit(self) -> int:
        return self.concurrency if self.mode == "closed" else self.connections

    def arguments(self) -> list[str]:
        """The command-line flags of ``main`` that give this shape."""
        flags = ["--mode", self.mode, "--warmup", f"{self.warmup_s:g}"]
        flags += ["--duration", f"{self.duration_s:g}", "--max-requests", str(self.max_requests)]
        flags += ["--request-timeout", f"{self.request_timeout_s:g}"]
        if self.mode == "closed":
            return [*flags, "--concurrency", str(self.concurrency)]
        flags += ["--rate", f"{self.rate:g}", "--connections", str(self.connections)]
        return [*flags, "--max-outstanding", str(self.max_outstanding)]
