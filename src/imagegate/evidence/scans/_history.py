"""The history of a digest's scans: which one counts, and retiring one. Pure, no IO."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from imagegate.evidence.scans._parse import scan_rank
from imagegate.facts import StoredScan
from imagegate.tracking import InvalidFieldError

MAX_RETIREMENT_REASON = 1024
"""Longest reason for retiring a scan, in characters: a sentence, or a ticket link."""


def ranked_scans(scans: Iterable[StoredScan]) -> list[StoredScan]:
    """``scans`` newest first, as ``scan_rank`` orders them (the last received, among
    equals): the first that is not retired is the one that counts."""
    return sorted(
        scans,
        key=lambda stored: (scan_rank(stored.report.scanned_at, stored.received_at), stored.id),
        reverse=True,
    )


def counting_scan(scans: Iterable[StoredScan]) -> StoredScan | None:
    """The scan that counts for policies: the newest that is not retired, if any."""
    return next((stored for stored in ranked_scans(scans) if stored.retirement is None), None)


def retirement_reason(text: str) -> str:
    """``text`` as the reason of a retirement: it stays in the history for auditors, so it
    says something, in one line, within ``MAX_RETIREMENT_REASON`` characters."""
    reason = text.strip()
    if not reason:
        raise InvalidFieldError("say why the scan is retired", field="reason")
    if len(reason) > MAX_RETIREMENT_REASON:
        raise InvalidFieldError(
            f"the reason is longer than {MAX_RETIREMENT_REASON} characters", field="reason"
        )
    if any(unicodedata.category(character) in {"Cc", "Cs"} for character in reason):
        raise InvalidFieldError(
            "the reason holds a control character or a lone surrogate: one line of text",
            field="reason",
        )
    return reason
