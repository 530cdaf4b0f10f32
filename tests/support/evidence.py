"""An evidence store in a dict that counts its reads, for tests of what sits on top."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime

from imagegate.evidence import ScanNotFoundError
from imagegate.facts import Evidence, Provenance, ScanReport, ScanRetirement, StoredScan

DIGEST = "sha256:" + "a" * 64
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def scan(scanner: str = "grype 0.79.0") -> ScanReport:
    return ScanReport(digest=DIGEST, scanner=scanner, scanned_at=NOW, vulnerabilities=())


class DictEvidence:
    """An EvidenceStore in dicts; ``reads`` counts evidence reads, ``read`` is set at the
    first, and a read waits for ``gate`` when one is set (to race it with a write)."""

    def __init__(self) -> None:
        self.reports: dict[str, ScanReport] = {}
        self.provenance: dict[str, Provenance] = {}
        self.reads = 0
        self.read = asyncio.Event()
        self.gate: asyncio.Event | None = None

    async def add_scan(self, report: ScanReport, *, now: datetime) -> None:
        self.reports[report.digest] = report

    async def latest_scan(self, digest: str) -> ScanReport | None:
        return self.reports.get(digest)

    async def scans(self, digest: str) -> list[StoredScan]:
        found = self.reports.get(digest)
        return [] if found is None else [StoredScan(id=1, report=found, received_at=NOW)]

    async def retire_scan(
        self, digest: str, scan_id: int, *, reason: str, now: datetime
    ) -> StoredScan:
        # One scan per digest here, id 1: retiring it leaves the digest with none.
        found = self.reports.get(digest)
        if found is None or scan_id != 1:
            raise ScanNotFoundError(digest, scan_id)
        del self.reports[digest]
        retirement = ScanRetirement(retired_at=now, reason=reason)
        return StoredScan(id=1, report=found, received_at=NOW, retirement=retirement)

    async def set_provenance(
        self, digest: str, provenance: Provenance, labels: Mapping[str, str], *, now: datetime
    ) -> None:
        self.provenance[digest] = provenance

    async def evidence(self, digest: str) -> Evidence:
        self.reads += 1
        found = Evidence(scan=self.reports.get(digest), provenance=self.provenance.get(digest))
        self.read.set()
        if self.gate is not None:
            await self.gate.wait()
        return found
