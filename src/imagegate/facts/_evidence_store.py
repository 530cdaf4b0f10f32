"""The seam between evidence and a database."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol, runtime_checkable

from imagegate.facts._model import Evidence, Provenance, ScanReport


@runtime_checkable
class EvidenceStore(Protocol):
    """Durable evidence about image digests, as CI posted it.

    Scan reports are history: each one posted is kept, and the newest by the
    scanner's time is the one that counts. Provenance is not: the latest posted
    replaces the one before. Failures to reach or write the database raise
    ``StoreUnavailableError``.
    """

    async def add_scan(self, report: ScanReport, *, now: datetime) -> None:
        """Keep ``report``, received at ``now``."""
        ...

    async def latest_scan(self, digest: str) -> ScanReport | None:
        """The report of ``digest`` with the latest ``scanned_at`` (the last received,
        among equals), if any."""
        ...

    async def set_provenance(
        self,
        digest: str,
        provenance: Provenance,
        labels: Mapping[str, str],
        *,
        now: datetime,
    ) -> None:
        """Make ``provenance`` and ``labels`` what is known about ``digest``'s build."""
        ...

    async def evidence(self, digest: str) -> Evidence:
        """The latest scan, provenance and labels of ``digest``; empty if none was posted."""
        ...
