"""The correctness checks: the numbers must describe working servers, or the run fails.

A benchmark of a server that answers wrongly, drops connections, loses what it
should record or logs errors is worthless, however fast it looks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from benchmarks.webhook.imagegate_probe import deployments, spool_left
from benchmarks.webhook.load import OVERLOAD_ERRORS
from benchmarks.webhook.results import Check, Scenario
from benchmarks.webhook.servers import CLUSTER


class _CorpusReview(msgspec.Struct):
    records: list[str]


class _Corpus(msgspec.Struct):
    reviews: list[_CorpusReview]


@dataclass(frozen=True)
class RecordingServer:
    """What an imagegate scenario left behind, to check against what it was sent."""

    name: str
    store: Path
    spool: Path
    metrics: dict[str, float]
    reviews_sent: set[int]
    """Positions in the corpus of every review sent to it."""


def failures(scenario_errors: dict[str, int], *, open_loop: bool) -> int:
    """Errors that are wrong or failed answers. Under an open loop a request not sent
    (too many unanswered) or timed out says the server fell behind, which the
    numbers show; in a closed loop, with a few requests in flight, it is a fault."""
    return sum(
        count
        for kind, count in scenario_errors.items()
        if not (open_loop and kind in OVERLOAD_ERRORS)
    )


def answer_checks(scenarios: Sequence[Scenario]) -> list[Check]:
    """Every answer right; keep-alive held in every run."""
    failed = {f"{s.server} {s.load}": s.failures for s in scenarios if s.failures}
    churned = {
        f"{s.server} {s.load}": s.connections_opened
        for s in scenarios
        if (
            s.connections_opened != s.concurrency
            if s.mode == "closed"
            else s.connections_opened > s.connections_limit
        )
    }
    return [
        Check(
            name="every answer correct",
            ok=not failed,
            detail="no failed, refused or wrong answer"
            if not failed
            else f"failed or wrong answers: {failed}",
        ),
        Check(
            name="keep-alive",
            ok=not churned,
            detail="closed loops: one connection per request in flight; open loops: "
            "no more than the pool's connections"
            if not churned
            else f"connections opened: {churned}",
        ),
    ]


def recording_checks(server: RecordingServer, corpus: Path) -> tuple[list[Check], dict[str, Any]]:
    """What an imagegate scenario recorded is exactly what its reviews should have."""
    name = server.name
    reviews = msgspec.json.decode(corpus.read_bytes(), type=_Corpus).reviews
    expected = {record for index in server.reviews_sent for record in reviews[index].records}
    active = deployments(server.store, history=False)
    history = deployments(server.store, history=True)
    recorded = {str(record["deployment_name"]) for record in active}
    environments = {str(record["environment"]) for record in active}
    metrics = server.metrics
    created = metrics.get('imagegate_records_written_total{outcome="created"}', 0.0)
    superseded = metrics.get('imagegate_records_written_total{outcome="superseded"}', 0.0)
    refreshed = metrics.get('imagegate_records_written_total{outcome="refreshed"}', 0.0)
    spooled, parked = spool_left(server.spool)
    denied = metrics.get("imagegate_admission_requests_total{decision=deny}", 0.0)
    violations = metrics.get("imagegate_policy_violations_total", 0.0)
    unrecorded = metrics.get("imagegate_unrecorded_images_total", 0.0)
    slow = metrics.get("imagegate_spool_slow_appends_total", 0.0)
    mismatch = (
        ""
        if recorded == expected
        else f"; missing {sorted(expected - recorded)[:3]}, "
        f"unexpected {sorted(recorded - expected)[:3]}"
    )
    checks = [
        Check(
            name=f"{name}: deployments recorded",
            ok=bool(recorded) and recorded == expected and environments == {CLUSTER},
            detail=f"{len(recorded)} deployed records in environment {CLUSTER!r}, "
            f"{len(expected)} expected from the {len(server.reviews_sent)} distinct reviews "
            f"sent{mismatch}",
        ),
        Check(
            name=f"{name}: history consistent",
            ok=len(history) == created + superseded and created == len(recorded),
            detail=f"{len(history)} records in all = {created:g} created + {superseded:g} "
            f"superseded; {refreshed:g} heartbeats refreshed last_seen",
        ),
        Check(
            name=f"{name}: spool drained",
            ok=spooled == 0 and parked == 0,
            detail=f"{spooled} waiting, {parked} parked (refused by the store)",
        ),
        Check(
            name=f"{name}: metrics",
            ok=denied == 0 and unrecorded == 0 and violations == 0,
            detail=f"{denied:g} denied, {violations:g} policy violations, {unrecorded:g} "
            f"unrecorded images, {slow:g} answers sent before their spool append was durable",
        ),
    ]
    verification = {
        "reviews_sent_distinct": len(server.reviews_sent),
        "expected_deployment_names": len(expected),
        "deployed_records": len(recorded),
        "records_in_history": len(history),
        "records_created": created,
        "records_superseded": superseded,
        "records_refreshed": refreshed,
        "spooled_left": spooled,
        "parked": parked,
        "spool_slow_appends": slow,
    }
    return checks, verification


def log_check(name: str, log: Path) -> Check:
    """The server logged no error (warnings are allowed)."""
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    serious = [line for line in lines if _serious(name, line)]
    return Check(
        name=f"{name}: log",
        ok=not serious,
        detail=f"{len(serious)} error lines, {len(lines) - len(serious)} other lines"
        + (f"; first: {serious[0][:200]}" if serious else ""),
    )


def loopback_check(name: str, log: Path) -> Check:
    """imagegate looked up no registry: with every image pinned and scans posted, its
    rules need none, and the benchmark must not leave 127.0.0.1."""
    lookups = registry_lookups(log)
    hosts = sorted({lookup.removeprefix("registry ") for lookup in lookups})
    return Check(
        name=f"{name}: no registry lookups",
        ok=not lookups,
        detail="nothing left 127.0.0.1"
        if not lookups
        else f"{len(lookups)} registry lookups failed or timed out (hosts "
        f"{', '.join(hosts[:4])}, ...): a rule asked a registry although every image is "
        "pinned by digest and its scan was posted",
    )


def registry_lookups(log: Path) -> list[str]:
    """The sources (``registry HOST``) of the failed or timed-out registry lookups logged."""
    return list(_registry_sources(log.read_text(errors="replace").splitlines()))


def _registry_sources(lines: Iterable[str]) -> Iterable[str]:
    for line in lines:
        if '"facts_lookup_failed"' not in line and '"facts_lookup_timeout"' not in line:
            continue
        try:
            source = str(json.loads(line).get("source", ""))
        except ValueError:
            continue
        if source.startswith("registry"):
            yield source


def _serious(name: str, line: str) -> bool:
    if name.startswith("imagegate"):
        # It logs JSON at --log-level warning: anything but a warning is an error or a traceback.
        return '"level": "warning"' not in line
    if name == "kopf":
        # kopf --quiet logs warnings and errors as "[time] logger [LEVEL   ] message".
        return any(word in line for word in ("[ERROR", "[CRITICAL", "Traceback"))
    return True
