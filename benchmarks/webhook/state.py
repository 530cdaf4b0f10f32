"""What the phases of one webhook benchmark run share, and what they find."""

from __future__ import annotations

import argparse
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.webhook.results import Check, Scenario, ServerSummary, Soak
from imagegate.tls import CertificatePaths


@dataclass
class Run:
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
