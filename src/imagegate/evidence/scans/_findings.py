"""What one scanner's report says, read but not yet normalised into a ``ScanReport``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import msgspec

from imagegate.facts import Vulnerability

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
"""A string that must say something, e.g. a vulnerability id or a package name."""

Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]
"""An RFC 3339 time with its offset; a time without one would be read in some unknown zone."""


@dataclass(frozen=True, slots=True)
class ScanFindings:
    """A report's scanner, time, vulnerabilities and the image it says it scanned."""

    scanner: str
    scanned_at: datetime | None
    """``None`` when the report does not say; the time it was received stands in."""
    vulnerabilities: tuple[Vulnerability, ...]
    subject_digests: tuple[str, ...] = ()
    """Digests (``repo@sha256:…`` or bare) the report says it scanned; if there are
    any, one must be the digest the report is posted for."""
    subject_path: str = ""
    """Where ``subject_digests`` are in the report, for the error message."""
    accepted_digests: tuple[str, ...] = ()
    """Further digests of the scanned image (e.g. of its platform manifest) that the
    report may be posted for, though they alone do not name the image."""


def scanner_name(name: str | None, version: str | None, *, default: str) -> str:
    """``grype 0.79.0``, or ``default`` when the report does not name its scanner."""
    name = (name or "").strip() or default
    version = (version or "").strip()
    return f"{name} {version}" if version else name


def fixed_versions(versions: Iterable[str]) -> str | None:
    """The versions a fix is in, joined, e.g. ``3.0.13-1~deb12u1`` or ``1.5.13, 1.3.15``.

    Several versions are usual: a fix is backported to each maintained release line.
    """
    found: list[str] = []
    for version in versions:
        for part in (text.strip() for text in version.split(",")):
            if part and part not in found:
                found.append(part)
    return ", ".join(found) or None
