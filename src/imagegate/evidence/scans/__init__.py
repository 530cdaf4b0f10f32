"""Vulnerability scan reports: Grype, Trivy and CycloneDX JSON parsed into one
``ScanReport``, their stored encoding, and which of a digest's scans counts."""

from imagegate.evidence.scans._codec import decode_vulnerabilities, encode_vulnerabilities
from imagegate.evidence.scans._errors import (
    ScanDigestMismatchError,
    ScanNotFoundError,
    ScanReportError,
    ScanRetiredError,
)
from imagegate.evidence.scans._format import ScanFormat
from imagegate.evidence.scans._history import (
    MAX_RETIREMENT_REASON,
    counting_scan,
    ranked_scans,
    retirement_reason,
)
from imagegate.evidence.scans._parse import CLOCK_SKEW, parse_scan_report, scan_rank

__all__ = [
    "CLOCK_SKEW",
    "MAX_RETIREMENT_REASON",
    "ScanDigestMismatchError",
    "ScanFormat",
    "ScanNotFoundError",
    "ScanReportError",
    "ScanRetiredError",
    "counting_scan",
    "decode_vulnerabilities",
    "encode_vulnerabilities",
    "parse_scan_report",
    "ranked_scans",
    "retirement_reason",
    "scan_rank",
]
