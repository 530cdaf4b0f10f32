"""What imagegate knows about an image, whoever found it out: its platforms, labels
and provenance (from its registry, ``imagegate.registry``) and the vulnerabilities
its scans found (posted by CI, ``imagegate.evidence``). Values only: no IO here."""

from imagegate.facts._model import (
    Evidence,
    ImageFacts,
    Provenance,
    ScanReport,
    ScanRetirement,
    Severity,
    StoredScan,
    Vulnerability,
)

__all__ = [
    "Evidence",
    "ImageFacts",
    "Provenance",
    "ScanReport",
    "ScanRetirement",
    "Severity",
    "StoredScan",
    "Vulnerability",
]
