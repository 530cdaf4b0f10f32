"""The kopf peer: the enforce scenario's image checks as a kopf validating webhook.

Started the way kopf documents it, as a handlers module::

    KUBECONFIG=... BENCH_KOPF_LISTEN=127.0.0.1:PORT BENCH_KOPF_TLS_CERT=tls.crt \\
    BENCH_KOPF_TLS_KEY=tls.key BENCH_KOPF_RULES=rules.json \\
        kopf run --standalone --all-namespaces --quiet benchmarks/peer_kopf.py

kopf logs in to the cluster in ``KUBECONFIG`` and discovers its resources before
it serves: it answers a review only for a resource the API server has. The
``@kopf.on.startup`` handler configures the webhook server (the serving
certificate of the run, TLS 1.2+ as Python's default server context) and leaves
``settings.admission.managed`` unset, so kopf touches no webhook configuration:
the load generator posts the reviews itself, to ``/validate``, the id that every
handler below shares (kopf routes ``POST /<id>`` to the handlers with that id).

The checks are those of ``benchmarks/enforce.py``'s policy, written as a kopf user
would write them: every container, init container and ephemeral container image
pinned by digest, from an allowed registry, not ``latest``, scanned recently
enough and without a vulnerability at or above the threshold. The scans are the
Grype reports posted to imagegate, read once at start into a dict: kopf has no
evidence store, so the peer gets the cheapest lookup there is.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import kopf

WEBHOOK_ID = "validate"
"""The handler id, and so the URL path kopf serves it at."""

SEVERITIES = ("negligible", "low", "medium", "high", "critical")
"""In rising order, as imagegate ranks them; anything else is unknown and never counts."""

_POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
_TEMPLATE_SPEC = ("spec", "template", "spec")
_CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")


@dataclass(frozen=True)
class Scan:
    """What the checks need of a scan report."""

    scanned_at: datetime
    severities: tuple[int, ...]
    """Of each vulnerability found: its index in ``SEVERITIES``, -1 when unknown."""


@dataclass(frozen=True)
class Rules:
    """The enforce policy's rules, as ``benchmarks/enforce.py`` writes them for this peer."""

    registries: tuple[re.Pattern[str], ...]
    max_age: timedelta
    severity: int
    """Index in ``SEVERITIES``: a vulnerability at or above it denies."""
    scans: Mapping[str, Scan]
    """By digest (``sha256:...``)."""


def load_rules(path: Path) -> Rules:
    """The rules file: registry patterns, scan age and severity, and the scan reports."""
    document = json.loads(path.read_text())
    scans = {}
    for report_path in sorted(Path(document["scan_reports"]).glob("*.json")):
        report = json.loads(report_path.read_text())
        digest = report["source"]["target"]["manifestDigest"]
        scans[digest] = Scan(
            scanned_at=datetime.fromisoformat(report["descriptor"]["timestamp"]),
            severities=tuple(
                _rank(match["vulnerability"]["severity"]) for match in report["matches"]
            ),
        )
    return Rules(
        registries=tuple(glob_pattern(pattern) for pattern in document["allowed_registries"]),
        max_age=timedelta(seconds=document["max_age_s"]),
        severity=_rank(document["severity"]),
        scans=scans,
    )


def glob_pattern(pattern: str) -> re.Pattern[str]:
    """imagegate's glob over a whole value: ``**`` any text, ``*`` and ``?`` within a segment."""
    parts = re.split(r"(\*\*|\*|\?)", pattern)
    wildcards = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wildcards.get(part, re.escape(part)) for part in parts))


def image_violations(image: str, rules: Rules, now: datetime) -> list[str]:
    """Why ``image`` may not run (empty when it may)."""
    name, _, digest = image.partition("@")
    last_segment = name.rsplit("/", 1)[-1]
    repository, _, tag = name.rpartition(":") if ":" in last_segment else (name, "", "")
    repository = _normalised(repository)
    problems = []
    if not digest.startswith("sha256:"):
        problems.append(f"image {image!r} is not pinned by digest")
    if tag == "latest" or (not tag and not digest):
        problems.append(f"image {image!r} uses the latest tag")
    if not any(pattern.fullmatch(repository) for pattern in rules.registries):
        problems.append(f"repository {repository} is not in the allowed registries")
    scan = rules.scans.get(digest) if digest else None
    if scan is None:
        problems.append(f"no vulnerability scan was posted for {digest or image}")
    elif now - scan.scanned_at > rules.max_age:
        problems.append(f"the newest scan of {digest} is too old")
    elif any(severity >= rules.severity for severity in scan.severities):
        problems.append(f"{digest} has a vulnerability at or above {SEVERITIES[rules.severity]}")
    return problems


def pod_images(kind: str, obj: Mapping[str, Any]) -> Iterator[str]:
    """The images of every container of the pod (template) of a workload object."""
    spec: Any = obj
    for key in _POD_SPEC_PATHS.get(kind, _TEMPLATE_SPEC):
        spec = spec.get(key) or {}
    for field in _CONTAINER_FIELDS:
        for container in spec.get(field) or ():
            yield str(container.get("image", ""))


def _normalised(repository: str) -> str:
    # As a container runtime reads a reference: no registry host means Docker Hub.
    first, _, rest = repository.partition("/")
    if not rest:
        return f"docker.io/library/{repository}"
    if "." not in first and ":" not in first and first != "localhost":
        return f"docker.io/{repository}"
    return repository


def _rank(severity: str) -> int:
    word = severity.lower()
    return SEVERITIES.index(word) if word in SEVERITIES else -1


_rules: Rules | None = None


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    """Serve admission over TLS where the benchmark says; load the rules and scans."""
    global _rules  # noqa: PLW0603  # set once, before the webhook server starts
    host, port = os.environ["BENCH_KOPF_LISTEN"].rsplit(":", 1)
    settings.admission.server = kopf.WebhookServer(
        addr=host,
        port=int(port),
        certfile=os.environ["BENCH_KOPF_TLS_CERT"],
        pkeyfile=os.environ["BENCH_KOPF_TLS_KEY"],
    )
    _rules = load_rules(Path(os.environ["BENCH_KOPF_RULES"]))


@kopf.on.validate("v1", "pods", id=WEBHOOK_ID)
@kopf.on.validate("apps", "v1", "deployments", id=WEBHOOK_ID)
@kopf.on.validate("apps", "v1", "replicasets", id=WEBHOOK_ID)
@kopf.on.validate("apps", "v1", "statefulsets", id=WEBHOOK_ID)
@kopf.on.validate("apps", "v1", "daemonsets", id=WEBHOOK_ID)
@kopf.on.validate("batch", "v1", "jobs", id=WEBHOOK_ID)
@kopf.on.validate("batch", "v1", "cronjobs", id=WEBHOOK_ID)
async def validate(body: kopf.Body, **_: Any) -> None:
    """Deny the object when any of its images breaks a rule."""
    # async: the checks are pure CPU work; a sync handler would hop to a thread per review.
    if _rules is None:
        raise kopf.AdmissionError("the rules are not loaded yet", code=503)
    now = datetime.now(UTC)
    problems = [
        problem
        for image in pod_images(str(body.get("kind", "")), body)
        for problem in image_violations(image, _rules, now)
    ]
    if problems:
        raise kopf.AdmissionError("; ".join(problems), code=403)
