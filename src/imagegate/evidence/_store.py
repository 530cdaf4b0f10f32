"""The seam between evidence and a database."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol, runtime_checkable

from imagegate.facts import Evidence, Provenance, ScanReport, StoredScan


@runtime_checkable
class EvidenceStore(Protocol):
    """Durable evidence about image digests, as CI posted it.

    Scan reports are history: each one posted is kept, and the newest by the
    scanner's time (see ``scan_rank``) that an operator has not retired is the one
    that counts. Provenance is not: the latest posted
    replaces the one before. Failures to reach or write the database raise
    ``StoreUnavailableError``.
    """

    async def add_scan(self, report: ScanReport, *, now: datetime) -> None:
        """Keep ``report``, received at ``now``."""
        ...

    async def latest_scan(self, digest: str) -> ScanReport | None:
        """The report of ``digest`` that counts (``counting_scan``), if any."""
        ...

    async def scans(self, digest: str) -> list[StoredScan]:
        """Every scan posted for ``digest``, retired ones included, newest first
        (``ranked_scans``)."""
        ...

    async def retire_scan(
        self, digest: str, scan_id: int, *, reason: str, now: datetime
    ) -> StoredScan:
        """Take scan ``scan_id`` of ``digest`` out of the count for good, with ``reason``.

        Raises ScanNotFoundError for an id that is not a scan of ``digest``, and
        ScanRetiredError for a scan retired before.
        """
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
