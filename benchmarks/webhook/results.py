"""The results of ``make bench``: the typed parts of ``benchmarks/results/latest.json``.

Schema 2: several servers (floor, kopf, imagegate in two scenarios), closed- and
open-loop runs, a soak, ratios against the floor and kopf, and targets.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from benchmarks.webhook.latency import Latency
from benchmarks.webhook.load import RssSample

SCHEMA = 2

Mode = Literal["closed", "open", "soak"]


class Scenario(msgspec.Struct):
    """One load run against one server, as reported."""

    server: str
    mode: Mode
    concurrency: int | None
    """Closed loop: requests in flight."""
    rate: float | None
    """Open loop and soak: requests due per second."""
    measured_s: float
    requests: int
    """Answers received in the measured window."""
    requests_per_s: float
    latency_ms: Latency | None
    send_lag_ms: Latency | None
    errors: int
    """Every failed, wrong, late (timed out) or unsent request of the run, warm-up included."""
    failures: int
    """The errors that are wrong or failed answers, not a server falling behind
    (``not_sent``, ``timeout``) under an open loop."""
    errors_by_kind: dict[str, int]
    sent_total: int
    connections_limit: int
    connections_opened: int
    server_cpu_s_window: float
    """Server CPU time in the measured window."""
    server_cpu_s_until_idle: float
    """Server CPU time from the start of the window until it was idle again
    (imagegate: its spool drained into the store)."""
    server_cpu_ms_per_review: float
    """``server_cpu_s_until_idle`` per review answered from the window's start, in ms:
    the same number as server CPU seconds per 1000 reviews."""
    server_cores_busy: float
    """Server CPU time in the window over its length: cores kept busy."""
    client_cpu_s: float
    other_cpu_s: float
    """User and system CPU time of everything else on the machine during the window
    (other processes, kernel threads such as the file system journal)."""
    steal_cpu_s: float
    """CPU time the hypervisor gave to other guests during the window."""
    settle_s: float
    """After the load stopped, until the server was idle (imagegate: spool empty)."""
    rss_mib_after: float

    @property
    def load(self) -> str:
        """``c=8`` for a closed loop, ``500/s`` for an open one or the soak."""
        if self.mode == "closed":
            return f"c={self.concurrency}"
        return f"{self.rate:g}/s"


class Soak(msgspec.Struct):
    """The long open-loop run, with the server's memory sampled throughout."""

    scenario: Scenario
    rss_samples: list[RssSample]
    rss_every_s: float
    rss_baseline_mib: float | None
    """RSS at the first sample one minute or more into the soak."""
    rss_end_mib: float | None
    growth_mib: float | None
    growth_percent: float | None


class Ratio(msgspec.Struct):
    """An imagegate scenario against a baseline (floor or kopf) under the same load."""

    server: str
    baseline: str
    mode: Mode
    load: str
    throughput: float | None
    """requests/s over the baseline's (closed loop only: an open loop fixes the rate)."""
    p50: float | None
    p99: float | None
    cpu_per_review: float | None


class Target(msgspec.Struct):
    """A performance target: met, not met, or not evaluated (``met`` is ``None``)."""

    name: str
    server: str
    load: str
    met: bool | None
    detail: str


class Check(msgspec.Struct):
    """A correctness check: any that fails makes the run fail."""

    name: str
    ok: bool
    detail: str


class ServerSummary(msgspec.Struct):
    """One server of the run: how it ran, or why it did not."""

    name: str
    description: str
    event_loop: str | None = None
    peak_rss_mib: float | None = None
    command: list[str] = msgspec.field(default_factory=list)
    skipped: str | None = None
    """Why the server was not measured, if it was not."""
    metrics: dict[str, float] = msgspec.field(default_factory=dict)


class Results(msgspec.Struct):
    """Everything a run wrote to ``benchmarks/results/latest.json``."""

    schema: int
    ok: bool
    """Every correctness check passed (targets do not count)."""
    generated_at: str
    wall_s: float
    machine: dict[str, Any]
    settings: dict[str, Any]
    corpus: dict[str, Any]
    servers: list[ServerSummary]
    scenarios: list[Scenario]
    soak: Soak | None
    ratios: list[Ratio]
    targets: list[Target]
    checks: list[Check]
    verification: dict[str, dict[str, Any]]
    """Per imagegate scenario: what its store and spool held at the end."""
