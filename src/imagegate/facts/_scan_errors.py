"""Errors of reading a scanner's report: the report, not the server, is at fault."""

from __future__ import annotations

from imagegate.tracking import TrackingError


class ScanReportError(TrackingError):
    """A scan report that cannot be read; ``field`` is the JSON path at fault, if one is."""

    code = "invalid_scan_report"


class ScanDigestMismatchError(ScanReportError):
    """A report that names the image it scanned, and that image is not the digest posted for."""

    code = "scan_digest_mismatch"

    def __init__(self, digest: str, named: list[str], path: str) -> None:
        super().__init__(
            f"the report is of {', '.join(named)} ({path}), not of {digest}: "
            "post it for the digest that was scanned",
            field="digest",
        )
        self.digest = digest
        self.named = named
