"""Evidence CI posts about an image (vulnerability scans, ``scans``; provenance and
labels), the store protocol that keeps it, and the cache admission reads it through."""

from imagegate.evidence._cache import CachedEvidence
from imagegate.evidence._provenance import ProvenanceEvidenceError, parse_provenance_evidence
from imagegate.evidence._store import EvidenceStore
from imagegate.evidence.scans import (
    CLOCK_SKEW,
    MAX_RETIREMENT_REASON,
    ScanDigestMismatchError,
    ScanFormat,
    ScanNotFoundError,
    ScanReportError,
    ScanRetiredError,
    counting_scan,
    decode_vulnerabilities,
    encode_vulnerabilities,
    parse_scan_report,
    ranked_scans,
    retirement_reason,
    scan_rank,
)

__all__ = [
    "CLOCK_SKEW",
    "MAX_RETIREMENT_REASON",
    "CachedEvidence",
    "EvidenceStore",
    "ProvenanceEvidenceError",
    "ScanDigestMismatchError",
    "ScanFormat",
    "ScanNotFoundError",
    "ScanReportError",
    "ScanRetiredError",
    "counting_scan",
    "decode_vulnerabilities",
    "encode_vulnerabilities",
    "parse_provenance_evidence",
    "parse_scan_report",
    "ranked_scans",
    "retirement_reason",
    "scan_rank",
]
