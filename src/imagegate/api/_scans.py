"""A digest's scan history for operators: every scan kept, and retiring one that must
not count (dated wrongly, from a broken scanner run). Retired scans stay in the history."""

from __future__ import annotations

import re
from datetime import datetime

from imagegate.api._convert import timestamp_to_wire
from imagegate.api._evidence import evidence_digest, severity_counts_to_wire
from imagegate.api._wire import ScanListOut, ScanRetirementOut, StoredScanOut
from imagegate.evidence import EvidenceStore, counting_scan, retirement_reason
from imagegate.facts import StoredScan
from imagegate.tracking import InvalidParameterError

# Scan ids are the stores' 64-bit row ids.
_SCAN_ID = re.compile(r"[1-9][0-9]{0,18}")
_MAX_SCAN_ID = 2**63 - 1


def scan_id_from(text: str) -> int:
    """A scan id given in a path or on the command line; InvalidParameterError names ``id``."""
    if not _SCAN_ID.fullmatch(text) or int(text) > _MAX_SCAN_ID:
        raise InvalidParameterError(
            f"a scan id is a positive whole number (as 'evidence scans' lists them), "
            f"not {text[:40]!r}",
            field="id",
        )
    return int(text)


async def list_scans(store: EvidenceStore, digest: str) -> ScanListOut:
    """Every scan posted for ``digest``, newest first; empty (not an error) when none was."""
    digest = evidence_digest(digest)
    scans = await store.scans(digest)
    counting = counting_scan(scans)
    return ScanListOut(
        digest=digest,
        items=[stored_scan_to_wire(stored, counting=stored is counting) for stored in scans],
    )


async def retire_scan(
    store: EvidenceStore,
    *,
    digest: str,
    scan_id: int,
    reason: str,
    now: datetime,
) -> StoredScanOut:
    """Take scan ``scan_id`` of ``digest`` out of the count (the store keeps the reason)."""
    digest = evidence_digest(digest)
    reason = retirement_reason(reason)
    retired = await store.retire_scan(digest, scan_id, reason=reason, now=now)
    return stored_scan_to_wire(retired, counting=False)


def stored_scan_to_wire(stored: StoredScan, *, counting: bool) -> StoredScanOut:
    retirement = stored.retirement
    return StoredScanOut(
        id=stored.id,
        digest=stored.report.digest,
        scanner=stored.report.scanner,
        scanned_at=timestamp_to_wire(stored.report.scanned_at),
        received_at=timestamp_to_wire(stored.received_at),
        counts=severity_counts_to_wire(stored.report),
        counting=counting,
        retirement=(
            ScanRetirementOut(
                retired_at=timestamp_to_wire(retirement.retired_at), reason=retirement.reason
            )
            if retirement is not None
            else None
        ),
    )
