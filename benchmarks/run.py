"""``make bench``: imagegate against a bare aiohttp TLS floor, same load, same run.

Makes a CA and a serving certificate in a temporary directory, writes the corpus
(``corpus.py``), starts the floor (``floor.py``) and ``imagegate serve`` as
separate processes, and for each concurrency level runs the same closed-loop load
(``load.py``, a process of its own) against the floor, then against imagegate.
Server CPU time comes from ``/proc/PID/stat``, peak memory from ``VmHWM``.

It then checks that the numbers describe a working server: no failed or wrong
answer, imagegate's spool drained, and the store holding exactly the deployments
the reviews sent should have recorded. It writes ``benchmarks/results/latest.json``,
prints a table, and exits non-zero if any check failed. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from imagegate.tls import CertificatePaths, generate_certificates, write_certificates

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DEFAULT_RESULTS = BENCH_DIR / "results" / "latest.json"
CLUSTER = "bench"

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_READY_TIMEOUT_S = 30.0
_SETTLE_TIMEOUT_S = 120.0
_STOP_TIMEOUT_S = 30.0
_BUSY_MACHINE_CORES = 0.25
"""Other processes using more than this many cores during a window earn a warning."""


class Latency(msgspec.Struct):
    min: float
    p50: float
    p90: float
    p99: float
    max: float
    mean: float


class LoadReport(msgspec.Struct):
    """The parts of ``load.py``'s report used here (see ``load.LoadReport``)."""

    concurrency: int
    measured_s: float
    requests: int
    requests_per_s: float
    latency_ms: Latency | None
    sent_total: int
    errors: int
    errors_by_kind: dict[str, int]
    error_samples: list[str]
    connections_opened: int
    client_cpu_s: float
    server_cpu_s: float | None
    server_cpu_at_start_s: float | None
    tail_requests: int
    machine_busy_cpu_s: float
    machine_steal_cpu_s: float


class CorpusReview(msgspec.Struct):
    records: list[str]


class Corpus(msgspec.Struct):
    reviews: list[CorpusReview]


class Scenario(msgspec.Struct):
    """One load run against one server, as reported."""

    server: str
    concurrency: int
    measured_s: float
    requests: int
    requests_per_s: float
    latency_ms: Latency | None
    errors: int
    errors_by_kind: dict[str, int]
    connections_opened: int
    server_cpu_s_window: float
    """Server CPU time in the measured window."""
    server_cpu_s_until_idle: float
    """Server CPU time from the start of the window until it was idle again
    (imagegate: its spool drained into the store)."""
    server_cpu_ms_per_review: float
    """``server_cpu_s_until_idle`` per review answered from the window's start."""
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


class Ratio(msgspec.Struct):
    concurrency: int
    throughput: float
    """imagegate requests/s over floor requests/s."""
    p50: float
    p99: float
    cpu_per_review: float


class Check(msgspec.Struct):
    name: str
    ok: bool
    detail: str


