"""What is known about an image: from its registry, and from evidence CI posted."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

from imagegate.tracking import Platform

_EMPTY: Mapping[str, str] = MappingProxyType({})


class Severity(enum.Enum):
    """Vulnerability severity, ordered: ``Severity.HIGH > Severity.MEDIUM``."""

    UNKNOWN = 0
    NEGLIGIBLE = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4
    CRITICAL = 5

    @classmethod
    def parse(cls, text: str) -> Severity:
        """A scanner's severity word (any case); unrecognised words are UNKNOWN."""
        return _SEVERITY_WORDS.get(text.strip().lower(), cls.UNKNOWN)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.value < other.value

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.value <= other.value

    @property
    def word(self) -> str:
        """Lower-case name, as in policies: ``critical``, ``high``, …"""
        return self.name.lower()


_SEVERITY_WORDS = {
    "unknown": Severity.UNKNOWN,
    "negligible": Severity.NEGLIGIBLE,
    "info": Severity.NEGLIGIBLE,
    "none": Severity.NEGLIGIBLE,
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "high": Severity.HIGH,
    "important": Severity.HIGH,
    "critical": Severity.CRITICAL,
}


@dataclass(frozen=True, slots=True)
class Vulnerability:
    """One vulnerability found in one package of an image."""

    id: str
    """CVE-…, GHSA-…, etc."""
    package: str
    version: str
    severity: Severity
    fixed_in: str | None = None


@dataclass(frozen=True, slots=True)
class ScanReport:
    """A vulnerability scan of one digest, normalised from the scanner's format."""

    digest: str
    scanner: str
    """e.g. ``grype 0.79.0``, ``trivy 0.53.0``, ``cyclonedx``."""
    scanned_at: datetime
    vulnerabilities: tuple[Vulnerability, ...]


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where and how an image was built (SLSA provenance, e.g. BuildKit's attestation)."""

    builder_id: str | None = None
    source_repository: str | None = None
    """e.g. ``https://github.com/acme/web``."""
    commit: str | None = None
    """The git commit the image was built from."""


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What the registry says about one image reference, resolved to its digest."""

    digest: str
    """Digest the reference names: of the index for multi-platform images."""
    media_type: str
    platforms: tuple[Platform, ...]
    """Platforms with a manifest (an index's entries, or the single image's config)."""
    labels: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    """Config labels (of the image for the default platform, for an index)."""
    created: datetime | None = None
    provenance: Provenance | None = None
    """From a provenance attestation attached to the index, if any."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """What CI posted about a digest."""

    scan: ScanReport | None = None
    """The newest scan report."""
    provenance: Provenance | None = None
    labels: Mapping[str, str] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class ScanRetirement:
    """Why and when an operator took a scan out of the count (it stays in the history)."""

    retired_at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class StoredScan:
    """A scan report as kept: its id in the store, when it arrived, and whether it counts."""

    id: int
    report: ScanReport
    received_at: datetime
    retirement: ScanRetirement | None = None
