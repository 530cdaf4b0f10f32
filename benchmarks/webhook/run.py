"""``make bench``: imagegate against a bare aiohttp floor and a kopf webhook, same load, one run.

Started as ``python -m benchmarks.webhook`` from the repository (``--help`` lists the
flags, ``arguments.py``). It makes a CA and a serving certificate, writes the corpus
(``corpus/``), and measures each server in turn, one process at a time:

- ``floor``: the least an aiohttp TLS webhook can do (``floor.py``);
- ``kopf``: the enforce scenario's checks as a kopf validating webhook
  (``peer_kopf.py``), logged in to a real kube-apiserver (``benchmarks.common``);
- ``imagegate-audit``: ``imagegate serve --require-digest audit``, recording;
- ``imagegate-enforce``: ``--require-digest enforce`` and a policy whose rules read
  posted scans (``enforce.py``), recording; then the soak.

Each gets the same closed loops (fixed concurrency) and open loops (fixed rate) from
the load generator (``load/``), a process of its own (``measure.py``). The run then
checks that the numbers describe working servers (``verify.py``), compares imagegate
with the others (``compare.py``), evaluates the targets (``targets.py``), writes
``benchmarks/results/latest.json``, and rewrites the results section of
docs/benchmarks.md (``finish.py``, ``report.py``). It exits non-zero if a check
failed; a missed target does not. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from benchmarks.common.controlplane import ControlPlaneError, binaries, control_plane
from benchmarks.common.paths import REPO_DIR
from benchmarks.webhook import enforce, imagegate_probe, verify
from benchmarks.webhook.arguments import estimate_s, parse
from benchmarks.webhook.finish import finish
from benchmarks.webhook.load import LoadShape
from benchmarks.webhook.measure import BUSY_MACHINE_CORES, measure_server, send_load
from benchmarks.webhook.procfs import busy_cores
from benchmarks.webhook.results import Check, ServerSummary
from benchmarks.webhook.servers import (
    AUDIT,
    ENFORCE,
    FLOOR,
    KOPF,
    Server,
    floor_spec,
    imagegate_spec,
    kopf_spec,
)
from benchmarks.webhook.state import Run
from imagegate.tls import generate_certificates, write_certificates

_WARMUP_PASS_CONCURRENCY = 8
_WARMUP_PASS_LIMIT_S = 30.0
"""A pass takes a few seconds; a server this slow fails the warm-up check instead."""


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse(argv)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="imagegate-bench-"))
    try:
        return _run(arguments, work, started)
    finally:
        if arguments.keep_temp:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _run(arguments: argparse.Namespace, work: Path, started: float) -> int:
    print(
        f"imagegate benchmark: {', '.join(arguments.server_list)}; closed loop "
        f"{arguments.levels or 'none'} ({arguments.warmup:g} s + {arguments.duration:g} s), "
        f"open loop {arguments.rate_list or 'none'}/s ({arguments.warmup:g} s + "
        f"{arguments.open_duration:g} s), soak {arguments.soak:g} s; about "
        f"{estimate_s(arguments) / 60:.0f} min; work dir {work}"
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
    quiet = "quiet" if background <= BUSY_MACHINE_CORES else "NOT quiet: numbers will be noisy"
    print(f"machine before start: {background:.2f} cores busy ({quiet})")
    run = Run(
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
    phases: dict[str, Callable[[Run], None]] = {
        FLOOR: _floor,
        KOPF: _kopf,
        AUDIT: _imagegate_audit,
        ENFORCE: _imagegate_enforce,
    }
    for name in arguments.server_list:
        phases[name](run)
    return finish(run, corpus_summary, background, started)


def _write_corpus(path: Path, *, seed: int, workloads: int) -> dict[str, Any]:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.webhook.corpus",
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
        cwd=REPO_DIR,
    )
    summary: dict[str, Any] = msgspec.json.decode(completed.stdout)
    return summary


def _floor(run: Run) -> None:
    arguments = run.arguments
    measure_server(run, floor_spec(parser=arguments.floor_parser, loop=arguments.floor_loop))


def _kopf(run: Run) -> None:
    found = (
        binaries(run.arguments.e2e_bin)
        if importlib.util.find_spec("kopf")
        else "kopf is not installed (make install installs the bench extra)"
    )
    if isinstance(found, str):
        _skip(run, KOPF, found)
        return
    rules = run.work / "kopf-rules.json"
    rules.write_text(json.dumps(enforce.kopf_rules(run.scan_dir)))
    print("kopf: starting kube-apiserver and etcd for it to log in to")
    try:
        with control_plane(found, run.work / "control-plane") as plane:
            spec = kopf_spec(kubeconfig=plane.kubeconfig, rules=rules, tls=run.tls)
            measure_server(run, spec)
    except ControlPlaneError as error:
        # Without a cluster there is no kopf peer; the other servers can still be measured.
        _skip(run, KOPF, f"the control plane did not start: {str(error)[:300]}")


def _skip(run: Run, name: str, reason: str) -> None:
    print(f"{name}: SKIPPED: {reason}")
    run.servers.append(ServerSummary(name=name, description="", skipped=reason))


def _imagegate_audit(run: Run) -> None:
    spec = imagegate_spec(
        name=AUDIT,
        work=run.work / AUDIT,
        require_digest="audit",
        policies=None,
        extra_args=run.arguments.extra_imagegate_args,
    )
    measure_server(run, spec)


def _imagegate_enforce(run: Run) -> None:
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

    measure_server(run, spec, prepare=prepare, soak=run.arguments.soak > 0)


def _warm_up_pass(run: Run, server: Server) -> None:
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
    report = send_load(run, server, shape, label="warm-up-pass")
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
