"""Timestamps as fixed-width UTC text, so that text order is time order in SQL."""

from __future__ import annotations

from datetime import UTC, datetime


def format_timestamp(moment: datetime) -> str:
    """``moment`` as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``; naive datetimes are refused."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    # Not strftime: its %Y drops the leading zeros of a year before 1000, which would
    # make the text neither fixed-width nor in time order ("369-…" after "2025-…").
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


_WIDTH = len("2000-01-01T00:00:00.000000Z")


def parse_timestamp(text: str) -> datetime:
    """Inverse of ``format_timestamp``; ValueError for any other text."""
    # fromisoformat is many times faster than strptime (every row read parses two),
    # and accepts more shapes than ours: the width and the Z pin it to our format.
    if len(text) != _WIDTH or text[-1] != "Z" or text[10] != "T":
        raise ValueError(f"not a timestamp of the form YYYY-MM-DDTHH:MM:SS.ffffffZ: {text!r}")
    return datetime.fromisoformat(text)
