"""``make bench``: imagegate against a bare aiohttp floor and a kopf webhook, same load, one run.

Run as ``python -m benchmarks.run`` from the repository (``--help`` lists the flags).
It makes a CA and a serving certificate, writes the corpus (``corpus.py``), and
measures each server in turn, one process at a time:

- ``floor``: the least an aiohttp TLS webhook can do (``floor.py``);
- ``kopf``: the enforce scenario's checks as a kopf validating webhook
  (``peer_kopf.py``), logged in to a real kube-apiserver (``controlplane.py``);
- ``imagegate-audit``: ``imagegate serve --require-digest audit``, recording;
- ``imagegate-enforce``: ``--require-digest enforce`` and a policy whose rules read
  posted scans (``enforce.py``), recording; then the soak.

Each gets the same closed loops (fixed concurrency) and open loops (fixed rate) from
``load.py``, a process of its own. The run then checks that the numbers describe
working servers (``verify.py``), compares imagegate with the others
(``compare.py``), evaluates the targets (``targets.py``), writes
``benchmarks/results/latest.json``, and rewrites the results section of
docs/benchmarks.md (``report.py``). It exits non-zero if a check failed; a missed
target does not. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from benchmarks import compare, enforce, imagegate_probe, targets, verify
from benchmarks.controlplane import ControlPlaneError, binaries, control_plane
from benchmarks.load import LoadReport, LoadShape
from benchmarks.loops import CHOICES
from benchmarks.machine import describe
from benchmarks.procfs import busy_cores, event_loop_of, process_cpu_s, status_mib
from benchmarks.report import markdown, update_docs
from benchmarks.results import (
    SCHEMA,
    Check,
    Mode,
    Results,
    Scenario,
    ServerSummary,
    Soak,
)
from benchmarks.servers import (
    REPO_DIR,
    Server,
    ServerSpec,
    floor_spec,
    imagegate_spec,
    kopf_spec,
    log_tail,
    running,
    wait_ready,
)

from imagegate.tls import CertificatePaths, generate_certificates, write_certificates

BENCH_DIR = REPO_DIR / "benchmarks"
DEFAULT_RESULTS = BENCH_DIR / "results" / "latest.json"
DEFAULT_DOCS = REPO_DIR / "docs" / "benchmarks.md"

FLOOR, KOPF, AUDIT, ENFORCE = "floor", "kopf", "imagegate-audit", "imagegate-enforce"
SERVERS = (FLOOR, KOPF, AUDIT, ENFORCE)
IMAGEGATE = (AUDIT, ENFORCE)

_BUSY_MACHINE_CORES = 0.25
"""Other processes using more than this many cores during a window earn a note."""
_RSS_EVERY_S = 5.0
_Number = TypeVar("_Number", int, float)
_WARMUP_PASS_CONCURRENCY = 8
_WARMUP_PASS_LIMIT_S = 30.0
"""A pass takes a few seconds; a server this slow fails the warm-up check instead."""


@dataclass
class _Run:
    """What the phases of one run share, and what they find."""

    arguments: argparse.Namespace
    work: Path
    tls: CertificatePaths
    corpus: Path
    context: ssl.SSLContext
    scenarios: list[Scenario] = field(default_factory=list)
    servers: list[ServerSummary] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    verification: dict[str, dict[str, Any]] = field(default_factory=dict)
    reviews_sent: dict[str, set[int]] = field(default_factory=dict)
    soak: Soak | None = None
    corpus_reviews: int = 0
    load_event_loop: str = "unknown"
    scan_reports: dict[str, Path] = field(default_factory=dict)
    """The Grype report of each corpus digest, in ``scan_dir``."""

    @property
    def scan_dir(self) -> Path:
        return self.work / "scans"


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parse(argv)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="imagegate-bench-"))
    try:
        return _run(arguments, work, started)
    finally:
        if arguments.keep_temp:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark imagegate's /validate against a bare aiohttp floor and kopf."
    )
    parser.add_argument(
        "--servers",
        default=",".join(SERVERS),
        help=f"comma-separated subset of {','.join(SERVERS)} (all)",
    )
    parser.add_argument(
        "--concurrency", default="1,8,32", help="closed loop: levels in flight (1,8,32; '' none)"
    )
    parser.add_argument("--duration", type=float, default=8.0, help="closed loop: measured s (8)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up s before each run (2)")
    parser.add_argument("--rates", default="500", help="open loop: requests/s (500; '' none)")
    parser.add_argument(
        "--open-duration", type=float, default=10.0, help="open loop: measured s (10)"
    )
    parser.add_argument(
        "--connections", type=int, default=64, help="open loop: keep-alive connections (64)"
    )
    parser.add_argument(
        "--max-outstanding",
        type=int,
        default=256,
        help="open loop: unanswered requests beyond which one due is not sent (256)",
    )
    parser.add_argument(
        "--soak", type=float, default=300.0, help="imagegate-enforce soak, s (300; 0 skips)"
    )
    parser.add_argument("--soak-rate", type=float, default=500.0, help="soak requests/s (500)")
    parser.add_argument(
        "--imagegate-args",
        default="",
        help="extra flags for both imagegate serve processes, e.g. '--heartbeat-interval 5'",
    )
    parser.add_argument(
        "--floor-parser",
        choices=["msgspec", "json"],
        default="msgspec",
        help="how the floor parses reviews (msgspec)",
    )
    parser.add_argument(
        "--floor-loop", choices=CHOICES, default="auto", help="the floor's event loop (auto)"
    )
    parser.add_argument(
        "--e2e-bin",
        default=os.environ.get("IMAGEGATE_E2E_BIN"),
        help="kube-apiserver and etcd for the kopf peer (env IMAGEGATE_E2E_BIN)",
    )
    parser.add_argument("--workloads", type=int, default=150, help="workloads in the corpus (150)")
    parser.add_argument("--seed", type=int, default=20240521, help="corpus seed (20240521)")
    parser.add_argument(
        "--results", type=Path, default=DEFAULT_RESULTS, help=f"JSON results ({DEFAULT_RESULTS})"
    )
    parser.add_argument(
        "--docs", type=Path, default=DEFAULT_DOCS, help="page whose results section to rewrite"
    )
    parser.add_argument("--no-docs", action="store_true", help="leave the docs page alone")
    parser.add_argument(
        "--keep-temp", action="store_true", help="keep the temporary directory (logs, stores)"
    )
    arguments = parser.parse_args(argv)
    arguments.levels = _numbers(parser, "--concurrency", arguments.concurrency, int)
    arguments.rate_list = _numbers(parser, "--rates", arguments.rates, float)
    chosen = [name.strip() for name in arguments.servers.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(SERVERS))
    if unknown or not chosen:
        parser.error(f"--servers: choose among {', '.join(SERVERS)} (got {unknown or 'none'})")
    arguments.server_list = [name for name in SERVERS if name in chosen]
    if min(arguments.duration, arguments.open_duration) <= 0 or arguments.warmup < 0:
        parser.error("--duration and --open-duration must be positive, --warmup not negative")
    if arguments.soak < 0 or arguments.soak_rate <= 0:
        parser.error("--soak must not be negative and --soak-rate must be positive")
    arguments.extra_imagegate_args = shlex.split(arguments.imagegate_args)
    arguments.command_line = shlex.join(sys.argv[1:] if argv is None else list(argv))
    return arguments


def _numbers(
    parser: argparse.ArgumentParser, flag: str, text: str, kind: type[_Number]
) -> list[_Number]:
    try:
        values = [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        parser.error(f"{flag} {text!r}: comma-separated numbers")
    if any(value <= 0 for value in values):
        parser.error(f"{flag}: every value must be positive")
    return values


def _run(arguments: argparse.Namespace, work: Path, started: float) -> int:
    print(
        f"imagegate benchmark: {', '.join(arguments.server_list)}; closed loop "
        f"{arguments.levels or 'none'} ({arguments.warmup:g} s + {arguments.duration:g} s), "
        f"open loop {arguments.rate_list or 'none'}/s ({arguments.warmup:g} s + "
        f"{arguments.open_duration:g} s), soak {arguments.soak:g} s; about "
        f"{_estimate_s(arguments) / 60:.0f} min; work dir {work}"
    )
    tls = write_certificates(
        generate_certificates(
            dns_names=["localhost"], ip_addresses=["127.0.0.1"], now=datetime.now(UTC)
        ),
        work / "tls",
    )
    corpus = work / "corpus.json"
    corpus_summary = _write_corpus(corpus, seed=arguments.seed, workloads=arguments.workloads)
    print(
        f"corpus: {corpus_summary['reviews']} reviews, "
        f"{corpus_summary['body_bytes']['min']}-{corpus_summary['body_bytes']['max']} bytes "
        f"(p50 {corpus_summary['body_bytes']['p50']}), "
        f"{corpus_summary['distinct_deployment_names']} deployment names"
    )
    background = busy_cores(1.0)
    quiet = "quiet" if background <= _BUSY_MACHINE_CORES else "NOT quiet: numbers will be noisy"
    print(f"machine before start: {background:.2f} cores busy ({quiet})")
    run = _Run(
        arguments=arguments,
        work=work,
        tls=tls,
        corpus=corpus,
        context=ssl.create_default_context(cafile=str(tls.ca_cert)),
        corpus_reviews=int(corpus_summary["reviews"]),
    )
    if KOPF in arguments.server_list or ENFORCE in arguments.server_list:
        images = enforce.corpus_images(corpus)
        run.scan_reports = enforce.write_scans(images, run.scan_dir, now=datetime.now(UTC))
    phases: dict[str, Callable[[_Run], None]] = {
        FLOOR: _floor,
        KOPF: _kopf,
        AUDIT: _imagegate_audit,
        ENFORCE: _imagegate_enforce,
    }
    for name in arguments.server_list:
        phases[name](run)
    return _finish(run, corpus_summary, background, started)


def _estimate_s(arguments: argparse.Namespace) -> float:
    # About 2 s per run to start the load generator and let the server settle, and 10 s
    # per server to start, prepare and verify it.
    closed = len(arguments.levels) * (arguments.warmup + arguments.duration + 2)
    opened = len(arguments.rate_list) * (arguments.warmup + arguments.open_duration + 2)
    soak = arguments.soak + 10 if ENFORCE in arguments.server_list and arguments.soak else 0
    return float(len(arguments.server_list) * (closed + opened + 10) + soak + 10)


def _write_corpus(path: Path, *, seed: int, workloads: int) -> dict[str, Any]:
    completed = subprocess.run(
        [
            sys.executable,
            str(BENCH_DIR / "corpus.py"),
            "--seed",
            str(seed),
            "--workloads",
            str(workloads),
            "--out",
            str(path),
            "--summary",
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    summary: dict[str, Any] = msgspec.json.decode(completed.stdout)
    return summary


# --- the servers, one after the other ---------------------------------------------


def _floor(run: _Run) -> None:
    arguments = run.arguments
    _measure_server(run, floor_spec(parser=arguments.floor_parser, loop=arguments.floor_loop))


def _kopf(run: _Run) -> None:
    found = binaries(run.arguments.e2e_bin)
    if isinstance(found, str):
        _skip(run, KOPF, found)
        return
    rules = run.work / "kopf-rules.json"
    rules.write_text(json.dumps(enforce.kopf_rules(run.scan_dir)))
    print("kopf: starting kube-apiserver and etcd for it to log in to")
    try:
        with control_plane(found, run.work / "control-plane") as plane:
            spec = kopf_spec(kubeconfig=plane.kubeconfig, rules=rules, tls=run.tls)
            _measure_server(run, spec)
    except ControlPlaneError as error:
        # Without a cluster there is no kopf peer; the other servers can still be measured.
        _skip(run, KOPF, f"the control plane did not start: {str(error)[:300]}")


def _skip(run: _Run, name: str, reason: str) -> None:
    print(f"{name}: SKIPPED: {reason}")
    run.servers.append(ServerSummary(name=name, description="", skipped=reason))


def _imagegate_audit(run: _Run) -> None:
    spec = imagegate_spec(
        name=AUDIT,
        work=run.work / AUDIT,
        require_digest="audit",
        policies=None,
        extra_args=run.arguments.extra_imagegate_args,
    )
    _measure_server(run, spec)


def _imagegate_enforce(run: _Run) -> None:
    policies = run.work / "enforce-policy.yaml"
    policies.write_text(enforce.policy_yaml())
    spec = imagegate_spec(
        name=ENFORCE,
        work=run.work / ENFORCE,
        require_digest="enforce",
        policies=policies,
        extra_args=run.arguments.extra_imagegate_args,
    )
    assert spec.store is not None
    token = imagegate_probe.create_api_key(spec.store, scope="write", name="bench-ci")

    def prepare(server: Server) -> None:
        posted = enforce.post_scans(server.base_url, token, run.scan_reports, run.context)
        print(f"  {server.name}: posted {posted} Grype reports through the evidence API")
        _warm_up_pass(run, server)

    _measure_server(run, spec, prepare=prepare, soak=run.arguments.soak > 0)


def _warm_up_pass(run: _Run, server: Server) -> None:
    """Every corpus review once, so that caches (policies, evidence) are warm."""
    reviews = run.corpus_reviews
    shape = LoadShape(
        mode="closed",
        warmup_s=0.0,
        duration_s=_WARMUP_PASS_LIMIT_S,
        concurrency=_WARMUP_PASS_CONCURRENCY,
        max_requests=reviews,
    )
    started = time.monotonic()
    report = _load(run, server, shape, label="warm-up-pass")
    imagegate_probe.wait_spool_drained(server.base_url, run.context)
    took = time.monotonic() - started
    run.checks.append(
        Check(
            name=f"{server.name}: warm-up pass",
            ok=report.errors == 0 and report.sent_total == reviews,
            detail=f"{report.sent_total} of {reviews} reviews sent, {report.errors} errors "
            f"({report.errors_by_kind}), {took:.1f} s until the spool drained",
        )
    )
    print(f"  {server.name}: warm-up pass, {report.sent_total} reviews in {took:.1f} s")
    lookups = verify.registry_lookups(server.log)
    if lookups:
        print(
            f"  WARNING: {server.name} looked up registries {len(lookups)} times in the warm-up "
            "pass (see its log): each lookup can hold an admission for --facts-timeout"
        )


def _measure_server(
    run: _Run,
    spec: ServerSpec,
    *,
    prepare: Callable[[Server], None] | None = None,
    soak: bool = False,
) -> None:
    """Start ``spec``, run every load against it, stop it, check what it left behind."""
    arguments = run.arguments
    print(f"{spec.name}: starting")
    with running(spec, tls=run.tls, work=run.work) as server:
        wait_ready(server, run.context)
        if prepare is not None:
            prepare(server)
        for level in arguments.levels:
            shape = LoadShape(
                mode="closed",
                warmup_s=arguments.warmup,
                duration_s=arguments.duration,
                concurrency=level,
            )
            _scenario(run, server, shape, "closed")
        for rate in arguments.rate_list:
            _scenario(run, server, _open_shape(arguments, rate, arguments.open_duration), "open")
        if soak:
            _soak(run, server)
        metrics = (
            imagegate_probe.scrape_metrics(server.base_url, run.context) if server.records else {}
        )
        summary = ServerSummary(
            name=spec.name,
            description=spec.description,
            event_loop=event_loop_of(server.pid),
            peak_rss_mib=status_mib(server.pid, "VmHWM"),
            command=spec.command,
            metrics=metrics,
        )
    run.servers.append(summary)
    run.checks.append(verify.log_check(spec.name, server.log))
    if spec.store is not None and spec.spool is not None:
        recorded = verify.RecordingServer(
            name=spec.name,
            store=spec.store,
            spool=spec.spool,
            metrics=metrics,
            reviews_sent=run.reviews_sent.get(spec.name, set()),
        )
        checks, verification = verify.recording_checks(recorded, run.corpus)
        run.checks += [*checks, verify.loopback_check(spec.name, server.log)]
        run.verification[spec.name] = verification


def _open_shape(arguments: argparse.Namespace, rate: float, duration: float) -> LoadShape:
    return LoadShape(
        mode="open",
        warmup_s=arguments.warmup,
        duration_s=duration,
        rate=rate,
        connections=arguments.connections,
        max_outstanding=arguments.max_outstanding,
    )


def _soak(run: _Run, server: Server) -> None:
    arguments = run.arguments
    # The whole soak is measured: memory growth from its start is the point.
    shape = replace(_open_shape(arguments, arguments.soak_rate, arguments.soak), warmup_s=0.0)
    print(f"  {server.name}: soak at {shape.rate:g}/s for {shape.duration_s:g} s")
    scenario, report = _scenario(run, server, shape, "soak", rss_every_s=_RSS_EVERY_S)
    growth = targets.rss_growth(report.rss_samples)
    run.soak = Soak(
        scenario=scenario,
        rss_samples=report.rss_samples,
        rss_every_s=_RSS_EVERY_S,
        rss_baseline_mib=growth.baseline_mib if growth else None,
        rss_end_mib=growth.end_mib if growth else None,
        growth_mib=growth.mib if growth else None,
        growth_percent=growth.percent if growth else None,
    )
    if growth:
        print(
            f"  {server.name}: RSS {growth.baseline_mib:.1f} MiB after the first minute, "
            f"{growth.end_mib:.1f} MiB at the end ({growth.mib:+.1f} MiB, {growth.percent:+.1f} %)"
        )


def _scenario(
    run: _Run, server: Server, shape: LoadShape, mode: Mode, rss_every_s: float = 0.0
) -> tuple[Scenario, LoadReport]:
    """One load run against ``server``, until it is idle again, as a reported scenario."""
    label = f"c{shape.concurrency}" if mode == "closed" else f"{mode}-{shape.rate:g}"
    report = _load(run, server, shape, label=label, rss_every_s=rss_every_s)
    load_ended = time.monotonic()
    if server.records:
        imagegate_probe.wait_spool_drained(server.base_url, run.context)
    settle_s = time.monotonic() - load_ended
    cpu_now = process_cpu_s(server.pid)
    window_cpu = report.server_cpu_s or 0.0
    until_idle = cpu_now - (report.server_cpu_at_start_s or 0.0)
    answered = report.requests + report.tail_requests
    scenario = Scenario(
        server=server.name,
        mode=mode,
        concurrency=report.concurrency,
        rate=report.rate,
        measured_s=report.measured_s,
        requests=report.requests,
        requests_per_s=report.requests_per_s,
        latency_ms=report.latency_ms,
        send_lag_ms=report.send_lag_ms,
        errors=report.errors,
        failures=verify.failures(report.errors_by_kind, open_loop=shape.mode == "open"),
        errors_by_kind=report.errors_by_kind,
        sent_total=report.sent_total,
        connections_limit=report.connections_limit,
        connections_opened=report.connections_opened,
        server_cpu_s_window=window_cpu,
        server_cpu_s_until_idle=round(until_idle, 3),
        server_cpu_ms_per_review=round(until_idle / answered * 1000, 3) if answered else 0.0,
        server_cores_busy=round(window_cpu / report.measured_s, 3) if report.measured_s else 0.0,
        client_cpu_s=report.client_cpu_s,
        other_cpu_s=round(
            max(0.0, report.machine_busy_cpu_s - window_cpu - report.client_cpu_s), 3
        ),
        steal_cpu_s=report.machine_steal_cpu_s,
        settle_s=round(settle_s, 3),
        rss_mib_after=status_mib(server.pid, "VmRSS"),
    )
    run.scenarios.append(scenario)
    _print_progress(scenario)
    return scenario, report


def _load(
    run: _Run, server: Server, shape: LoadShape, *, label: str, rss_every_s: float = 0.0
) -> LoadReport:
    """Run ``load.py`` against ``server`` in a process of its own; its report."""
    report_path = run.work / f"load-{server.name}-{label}.json"
    command = [
        sys.executable,
        "-m",
        "benchmarks.load",
        "--url",
        f"{server.base_url}/validate",
        "--ca-file",
        str(run.tls.ca_cert),
        "--corpus",
        str(run.corpus),
        "--server-pid",
        str(server.pid),
        "--rss-every",
        f"{rss_every_s:g}",
        "--out",
        str(report_path),
        *shape.arguments(),
    ]
    budget = shape.warmup_s + shape.duration_s + shape.request_timeout_s + 60
    subprocess.run(command, check=True, timeout=budget, cwd=REPO_DIR)
    if server.process.poll() is not None:
        raise RuntimeError(f"{server.name} died during the run:\n{log_tail(server.log)}")
    report = msgspec.json.decode(report_path.read_bytes(), type=LoadReport)
    run.reviews_sent.setdefault(server.name, set()).update(report.reviews_sent)
    run.load_event_loop = report.event_loop
    return report


def _print_progress(scenario: Scenario) -> None:
    latency = scenario.latency_ms
    p50 = f"{latency.p50:.2f}" if latency else "-"
    p99 = f"{latency.p99:.2f}" if latency else "-"
    length = scenario.measured_s or 1.0
    busy = (scenario.other_cpu_s + scenario.steal_cpu_s) / length
    note = f"  (everything else used {busy:.2f} cores)" if busy > _BUSY_MACHINE_CORES else ""
    errors = f"{scenario.errors} {scenario.errors_by_kind}" if scenario.errors else "0"
    print(
        f"  {scenario.server:<17} {scenario.load:<7} {scenario.requests_per_s:8.1f} req/s"
        f"  p50 {p50} ms  p99 {p99} ms  errors {errors}{note}"
    )


# --- results --------------------------------------------------------------------------


def _finish(run: _Run, corpus_summary: dict[str, Any], background: float, started: float) -> int:
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
        "soak_rss_every_s": _RSS_EVERY_S,
        "imagegate_args": arguments.extra_imagegate_args,
        "floor_parser": arguments.floor_parser,
        "floor_loop": arguments.floor_loop,
        "tls": "TLS 1.2+ (Python's default server context), ECDSA P-256 serving certificate "
        "from imagegate.tls, HTTP/1.1 keep-alive",
        "load_generator": "python -m benchmarks.load, its own process, aiohttp client",
        "enforce_policy": enforce.policy_yaml(),
        "targets": {
            "throughput_over_kopf": targets.THROUGHPUT_OVER_KOPF,
            "throughput_over_floor": targets.THROUGHPUT_OVER_FLOOR,
            "p99_limit_ms": targets.P99_LIMIT_MS,
            "rss_growth_limit_mib": targets.RSS_GROWTH_LIMIT_MIB,
            "rss_growth_limit_percent": targets.RSS_GROWTH_LIMIT_PERCENT,
        },
    }


if __name__ == "__main__":
    sys.exit(main())
