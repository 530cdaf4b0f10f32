"""The scan report formats imagegate reads, and how to tell them apart."""

from __future__ import annotations

import enum
from collections.abc import Collection


class ScanFormat(enum.StrEnum):
    """A scanner's JSON report format."""

    GRYPE = "grype"
    """``grype -o json``."""
    TRIVY = "trivy"
    """``trivy image --format json``."""
    CYCLONEDX = "cyclonedx"
    """CycloneDX JSON with ``vulnerabilities`` (``grype -o cyclonedx-json``,
    ``trivy image --format cyclonedx --scanners vuln``)."""

    @property
    def label(self) -> str:
        """Name for messages, e.g. ``Grype JSON``."""
        return _LABELS[self]


_LABELS = {
    ScanFormat.GRYPE: "Grype JSON",
    ScanFormat.TRIVY: "Trivy JSON",
    ScanFormat.CYCLONEDX: "CycloneDX JSON",
}

EXPECTED_KEYS = (
    "Grype JSON ('matches' and 'descriptor'), Trivy JSON ('SchemaVersion' and 'Results') "
    "or CycloneDX JSON ('bomFormat': 'CycloneDX' and 'vulnerabilities')"
)
"""What each format is recognised by, for the message of an unrecognised document."""


def detect_format(keys: Collection[str]) -> ScanFormat | None:
    """The format a JSON object with these top-level ``keys`` is in, if any.

    Each format has a member no other has, so the order of the checks does not matter.
    """
    if "bomFormat" in keys:
        return ScanFormat.CYCLONEDX
    if "matches" in keys:
        return ScanFormat.GRYPE
    if "SchemaVersion" in keys or "Results" in keys:
        return ScanFormat.TRIVY
    return None
