"""The performance targets of the benchmark, and whether a run met them.

Targets are reported, not enforced: a run that misses one still succeeds if every
correctness check passed. A target that could not be evaluated (its peer was
skipped, or the run left the load out) is reported as such, ``met`` ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from benchmarks.webhook.load import RssSample
from benchmarks.webhook.results import Ratio, Scenario, Soak, Target

THROUGHPUT_OVER_KOPF = 3.0
"""imagegate's requests/s at least this many times kopf's, at each concurrency."""
THROUGHPUT_OVER_FLOOR = 0.6
"""imagegate's requests/s at least this share of the floor's, at each concurrency."""
P99_LIMIT_MS = 10.0
"""Under an open loop (500/s by default) and in the soak: p99 below this, no errors."""
RSS_GROWTH_LIMIT_MIB = 10.0
RSS_GROWTH_LIMIT_PERCENT = 5.0
"""Over the soak, RSS at the end against RSS after the first minute: below both."""
RSS_BASELINE_AFTER_S = 60.0

_THROUGHPUT_TARGETS = (("kopf", THROUGHPUT_OVER_KOPF), ("floor", THROUGHPUT_OVER_FLOOR))


@dataclass(frozen=True)
class RssGrowth:
    """How the server's memory changed over the soak, after it had warmed up."""

    baseline_mib: float
    end_mib: float

    @property
    def mib(self) -> float:
        return round(self.end_mib - self.baseline_mib, 1)

    @property
    def percent(self) -> float:
        return round(100 * self.mib / self.baseline_mib, 1) if self.baseline_mib else 0.0


def rss_growth(
    samples: Sequence[RssSample], *, after_s: float = RSS_BASELINE_AFTER_S
) -> RssGrowth | None:
    """RSS at the last sample against the first sample ``after_s`` or more into the
    soak; ``None`` when the soak was too short to have both."""
    baseline = next((sample for sample in samples if sample.at_s >= after_s), None)
    if baseline is None or samples[-1].at_s <= baseline.at_s:
        return None
    return RssGrowth(baseline_mib=baseline.mib, end_mib=samples[-1].mib)


def evaluate(
    *,
    scenarios: Sequence[Scenario],
    ratios: Sequence[Ratio],
    soak: Soak | None,
    servers: Sequence[str],
    skipped: dict[str, str],
) -> list[Target]:
    """Every target for each imagegate scenario in ``servers``; ``skipped`` maps a peer
    that did not run to why."""
    targets: list[Target] = []
    by_ratio = {(r.server, r.baseline, r.load): r for r in ratios if r.mode == "closed"}
    for scenario in scenarios:
        if scenario.server not in servers or scenario.mode != "closed":
            continue
        for baseline, at_least in _THROUGHPUT_TARGETS:
            ratio = by_ratio.get((scenario.server, baseline, scenario.load))
            targets.append(_throughput(scenario, baseline, at_least, ratio, skipped.get(baseline)))
    for scenario in scenarios:
        if scenario.server in servers and scenario.mode == "open":
            targets.append(_tail_latency(scenario, "open loop"))
    if soak is not None:
        targets.append(_tail_latency(soak.scenario, "soak"))
        targets.append(_memory(soak))
    return targets


def _throughput(
    scenario: Scenario, baseline: str, at_least: float, ratio: Ratio | None, skipped: str | None
) -> Target:
    name = f"throughput >= {at_least:g}x {baseline}"
    if ratio is None or ratio.throughput is None:
        why = f"{baseline} skipped: {skipped}" if skipped else f"no {baseline} run at this load"
        return Target(name, scenario.server, scenario.load, None, why)
    return Target(
        name,
        scenario.server,
        scenario.load,
        ratio.throughput >= at_least,
        f"{scenario.requests_per_s:.0f} req/s = {ratio.throughput:.2f}x {baseline}",
    )


def _tail_latency(scenario: Scenario, what: str) -> Target:
    name = f"{what}: p99 < {P99_LIMIT_MS:g} ms, no errors"
    latency = scenario.latency_ms
    if latency is None:
        return Target(name, scenario.server, scenario.load, False, "no request was answered")
    return Target(
        name,
        scenario.server,
        scenario.load,
        latency.p99 < P99_LIMIT_MS and scenario.errors == 0,
        f"p99 {latency.p99:.2f} ms, {scenario.errors} errors",
    )


def _memory(soak: Soak) -> Target:
    name = (
        f"soak: RSS growth < {RSS_GROWTH_LIMIT_PERCENT:g} % and "
        f"< {RSS_GROWTH_LIMIT_MIB:g} MiB after the first minute"
    )
    server, load = soak.scenario.server, soak.scenario.load
    if soak.growth_mib is None or soak.growth_percent is None:
        return Target(name, server, load, None, "the soak was too short to tell")
    return Target(
        name,
        server,
        load,
        soak.growth_mib < RSS_GROWTH_LIMIT_MIB and soak.growth_percent < RSS_GROWTH_LIMIT_PERCENT,
        f"{soak.rss_baseline_mib:.1f} -> {soak.rss_end_mib:.1f} MiB: "
        f"{soak.growth_mib:+.1f} MiB ({soak.growth_percent:+.1f} %)",
    )