@dataclass
class Server:
    """A server process started by this run."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


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
        description="Benchmark imagegate's /validate against a bare aiohttp TLS webhook."
    )
    parser.add_argument(
        "--concurrency",
        default="1,8,32",
        help="comma-separated levels of requests in flight (1,8,32)",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="measured s per run (10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up s per run (2)")
    parser.add_argument("--workloads", type=int, default=150, help="workloads in the corpus (150)")
    parser.add_argument("--seed", type=int, default=20240521, help="corpus seed (20240521)")
    parser.add_argument(
        "--floor-parser",
        choices=["msgspec", "json"],
        default="msgspec",
        help="how the floor parses reviews (msgspec)",
    )
    parser.add_argument(
        "--results", type=Path, default=DEFAULT_RESULTS, help=f"JSON results ({DEFAULT_RESULTS})"
    )
    parser.add_argument(
        "--keep-temp", action="store_true", help="keep the temporary directory (logs, store)"
    )
    arguments = parser.parse_args(argv)
    try:
        levels = [int(level) for level in arguments.concurrency.split(",")]
    except ValueError:
        parser.error(f"--concurrency {arguments.concurrency!r}: comma-separated integers")
    if not levels or min(levels) < 1:
        parser.error("--concurrency levels must be at least 1")
    if arguments.duration <= 0 or arguments.warmup < 0:
        parser.error("--duration must be positive and --warmup not negative")
    arguments.levels = levels
    return arguments


def _run(arguments: argparse.Namespace, work: Path, started: float) -> int:
    print(
        f"imagegate benchmark: levels {arguments.levels}, {arguments.warmup:g} s warm-up + "
        f"{arguments.duration:g} s per run, work dir {work}"
    )
    tls = write_certificates(
        generate_certificates(
            dns_names=["localhost"], ip_addresses=["127.0.0.1"], now=datetime.now(UTC)
        ),
        work / "tls",
    )
    corpus_path = work / "corpus.json"
    corpus_summary = _write_corpus(corpus_path, seed=arguments.seed, workloads=arguments.workloads)
    print(
        f"corpus: {corpus_summary['reviews']} reviews, "
        f"{corpus_summary['body_bytes']['min']}-{corpus_summary['body_bytes']['max']} bytes "
        f"(p50 {corpus_summary['body_bytes']['p50']}), "
        f"{corpus_summary['distinct_deployment_names']} deployment names"
    )
    background = _busy_cores(1.0)
    quiet = "quiet" if background <= _BUSY_MACHINE_CORES else "NOT quiet: numbers will be noisy"
    print(f"machine before start: {background:.2f} cores busy ({quiet})")
    store_path = work / "store.db"
    spool_path = work / "spool.db"
    scenarios: list[Scenario] = []
    with ExitStack() as stack:
        floor_arguments = [str(BENCH_DIR / "floor.py"), "--parser", arguments.floor_parser]
        floor = stack.enter_context(_server("floor", floor_arguments, tls, work))
        imagegate_arguments = [
            "-m",
            "imagegate",
            "serve",
            "--store",
            f"sqlite:///{store_path}",
            "--spool",
            str(spool_path),
            "--no-namespace-labels",
            "--cluster-name",
            CLUSTER,
            "--require-digest",
            "enforce",
            "--log-level",
            "warning",
        ]
        imagegate = stack.enter_context(_server("imagegate", imagegate_arguments, tls, work))
        context = ssl.create_default_context(cafile=str(tls.ca_cert))
        _wait_ready(floor, "/healthz", context)
        _wait_ready(imagegate, "/readyz", context)
        for level in arguments.levels:
            for server in (floor, imagegate):
                scenario = _measure(
                    server,
                    level=level,
                    arguments=arguments,
                    corpus=corpus_path,
                    ca_file=tls.ca_cert,
                    context=context,
                    work=work,
                )
                scenarios.append(scenario)
                _print_progress(scenario)
        metrics = _scrape_metrics(imagegate, context)
        peak_rss = {
            server.name: _status_mib(server.process.pid, "VmHWM") for server in (floor, imagegate)
        }
        for server in (imagegate, floor):
            _stop(server)
    log_lines = {server.name: _log_lines(server.log) for server in (floor, imagegate)}
    imagegate_sent = max(_sent_per_imagegate_run(work), default=0)
    checks, verification = _verify(
        scenarios=scenarios,
        corpus_path=corpus_path,
        imagegate_sent=imagegate_sent,
        store_path=store_path,
        spool_path=spool_path,
        metrics=metrics,
        log_lines=log_lines,
    )
    ratios = _ratios(scenarios)
    ok = all(check.ok for check in checks)
    results = {
        "schema": 1,
        "ok": ok,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_s": round(time.monotonic() - started, 1),
        "machine": {**_machine(work), "busy_cores_before_start": round(background, 2)},
        "settings": {
            "concurrency": arguments.levels,
            "warmup_s": arguments.warmup,
            "duration_s": arguments.duration,
            "floor_parser": arguments.floor_parser,
            "imagegate_flags": "--require-digest enforce --no-namespace-labels "
            f"--cluster-name {CLUSTER} --log-level warning, sqlite store and spool in a temp dir",
            "load_generator": "benchmarks/load.py, its own process, aiohttp client, "
            "one keep-alive TLS connection per request in flight",
        },
        "corpus": corpus_summary,
        "scenarios": msgspec.to_builtins(scenarios),
        "ratios_imagegate_over_floor": msgspec.to_builtins(ratios),
        "servers": {
            "floor": {"peak_rss_mib": peak_rss["floor"]},
            "imagegate": {"peak_rss_mib": peak_rss["imagegate"], "metrics": metrics},
        },
        "verification": verification,
        "checks": msgspec.to_builtins(checks),
    }
    arguments.results.parent.mkdir(parents=True, exist_ok=True)
    arguments.results.write_bytes(msgspec.json.format(msgspec.json.encode(results)) + b"\n")
    print()
    print(_table(scenarios, ratios, peak_rss))
    print()
    for check in checks:
        print(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    print(f"\nresults: {arguments.results}  ({results['wall_s']} s)")
    if not ok:
        print(
            "BENCHMARK FAILED: the numbers above do not describe a working server", file=sys.stderr
        )
        return 1
    return 0


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


@contextmanager
def _server(name: str, arguments: list[str], tls: CertificatePaths, work: Path) -> Iterator[Server]:
    """Run ``python ARGUMENTS`` with TLS on a free loopback port, its stderr to a log."""
    port = _free_port()
    log = work / f"{name}.log"
    listen = ["--listen", f"127.0.0.1:{port}", "--tls-cert", str(tls.tls_cert)]
    listen += ["--tls-key", str(tls.tls_key)]
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, *arguments, *listen],
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            cwd=work,
        )
    server = Server(name=name, process=process, port=port, log=log)
    try:
        yield server
    finally:
        _stop(server)


def _stop(server: Server) -> None:
    process = server.process
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_ready(server: Server, path: str, context: ssl.SSLContext) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode}:\n{_tail(server.log)}"
            )
        try:
            with urllib.request.urlopen(
                f"{server.base_url}{path}", timeout=2, context=context
            ) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        # A separate process gives no other signal that it listens and is ready.
        time.sleep(0.1)
    raise TimeoutError(f"{server.name} was not ready at {server.base_url}{path} in time")


def _measure(
    server: Server,
    *,
    level: int,
    arguments: argparse.Namespace,
    corpus: Path,
    ca_file: Path,
    context: ssl.SSLContext,
    work: Path,
) -> Scenario:
    report_path = work / f"load-{server.name}-{level}.json"
    budget = arguments.warmup + arguments.duration + 60
    subprocess.run(
        [
            sys.executable,
            str(BENCH_DIR / "load.py"),
            "--url",
            f"{server.base_url}/validate",
            "--ca-file",
            str(ca_file),
            "--corpus",
            str(corpus),
            "--concurrency",
            str(level),
            "--warmup",
            str(arguments.warmup),
            "--duration",
            str(arguments.duration),
            "--server-pid",
            str(server.process.pid),
            "--out",
            str(report_path),
        ],
        check=True,
        timeout=budget,
    )
    load_ended = time.monotonic()
    if server.name == "imagegate":
        _wait_spool_drained(server, context)
    settle_s = time.monotonic() - load_ended
    cpu_now = _process_cpu_s(server.process.pid)
    report = msgspec.json.decode(report_path.read_bytes(), type=LoadReport)
    if server.process.poll() is not None:
        raise RuntimeError(f"{server.name} died during the run:\n{_tail(server.log)}")
    start = report.server_cpu_at_start_s or 0.0
    window_cpu = report.server_cpu_s or 0.0
    until_idle = cpu_now - start
    answered = report.requests + report.tail_requests
    return Scenario(
        server=server.name,
        concurrency=level,
        measured_s=report.measured_s,
        requests=report.requests,
        requests_per_s=report.requests_per_s,
        latency_ms=report.latency_ms,
        errors=report.errors,
        errors_by_kind=report.errors_by_kind,
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
        rss_mib_after=_status_mib(server.process.pid, "VmRSS"),
    )


def _print_progress(scenario: Scenario) -> None:
    latency = scenario.latency_ms
    p50 = f"{latency.p50:.2f}" if latency else "-"
    p99 = f"{latency.p99:.2f}" if latency else "-"
    length = scenario.measured_s or 1.0
    busy = (scenario.other_cpu_s + scenario.steal_cpu_s) / length
    note = f"  (everything else used {busy:.2f} cores)" if busy > _BUSY_MACHINE_CORES else ""
    print(
        f"  {scenario.server:<9} c={scenario.concurrency:<3} {scenario.requests_per_s:9.1f} req/s"
        f"  p50 {p50} ms  p99 {p99} ms  errors {scenario.errors}{note}"
    )


def _wait_spool_drained(server: Server, context: ssl.SSLContext) -> None:
    # The gauge is set by the recorder between batches; two empty readings in a row
    # rule out one taken just before the last append was picked up.
    deadline = time.monotonic() + _SETTLE_TIMEOUT_S
    empty_readings = 0
    while time.monotonic() < deadline:
        depth = _scrape_metrics(server, context).get("imagegate_spool_depth")
        empty_readings = empty_readings + 1 if depth == 0 else 0
        if empty_readings == 2:
            return
        time.sleep(0.05)
    raise TimeoutError(f"imagegate's spool did not drain within {_SETTLE_TIMEOUT_S} s")


_SAMPLE = re.compile(r"^(imagegate_[a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$")


def _scrape_metrics(server: Server, context: ssl.SSLContext) -> dict[str, float]:
    """imagegate's own counters, summed over labels except records_written's outcome."""
    with urllib.request.urlopen(f"{server.base_url}/metrics", timeout=5, context=context) as page:
        text = page.read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None or match.group(1).endswith("_created"):
            continue
        name, labels, value = match.group(1), match.group(2) or "", float(match.group(3))
        if name.endswith(("_bucket", "_sum", "_count")):
            continue
        if name == "imagegate_records_written_total":
            name = f"{name}{labels}"
        elif name == "imagegate_admission_requests_total":
            decision = re.search(r'decision="([a-z]+)"', labels)
            name = f"{name}{{decision={decision.group(1) if decision else '?'}}}"
        values[name] = values.get(name, 0.0) + value
    return values


def _sent_per_imagegate_run(work: Path) -> Iterator[int]:
    for path in sorted(work.glob("load-imagegate-*.json")):
        yield msgspec.json.decode(path.read_bytes(), type=LoadReport).sent_total


def _verify(
    *,
    scenarios: list[Scenario],
    corpus_path: Path,
    imagegate_sent: int,
    store_path: Path,
    spool_path: Path,
    metrics: dict[str, float],
    log_lines: dict[str, list[str]],
) -> tuple[list[Check], dict[str, Any]]:
    checks: list[Check] = []
    errors = {f"{s.server} c={s.concurrency}": s.errors for s in scenarios if s.errors}
    checks.append(
        Check(
            name="every answer correct",
            ok=not errors,
            detail="no failed, refused or wrong answer" if not errors else f"errors: {errors}",
        )
    )
    reused = all(s.connections_opened == s.concurrency for s in scenarios)
    checks.append(
        Check(
            name="keep-alive",
            ok=reused,
            detail="one connection per request in flight in every run"
            if reused
            else str({f"{s.server} c={s.concurrency}": s.connections_opened for s in scenarios}),
        )
    )
    reviews = msgspec.json.decode(corpus_path.read_bytes(), type=Corpus).reviews
    # Every run walks the corpus from its start, so the reviews sent are a prefix of it.
    sent = reviews[: min(imagegate_sent, len(reviews))]
    expected = {name for review in sent for name in review.records}
    active = _deployments(store_path, history=False)
    history = _deployments(store_path, history=True)
    recorded = {str(record["deployment_name"]) for record in active}
    environments = {str(record["environment"]) for record in active}
    checks.append(
        Check(
            name="deployments recorded",
            ok=bool(recorded) and recorded == expected and environments == {CLUSTER},
            detail=f"{len(recorded)} deployed records in environment {CLUSTER!r}, "
            f"{len(expected)} expected from the {len(sent)} distinct reviews sent"
            + (
                ""
                if recorded == expected
                else f"; missing {sorted(expected - recorded)[:3]}, "
                f"unexpected {sorted(recorded - expected)[:3]}"
            ),
        )
    )
    created = metrics.get('imagegate_records_written_total{outcome="created"}', 0.0)
    superseded = metrics.get('imagegate_records_written_total{outcome="superseded"}', 0.0)
    refreshed = metrics.get('imagegate_records_written_total{outcome="refreshed"}', 0.0)
    checks.append(
        Check(
            name="history consistent",
            ok=len(history) == created + superseded and created == len(recorded),
            detail=f"{len(history)} records in all = {created:g} created + {superseded:g} "
            f"superseded; {refreshed:g} heartbeats refreshed last_seen",
        )
    )
    spooled, parked = _spool_left(spool_path)
    checks.append(
        Check(
            name="spool drained",
            ok=spooled == 0 and parked == 0,
            detail=f"{spooled} waiting, {parked} parked (refused by the store)",
        )
    )
    denied = metrics.get("imagegate_admission_requests_total{decision=deny}", 0.0)
    slow = metrics.get("imagegate_spool_slow_appends_total", 0.0)
    unrecorded = metrics.get("imagegate_unrecorded_images_total", 0.0)
    checks.append(
        Check(
            name="imagegate metrics",
            ok=denied == 0 and unrecorded == 0,
            detail=f"{denied:g} denied, {unrecorded:g} unrecorded images, "
            f"{slow:g} answers sent before their spool append was durable",
        )
    )
    # imagegate runs at --log-level warning and the floor logs nothing: any line but
    # a structured warning (e.g. a slow spool append) is an error or a traceback.
    serious = [
        f"{name}: {line}"
        for name, lines in log_lines.items()
        for line in lines
        if '"level": "warning"' not in line
    ]
    warnings = sum(len(lines) for lines in log_lines.values()) - len(serious)
    checks.append(
        Check(
            name="server logs",
            ok=not serious,
            detail=f"{len(serious)} error lines, {warnings} warnings"
            + (f"; first: {serious[0][:200]}" if serious else ""),
        )
    )
    verification = {
        "reviews_sent_distinct": len(sent),
        "expected_deployment_names": len(expected),
        "deployed_records": len(recorded),
        "records_in_history": len(history),
        "records_created": created,
        "records_superseded": superseded,
        "records_refreshed": refreshed,
        "spooled_left": spooled,
        "parked": parked,
        "spool_slow_appends": slow,
        "log_lines": {name: len(lines) for name, lines in log_lines.items()},
    }
    return checks, verification


def _deployments(store_path: Path, *, history: bool) -> list[dict[str, Any]]:
    command = [
        sys.executable,
        "-m",
        "imagegate",
        "--store",
        f"sqlite:///{store_path}",
        "deployment",
        "list",
        "--env",
        CLUSTER,
        "-o",
        "json",
    ]
    if history:
        command.append("--history")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("IMAGEGATE_")}
    completed = subprocess.run(
        command, capture_output=True, check=True, timeout=120, env=environment
    )
    records: list[dict[str, Any]] = msgspec.json.decode(completed.stdout)
    return records


def _spool_left(spool_path: Path) -> tuple[int, int]:
    connection = sqlite3.connect(f"file:{spool_path}?mode=ro", uri=True)
    try:
        spooled = connection.execute("SELECT count(*) FROM spooled").fetchone()[0]
        parked = connection.execute("SELECT count(*) FROM parked").fetchone()[0]
    finally:
        connection.close()
    return int(spooled), int(parked)


def _log_lines(log: Path) -> list[str]:
    return [line for line in log.read_text(errors="replace").splitlines() if line.strip()]


def _ratios(scenarios: list[Scenario]) -> list[Ratio]:
    by_key = {(s.server, s.concurrency): s for s in scenarios}
    ratios = []
    for (server, level), imagegate in by_key.items():
        floor = by_key.get(("floor", level))
        if server != "imagegate" or floor is None:
            continue
        if imagegate.latency_ms is None or floor.latency_ms is None or not floor.requests_per_s:
            continue
        ratios.append(
            Ratio(
                concurrency=level,
                throughput=round(imagegate.requests_per_s / floor.requests_per_s, 3),
                p50=round(imagegate.latency_ms.p50 / floor.latency_ms.p50, 2),
                p99=round(imagegate.latency_ms.p99 / floor.latency_ms.p99, 2),
                cpu_per_review=round(
                    imagegate.server_cpu_ms_per_review / floor.server_cpu_ms_per_review, 2
                )
                if floor.server_cpu_ms_per_review
                else 0.0,
            )
        )
    return ratios


def _table(scenarios: list[Scenario], ratios: list[Ratio], peak_rss: dict[str, float]) -> str:
    """Markdown tables, in the form docs/benchmarks.md shows them."""
    lines = [
        "| server | c | req/s | p50 ms | p90 ms | p99 ms | max ms | errors "
        "| server CPU s / 1000 reviews | server cores | load generator cores "
        "| everything else, cores | RSS after run, MiB | drain after load, s |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for s in scenarios:
        latency = s.latency_ms
        cells = (
            [f"{latency.p50:.2f}", f"{latency.p90:.2f}", f"{latency.p99:.2f}", f"{latency.max:.1f}"]
            if latency
            else ["-"] * 4
        )
        length = s.measured_s or 1.0
        other = (s.other_cpu_s + s.steal_cpu_s) / length
        drain = f"{s.settle_s:.2f}" if s.server == "imagegate" else "-"
        lines.append(
            f"| {s.server} | {s.concurrency} | {s.requests_per_s:.0f} | {' | '.join(cells)} "
            f"| {s.errors} | {s.server_cpu_ms_per_review:.2f} | {s.server_cores_busy:.2f} "
            f"| {s.client_cpu_s / length:.2f} | {other:.2f} | {s.rss_mib_after:.1f} | {drain} |"
        )
    lines += [
        "",
        "| c | throughput imagegate/floor | p50 imagegate/floor | p99 imagegate/floor "
        "| server CPU per review imagegate/floor |",
        "|--:|--:|--:|--:|--:|",
    ]
    lines += [
        f"| {r.concurrency} | {r.throughput:.2f} | {r.p50:.1f}x | {r.p99:.1f}x "
        f"| {r.cpu_per_review:.1f}x |"
        for r in ratios
    ]
    lines += [
        "",
        "peak RSS: " + ", ".join(f"{name} {mib:.1f} MiB" for name, mib in peak_rss.items()),
    ]
    return "\n".join(lines)


def _machine(work: Path) -> dict[str, Any]:
    return {
        "cpu_model": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "memory_gib": round(_meminfo_kib("MemTotal") / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "aiohttp": importlib.metadata.version("aiohttp"),
        "msgspec": importlib.metadata.version("msgspec"),
        "openssl": ssl.OPENSSL_VERSION,
        "event_loop": "asyncio (default, no uvloop)",
        "imagegate_revision": _git_revision(),
        "temp_filesystem": _filesystem(work),
    }


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _meminfo_kib(field: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _git_revision() -> str:
    try:
        revision = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{revision}+dirty" if dirty else revision


def _filesystem(path: Path) -> str:
    # The spool fsyncs every admission batch, so where the temp dir lives matters.
    best = ("", "unknown", "unknown")
    for line in Path("/proc/mounts").read_text().splitlines():
        device, mount_point, fs_type, *_ = line.split()
        inside = str(path).startswith(mount_point.rstrip("/") + "/") or str(path) == mount_point
        if inside and len(mount_point) > len(best[0]):
            best = (mount_point, fs_type, device)
    return f"{best[1]} on {best[2]} (mounted at {best[0]})"


def _busy_cores(seconds: float) -> float:
    """Cores kept busy (user, system or stolen) on the whole machine over ``seconds``."""

    def busy() -> float:
        with open("/proc/stat", "rb") as stat:
            ticks = [int(value) for value in stat.readline().split()[1:9]]
        return (ticks[0] + ticks[1] + ticks[2] + ticks[7]) / _CLOCK_TICKS

    before = busy()
    time.sleep(seconds)
    return (busy() - before) / seconds


def _process_cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat", "rb") as stat:
        text = stat.read()
    fields = text[text.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def _status_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


if __name__ == "__main__":
    sys.exit(main())
