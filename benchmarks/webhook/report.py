"""The results as Markdown: printed at the end of a run and kept in docs/benchmarks.md.

The run (``finish.py``) rewrites only the part of docs/benchmarks.md between ``START`` and
``END``; the rest of the page (how it is measured) is written by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from benchmarks.webhook.latency import Latency
from benchmarks.webhook.results import Ratio, Results, Scenario, Soak, Target

START = "<!-- bench:results:start -->"
END = "<!-- bench:results:end -->"


def markdown(results: Results) -> str:
    """The results section: machine, raw figures, ratios, targets, checks."""
    sections = [
        _headline(results),
        _machine(results),
        "### Raw figures\n\n"
        + _scenario_table(results.scenarios, [server.name for server in results.servers]),
    ]
    if results.soak is not None:
        sections.append(_soak(results.soak))
    if results.ratios:
        sections.append("### Ratios\n\n" + _ratio_table(results.ratios))
    sections.append("### Targets\n\n" + _target_table(results.targets))
    sections.append("### Checks\n\n" + "\n".join(_check_lines(results)))
    return "\n\n".join(sections)


def update_docs(path: Path, section: str) -> bool:
    """Replace the text between the markers in ``path``; ``False`` if they are missing."""
    text = path.read_text()
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        return False
    path.write_text(f"{text[: start + len(START)]}\n\n{section}\n\n{text[end:]}")
    return True


def _headline(results: Results) -> str:
    settings = results.settings
    outcome = "all checks passed" if results.ok else "**SOME CHECKS FAILED**"
    met = sum(1 for target in results.targets if target.met)
    missed = sum(1 for target in results.targets if target.met is False)
    arguments = settings.get("arguments", "")
    command = f'make bench BENCH_ARGS="{arguments}"' if arguments else "make bench"
    return (
        f"`{command}`, {results.generated_at}, {results.wall_s:.0f} s wall clock; {outcome}; "
        f"targets: {met} met, {missed} not met, "
        f"{len(results.targets) - met - missed} not evaluated. Raw numbers in "
        f"`{settings.get('results', 'benchmarks/results/latest.json')}`."
    )


def _machine(results: Results) -> str:
    machine = results.machine
    lines = [
        "| machine | |",
        "| --- | --- |",
        f"| CPU | {machine.get('cpu_model')}, {machine.get('usable_cpus')} usable cores |",
        f"| memory | {machine.get('memory_gib')} GiB |",
        f"| kernel | Linux {machine.get('kernel')} |",
        f"| software | {machine.get('python')}, aiohttp {machine.get('aiohttp')}, msgspec "
        f"{machine.get('msgspec')}, uvloop {machine.get('uvloop')}, kopf {machine.get('kopf')}, "
        f"{machine.get('openssl')} |",
        f"| imagegate revision | `{machine.get('imagegate_revision')}` |",
        f"| temporary directory | {machine.get('temp_filesystem')} |",
        f"| busy before start | {machine.get('busy_cores_before_start')} cores |",
    ]
    lines += [
        "",
        "| server | what runs | event loop | peak RSS, MiB |",
        "| --- | --- | --- | --: |",
    ]
    for server in results.servers:
        if server.skipped:
            lines.append(f"| {server.name} | **skipped**: {server.skipped} | - | - |")
            continue
        rss = f"{server.peak_rss_mib:.1f}" if server.peak_rss_mib is not None else "-"
        lines.append(
            f"| {server.name} | `{server.description}` | {server.event_loop or '-'} | {rss} |"
        )
    lines.append(
        f"| load generator | `benchmarks/webhook/load/` | {machine.get('load_event_loop')} | |"
    )
    return "\n".join(lines)


def _ms(latency: Latency | None) -> list[str]:
    if latency is None:
        return ["-"] * 4
    return [f"{latency.p50:.2f}", f"{latency.p90:.2f}", f"{latency.p99:.2f}", f"{latency.max:.1f}"]


def _scenario_table(scenarios: Sequence[Scenario], order: Sequence[str]) -> str:
    lines = [
        "| load | server | req/s | p50 ms | p90 ms | p99 ms | max ms | errors "
        "| server CPU s / 1000 reviews | server cores | load generator cores "
        "| everything else, cores | RSS after, MiB | drain after load, s |",
        "| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |",
    ]
    rank = {name: index for index, name in enumerate(order)}
    ordered = sorted(
        (s for s in scenarios if s.mode != "soak"),
        key=lambda s: (s.mode != "closed", s.concurrency or s.rate or 0, rank.get(s.server, 99)),
    )
    for s in ordered:
        length = s.measured_s or 1.0
        other = (s.other_cpu_s + s.steal_cpu_s) / length
        lines.append(
            f"| {s.load} | {s.server} | {s.requests_per_s:.0f} | {' | '.join(_ms(s.latency_ms))} "
            f"| {_errors(s)} | {s.server_cpu_ms_per_review:.2f} | {s.server_cores_busy:.2f} "
            f"| {s.client_cpu_s / length:.2f} | {other:.2f} | {s.rss_mib_after:.1f} "
            f"| {s.settle_s:.2f} |"
        )
    return "\n".join(lines)


def _errors(scenario: Scenario) -> str:
    if not scenario.errors:
        return "0"
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(scenario.errors_by_kind.items()))
    return f"{scenario.errors} ({kinds})"


def _soak(soak: Soak) -> str:
    s = soak.scenario
    p50, _, p99, most = _ms(s.latency_ms)
    samples = soak.rss_samples
    lowest = min((sample.mib for sample in samples), default=0.0)
    highest = max((sample.mib for sample in samples), default=0.0)
    growth = (
        f"{soak.rss_baseline_mib:.1f} MiB after the first minute, {soak.rss_end_mib:.1f} MiB "
        f"at the end: {soak.growth_mib:+.1f} MiB ({soak.growth_percent:+.1f} %)"
        if soak.growth_mib is not None and soak.growth_percent is not None
        else "too short to tell"
    )
    return "\n".join(
        [
            "### Soak",
            "",
            f"{s.server} at {s.load} for {s.measured_s:.0f} s, open loop: "
            f"{s.requests_per_s:.0f} req/s answered, p50 {p50} ms, p99 {p99} ms, "
            f"max {most} ms, {_errors(s)} errors, "
            f"{s.server_cpu_ms_per_review:.2f} server CPU s / 1000 reviews, spool drained "
            f"{s.settle_s:.1f} s after the load.",
            "",
            f"RSS (sampled every {soak.rss_every_s:g} s, {len(samples)} samples, {lowest:.1f} to "
            f"{highest:.1f} MiB): {growth}.",
        ]
    )


def _ratio_table(ratios: Sequence[Ratio]) -> str:
    lines = [
        "imagegate's figure divided by the baseline's, same load: throughput above 1 is "
        "faster; latency and CPU per review above 1 are slower or costlier.",
        "",
        "| imagegate scenario | baseline | load | throughput | p50 | p99 | server CPU per review |",
        "| --- | --- | --- | --: | --: | --: | --: |",
    ]
    for r in ratios:
        lines.append(
            f"| {r.server} | {r.baseline} | {r.load} | {_number(r.throughput, 2)} "
            f"| {_times(r.p50)} | {_times(r.p99)} | {_times(r.cpu_per_review)} |"
        )
    return "\n".join(lines)


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _times(value: float | None) -> str:
    if value is None:
        return "-"
    # Two significant digits below 1, so that a twentieth does not show as 0.0x.
    return f"{value:.2g}x" if value < 1 else f"{value:.1f}x"


def _target_table(targets: Sequence[Target]) -> str:
    lines = ["| target | scenario | load | result | figures |", "| --- | --- | --- | --- | --- |"]
    for t in targets:
        result = "met" if t.met else "not evaluated" if t.met is None else "**NOT met**"
        lines.append(f"| {t.name} | {t.server} | {t.load} | {result} | {t.detail} |")
    return "\n".join(lines)


def _check_lines(results: Results) -> list[str]:
    return [f"- {'ok' if c.ok else '**FAILED**'} {c.name}: {c.detail}" for c in results.checks]
