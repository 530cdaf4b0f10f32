"""One server under every load: started, loaded run by run (each load a process of its
own), watched until idle, stopped, and what it left behind checked."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace

import msgspec

from benchmarks.common.paths import REPO_DIR
from benchmarks.webhook import imagegate_probe, targets, verify
from benchmarks.webhook.load import LoadReport, LoadShape
from benchmarks.webhook.procfs import event_loop_of, process_cpu_s, status_mib
from benchmarks.webhook.results import Mode, Scenario, ServerSummary, Soak
from benchmarks.webhook.servers import Server, ServerSpec, log_tail, running, wait_ready
from benchmarks.webhook.state import Run

BUSY_MACHINE_CORES = 0.25
"""Other processes using more than this many cores during a window earn a note."""
RSS_EVERY_S = 5.0
"""How often the soak samples the server's RSS."""


def measure_server(
    run: Run,
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


def _soak(run: Run, server: Server) -> None:
    arguments = run.arguments
    # The whole soak is measured: memory growth from its start is the point.
    shape = replace(_open_shape(arguments, arguments.soak_rate, arguments.soak), warmup_s=0.0)
    print(f"  {server.name}: soak at {shape.rate:g}/s for {shape.duration_s:g} s")
    scenario, report = _scenario(run, server, shape, "soak", rss_every_s=RSS_EVERY_S)
    growth = targets.rss_growth(report.rss_samples)
    run.soak = Soak(
        scenario=scenario,
        rss_samples=report.rss_samples,
        rss_every_s=RSS_EVERY_S,
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
    run: Run, server: Server, shape: LoadShape, mode: Mode, rss_every_s: float = 0.0
) -> tuple[Scenario, LoadReport]:
    """One load run against ``server``, until it is idle again, as a reported scenario."""
    label = f"c{shape.concurrency}" if mode == "closed" else f"{mode}-{shape.rate:g}"
    report = send_load(run, server, shape, label=label, rss_every_s=rss_every_s)
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


def send_load(
    run: Run, server: Server, shape: LoadShape, *, label: str, rss_every_s: float = 0.0
) -> LoadReport:
    """Run the load generator against ``server`` in a process of its own; its report."""
    report_path = run.work / f"load-{server.name}-{label}.json"
    command = [
        sys.executable,
        "-m",
        "benchmarks.webhook.load",
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
    note = f"  (everything else used {busy:.2f} cores)" if busy > BUSY_MACHINE_CORES else ""
    errors = f"{scenario.errors} {scenario.errors_by_kind}" if scenario.errors else "0"
    print(
        f"  {scenario.server:<17} {scenario.load:<7} {scenario.requests_per_s:8.1f} req/s"
        f"  p50 {p50} ms  p99 {p99} ms  errors {errors}{note}"
    )
