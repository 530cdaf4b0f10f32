"""The end of a webhook benchmark run: the checks, ratios and targets, the results file,
the docs section, and the exit code (non-zero when a check failed)."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from benchmarks.common.paths import REPO_DIR
from benchmarks.webhook import compare, enforce, targets, verify
from benchmarks.webhook.machine import describe
from benchmarks.webhook.measure import RSS_EVERY_S
from benchmarks.webhook.report import markdown, update_docs
from benchmarks.webhook.results import SCHEMA, Results
from benchmarks.webhook.servers import FLOOR, IMAGEGATE, KOPF
from benchmarks.webhook.state import Run


def finish(run: Run, corpus_summary: dict[str, Any], background: float, started: float) -> int:
    """Report the run, write its results; the exit code."""
    arguments = run.arguments
    checks = [*verify.answer_checks(run.scenarios), *run.checks]
    measured = [name for name in IMAGEGATE if name in arguments.server_list]
    ratios = compare.ratios(run.scenarios, servers=measured, baselines=(FLOOR, KOPF))
    skipped = {server.name: server.skipped for server in run.servers if server.skipped}
    for name in (FLOOR, KOPF):
        if name not in arguments.server_list:
            skipped[name] = "not chosen (--servers)"
    found_targets = targets.evaluate(
        scenarios=run.scenarios, ratios=ratios, soak=run.soak, servers=measured, skipped=skipped
    )
    loops = {s.name: s.event_loop for s in run.servers if s.event_loop}
    machine = {
        **describe(run.work),
        "busy_cores_before_start": round(background, 2),
        "event_loops": loops,
        "load_event_loop": run.load_event_loop,
    }
    results = Results(
        schema=SCHEMA,
        ok=all(check.ok for check in checks),
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        wall_s=round(time.monotonic() - started, 1),
        machine=machine,
        settings=_settings(arguments),
        corpus=corpus_summary,
        servers=run.servers,
        scenarios=run.scenarios,
        soak=run.soak,
        ratios=ratios,
        targets=found_targets,
        checks=checks,
        verification=run.verification,
    )
    arguments.results.parent.mkdir(parents=True, exist_ok=True)
    arguments.results.write_bytes(msgspec.json.format(msgspec.json.encode(results)) + b"\n")
    section = markdown(results)
    print()
    print(section)
    if len(set(loops.values())) > 1:
        print(f"\nNOTE: the servers ran on different event loops: {loops}")
    if not arguments.no_docs:
        if update_docs(arguments.docs, section):
            print(f"\nrewrote the results section of {arguments.docs}")
        else:
            print(f"\n{arguments.docs} has no results markers; left alone")
    print(f"\nresults: {arguments.results}  ({results.wall_s} s)")
    if not results.ok:
        print(
            "BENCHMARK FAILED: the numbers above do not describe working servers", file=sys.stderr
        )
        return 1
    return 0


def _shown(path: Path) -> str:
    """``path`` relative to the repository when it is inside it."""
    resolved = path.resolve()
    return str(resolved.relative_to(REPO_DIR)) if resolved.is_relative_to(REPO_DIR) else str(path)


def _settings(arguments: argparse.Namespace) -> dict[str, Any]:
    return {
        "arguments": arguments.command_line,
        "results": _shown(arguments.results),
        "servers": arguments.server_list,
        "concurrency": arguments.levels,
        "warmup_s": arguments.warmup,
        "closed_duration_s": arguments.duration,
        "rates": arguments.rate_list,
        "open_duration_s": arguments.open_duration,
        "connections": arguments.connections,
        "max_outstanding": arguments.max_outstanding,
        "soak_s": arguments.soak,
        "soak_rate": arguments.soak_rate,
        "soak_rss_every_s": RSS_EVERY_S,
        "imagegate_args": arguments.extra_imagegate_args,
        "floor_parser": arguments.floor_parser,
        "floor_loop": arguments.floor_loop,
        "tls": "TLS 1.2+ (Python's default server context), ECDSA P-256 serving certificate "
        "from imagegate.tls, HTTP/1.1 keep-alive",
        "load_generator": "python -m benchmarks.webhook.load, its own process, aiohttp client",
        "enforce_policy": enforce.policy_yaml(),
        "targets": {
            "throughput_over_kopf": targets.THROUGHPUT_OVER_KOPF,
            "throughput_over_floor": targets.THROUGHPUT_OVER_FLOOR,
            "p99_limit_ms": targets.P99_LIMIT_MS,
            "rss_growth_limit_mib": targets.RSS_GROWTH_LIMIT_MIB,
            "rss_growth_limit_percent": targets.RSS_GROWTH_LIMIT_PERCENT,
        },
    }
