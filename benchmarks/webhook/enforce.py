"""The enforce scenario's policy and evidence: one definition for imagegate and the kopf peer.

imagegate gets the rules as a ``DeploymentPolicy`` file and the scans through its
HTTP API (``POST /api/v1/evidence/{digest}/scans``), before the load; the kopf peer
(``peer_kopf.py``) gets the same rules as JSON and the same Grype reports as files.
Every rule needs no registry: the corpus pins every image by digest, so the scans
are found by the digest the reference names. Every corpus image passes every rule,
so the answers stay "allowed" and imagegate records them.
"""

from __future__ import annotations

import hashlib
import json
import re
import ssl
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import msgspec

POLICY_NAME = "bench-enforce"

ALLOWED_REGISTRIES = (
    "registry.example.com/**",
    "ghcr.io/example-org/**",
    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/**",
    "europe-docker.pkg.dev/example-prod/**",
    "docker.io/library/*",
    "docker.io/envoyproxy/*",
    "docker.io/istio/*",
    "docker.io/hashicorp/*",
    "docker.io/otel/*",
    "docker.io/prom/*",
    "docker.io/migrate/*",
    "cr.fluentbit.io/fluent/*",
    "gcr.io/cloud-sql-connectors/*",
    "quay.io/oauth2-proxy/*",
    "quay.io/prometheus/*",
)
"""The corpus's registries (``corpus.py``), as a platform team would list them."""

MAX_SCAN_AGE = timedelta(days=7)
SEVERITY = "critical"
_SCAN_AGE = timedelta(days=1)
"""How old the posted scans are: recent enough for ``MAX_SCAN_AGE``."""

_FINDINGS = (
    ("CVE-2023-45853", "zlib1g", "1:1.2.13.dfsg-1", "Low"),
    ("CVE-2024-2511", "libssl3", "3.0.11-1~deb12u2", "Low"),
    ("CVE-2024-5535", "libssl3", "3.0.11-1~deb12u2", "Medium"),
    ("CVE-2024-6119", "openssl", "3.0.11-1~deb12u2", "High"),
    ("CVE-2023-50495", "libtinfo6", "6.4-4", "Medium"),
    ("CVE-2024-28085", "util-linux", "2.38.1-5+b1", "Low"),
    ("GHSA-xr7q-jx4m-x55m", "google.golang.org/grpc", "v1.62.0", "High"),
    ("CVE-2024-24790", "stdlib", "go1.22.1", "Negligible"),
)
"""Findings the synthetic scans draw from; none reaches ``SEVERITY``."""

_IMAGE = re.compile(rb'"image":"([^"]+)"')


class _Review(msgspec.Struct):
    body: msgspec.Raw


class _Corpus(msgspec.Struct):
    reviews: list[_Review]


def policy_yaml() -> str:
    """The DeploymentPolicy imagegate's enforce scenario loads (``--policies``)."""
    patterns = "\n".join(f'        - "{pattern}"' for pattern in ALLOWED_REGISTRIES)
    return f"""apiVersion: imagegate.dev/v1alpha1
kind: DeploymentPolicy
metadata:
  name: {POLICY_NAME}
spec:
  mode: enforce
  rules:
    - rule: allowed-registries
      patterns:
{patterns}
    - rule: no-latest
    - rule: scanned
      maxAge: {MAX_SCAN_AGE.days}d
    - rule: severity-threshold
      severity: {SEVERITY}
"""


def kopf_rules(scan_dir: Path) -> dict[str, object]:
    """The same rules for ``peer_kopf.py``, with the directory of the scan reports."""
    return {
        "allowed_registries": list(ALLOWED_REGISTRIES),
        "max_age_s": MAX_SCAN_AGE.total_seconds(),
        "severity": SEVERITY,
        "scan_reports": str(scan_dir),
    }


def corpus_images(corpus: Path) -> dict[str, str]:
    """Every image of the corpus by its digest (one reference per digest)."""
    images: dict[str, str] = {}
    for review in msgspec.json.decode(corpus.read_bytes(), type=_Corpus).reviews:
        for match in _IMAGE.finditer(bytes(review.body)):
            image = match.group(1).decode()
            _, _, digest = image.partition("@")
            if digest:
                images.setdefault(digest, image)
    return images


def write_scans(images: dict[str, str], directory: Path, *, now: datetime) -> dict[str, Path]:
    """A Grype JSON report per digest in ``directory``, as CI would post them."""
    directory.mkdir(parents=True, exist_ok=True)
    reports = {}
    for digest, image in sorted(images.items()):
        path = directory / f"{digest.removeprefix('sha256:')}.json"
        path.write_text(json.dumps(_grype_report(digest, image, now - _SCAN_AGE)))
        reports[digest] = path
    return reports


def _grype_report(digest: str, image: str, scanned_at: datetime) -> dict[str, object]:
    name = image.partition("@")[0]
    # A tag is what follows the last ':' of the last path segment (a host may have a port).
    repository = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
    # A digest-seeded pick, so that reports differ but a run is reproducible.
    seed = int(hashlib.sha256(digest.encode()).hexdigest()[:8], 16)
    findings = [finding for bit, finding in enumerate(_FINDINGS) if seed >> bit & 1]
    return {
        "matches": [
            {
                "vulnerability": {
                    "id": identifier,
                    "severity": severity,
                    "fix": {"versions": [], "state": "not-fixed"},
                },
                "artifact": {"name": package, "version": version},
            }
            for identifier, package, version, severity in findings
        ],
        "source": {
            "type": "image",
            "target": {"repoDigests": [f"{repository}@{digest}"], "manifestDigest": digest},
        },
        "descriptor": {
            "name": "grype",
            "version": "0.84.0",
            "timestamp": scanned_at.isoformat(),
        },
    }


def post_scans(base_url: str, token: str, reports: dict[str, Path], context: ssl.SSLContext) -> int:
    """Post each report to imagegate's evidence API; the number posted."""
    for digest, path in reports.items():
        request = urllib.request.Request(
            f"{base_url}/api/v1/evidence/{digest}/scans",
            data=path.read_bytes(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30, context=context) as answer:
            if answer.status not in (200, 201):
                raise RuntimeError(f"posting the scan of {digest} answered {answer.status}")
    return len(reports)
