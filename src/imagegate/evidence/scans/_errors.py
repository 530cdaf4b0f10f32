"""Errors of reading a scanner's report: the report, not the server, is at fault."""

from __future__ import annotations

from datetime import UTC

from imagegate.errors import ConflictError, InvalidInputError, NotFoundError
from imagegate.facts import ScanRetirement


class ScanReportError(InvalidInputError):
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


class ScanNotFoundError(NotFoundError):
    """No scan with this id was posted for this digest."""

    code = "scan_not_found"

    def __init__(self, digest: str, scan_id: int) -> None:
        super().__init__(f"no scan {scan_id} was posted for {digest}", field="id")
        self.digest = digest
        self.scan_id = scan_id


class ScanRetiredError(ConflictError):
    """A scan that was retired before: a retirement, like the scan, is never changed."""

    code = "scan_retired"

    def __init__(self, digest: str, scan_id: int, retirement: ScanRetirement) -> None:
        when = retirement.retired_at.astimezone(UTC).isoformat(timespec="seconds")
        super().__init__(
            f"scan {scan_id} of {digest} was retired at {when}: {retirement.reason}",
            field="id",
        )
        self.digest = digest
        self.scan_id = scan_id
