from __future__ import annotations

import pytest
from benchmarks.webhook.compare import ratios
from benchmarks.webhook.load import RssSample
from benchmarks.webhook.results import Soak
from benchmarks.webhook.targets import RssGrowth, evaluate, rss_growth

from unit.benchmarks.webhook.scenarios import scenario


def samples(*mib: float, every_s: float = 5.0) -> list[RssSample]:
    return [RssSample(at_s=index * every_s, mib=value) for index, value in enumerate(mib)]


def test_rss_growth_is_the_end_against_the_first_sample_after_a_minute() -> None:
    memory = samples(40, 60, 70, 80, 80, 80, 80, 80, 80, 80, 80, 80, 100, 101, 102)

    growth = rss_growth(memory)

    assert growth == RssGrowth(baseline_mib=100, end_mib=102)
    assert (growth.mib, growth.percent) == (2.0, 2.0)


def test_rss_growth_needs_samples_after_the_first_minute() -> None:
    assert rss_growth(samples(40, 50, 60)) is None
    assert rss_growth(samples(*[50.0] * 13)) is None  # only one sample at 60 s


def test_throughput_targets_per_level_and_baseline() -> None:
    runs = [
        scenario("floor", rps=1000),
        scenario("kopf", rps=200),
        scenario("imagegate-audit", rps=650),
    ]

    found = evaluate(
        scenarios=runs,
        ratios=ratios(runs, servers=["imagegate-audit"], baselines=["floor", "kopf"]),
        soak=None,
        servers=["imagegate-audit"],
        skipped={},
    )

    assert [(t.name, t.met, t.detail) for t in found] == [
        ("throughput >= 3x kopf", True, "650 req/s = 3.25x kopf"),
        ("throughput >= 0.6x floor", True, "650 req/s = 0.65x floor"),
    ]


def test_a_skipped_peer_leaves_its_target_unevaluated() -> None:
    runs = [scenario("floor", rps=1000), scenario("imagegate-enforce", rps=500)]

    found = evaluate(
        scenarios=runs,
        ratios=ratios(runs, servers=["imagegate-enforce"], baselines=["floor", "kopf"]),
        soak=None,
        servers=["imagegate-enforce"],
        skipped={"kopf": "IMAGEGATE_E2E_BIN is not set"},
    )

    assert [(t.name, t.met, t.detail) for t in found] == [
        ("throughput >= 3x kopf", None, "kopf skipped: IMAGEGATE_E2E_BIN is not set"),
        ("throughput >= 0.6x floor", False, "500 req/s = 0.50x floor"),
    ]


@pytest.mark.parametrize(
    ("p99", "errors", "met"), [(9.9, 0, True), (10.0, 0, False), (2.0, 1, False)]
)
def test_open_loop_needs_p99_under_10_ms_and_no_errors(p99: float, errors: int, met: bool) -> None:
    run = scenario("imagegate-audit", mode="open", rate=500, p99=p99, errors=errors)

    (target,) = evaluate(
        scenarios=[run], ratios=[], soak=None, servers=["imagegate-audit"], skipped={}
    )

    assert (target.load, target.met) == ("500/s", met)


@pytest.mark.parametrize(("end_mib", "met"), [(104.9, True), (105.0, False), (111.0, False)])
def test_the_soak_must_not_grow_by_5_percent_or_10_mib(end_mib: float, met: bool) -> None:
    growth = RssGrowth(baseline_mib=100.0, end_mib=end_mib)
    soak = Soak(
        scenario=scenario("imagegate-enforce", mode="soak", rate=500, p99=3),
        rss_samples=[],
        rss_every_s=5.0,
        rss_baseline_mib=growth.baseline_mib,
        rss_end_mib=growth.end_mib,
        growth_mib=growth.mib,
        growth_percent=growth.percent,
    )

    latency, memory = evaluate(
        scenarios=[], ratios=[], soak=soak, servers=["imagegate-enforce"], skipped={}
    )

    assert latency.met is True
    assert memory.met is met
