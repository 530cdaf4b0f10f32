"""An evidence store in a dict that counts its reads, for tests of what sits on top."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime

from imagegate.facts import Evidence, Provenance, ScanReport

DIGEST = "sha256:" + "a" * 64
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def scan(scanner: str = "grype 0.79.0") -> ScanReport:
    return ScanReport(digest=DIGEST, scanner=scanner, scanned_at=NOW, vulnerabilities=())


class DictEvidence:
    """An EvidenceStore in dicts; ``reads`` counts evidence reads, ``read`` is set at the
    first, and a read waits for ``gate`` when one is set (to race it with a write)."""

    def __init__(self) -> None:
        self.scans: dict[str, ScanReport] = {}
        self.provenance: dict[str, Provenance] = {}
        self.reads = 0
        self.read = asyncio.Event()
        self.gate: asyncio.Event | None = None

    async def add_scan(self, report: ScanReport, *, now: datetime) -> None:
        self.scans[report.digest] = report

    async def latest_scan(self, digest: str) -> ScanReport | None:
        return self.scans.get(digest)

    async def set_provenance(
        self, digest: str, provenance: Provenance, labels: Mapping[str, str], *, now: datetime
    ) -> None:
        self.provenance[digest] = provenance

    async def evidence(self, digest: str) -> Evidence:
        self.reads += 1
        found = Evidence(scan=self.scans.get(digest), provenance=self.provenance.get(digest))
        self.read.set()
        if self.gate is not None:
            await self.gate.wait()
        return found
