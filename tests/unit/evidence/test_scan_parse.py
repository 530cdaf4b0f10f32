"""What every scan report goes through: format detection, document errors, merging."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from imagegate.errors import RefusedError
from imagegate.evidence import ScanFormat, ScanReportError, parse_scan_report
from imagegate.evidence.scans._parse import merge_duplicates
from imagegate.facts import ScanReport, Severity, Vulnerability
from imagegate.tracking import InvalidReferenceError

SCANS = Path(__file__).parents[2] / "fixtures" / "scans"
INDEX = "sha256:15d37e6e6bd9fff5756849543fc76c2ec5110a04e03e3141e8038df06feefae8"
RECEIVED = datetime(2025, 3, 14, 10, 0, tzinfo=UTC)
SCANNERS = {
    ScanFormat.GRYPE: "grype 0.84.0",
    ScanFormat.TRIVY: "trivy 0.59.1",
    ScanFormat.CYCLONEDX: "trivy 0.59.1",
}


def parse(
    document: bytes, scan_format: ScanFormat | None = None, digest: str = INDEX
) -> ScanReport:
    return parse_scan_report(document, digest=digest, format=scan_format, received_at=RECEIVED)


@pytest.mark.parametrize("scan_format", list(ScanFormat))
def test_each_format_is_recognised_and_reads_as_when_named(scan_format: ScanFormat) -> None:
    document = (SCANS / f"{scan_format.value}.json").read_bytes()
    detected = parse_scan_report(document, digest=INDEX, received_at=RECEIVED)
    named = parse_scan_report(document, digest=INDEX, format=scan_format, received_at=RECEIVED)
    assert detected == named
    assert detected.scanner == SCANNERS[scan_format]
    severities = {found.severity for found in detected.vulnerabilities}
    assert {Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM} <= severities
    fixes = [found.fixed_in for found in detected.vulnerabilities]
    assert None in fixes
    assert any(fixes)


@pytest.mark.parametrize(
    ("document", "scan_format", "expected"),
    [
        pytest.param(
            (SCANS / "trivy.json").read_bytes(),
            ScanFormat.GRYPE,
            "invalid Grype JSON report: Object missing required field `matches`",
            id="trivy-as-grype",
        ),
        pytest.param(
            (SCANS / "grype.json").read_bytes(),
            ScanFormat.CYCLONEDX,
            "invalid CycloneDX JSON report: Object missing required field `bomFormat`",
            id="grype-as-cyclonedx",
        ),
        pytest.param(
            (SCANS / "cyclonedx.json").read_bytes(),
            ScanFormat.TRIVY,
            "invalid Trivy JSON report: Object missing required field `SchemaVersion`",
            id="cyclonedx-as-trivy",
        ),
    ],
)
def test_a_report_in_another_format_than_named_is_refused(
    document: bytes, scan_format: ScanFormat, expected: str
) -> None:
    with pytest.raises(ScanReportError) as caught:
        parse(document, scan_format)
    assert caught.value.message == expected


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param(b"", "not valid JSON", id="empty"),
        pytest.param(b"Report Summary\n", "not valid JSON", id="table-output"),
        pytest.param(b'{"matches": [', "not valid JSON", id="truncated"),
        pytest.param(b"[]", "a scan report is a JSON object", id="array"),
        pytest.param(b'"grype"', "a scan report is a JSON object", id="string"),
    ],
)
def test_a_document_that_is_no_json_object_is_refused(document: bytes, message: str) -> None:
    with pytest.raises(ScanReportError) as caught:
        parse(document)
    assert message in caught.value.message
    assert caught.value.field is None


def test_truncated_json_of_a_named_format_is_refused_as_not_json() -> None:
    with pytest.raises(ScanReportError, match="not valid JSON"):
        parse(b'{"matches": [', ScanFormat.GRYPE)


def test_an_unknown_format_says_what_was_expected_and_what_was_found() -> None:
    document = json.dumps({"spdxVersion": "SPDX-2.3", "packages": [], "name": "api"}).encode()
    with pytest.raises(ScanReportError) as caught:
        parse(document)
    message = caught.value.message
    assert message.startswith("unknown scan report format")
    for expected in ("'matches'", "'SchemaVersion'", "'bomFormat': 'CycloneDX'"):
        assert expected in message
    assert message.endswith("the document's top-level keys are: name, packages, spdxVersion")
    assert caught.value.field is None


def test_errors_are_tracking_errors_with_a_stable_code() -> None:
    with pytest.raises(RefusedError) as caught:
        parse(b"{}")
    assert caught.value.code == "invalid_scan_report"


def test_the_digest_posted_for_is_validated_and_normalised() -> None:
    with pytest.raises(InvalidReferenceError) as caught:
        parse(b"{}", digest="sha256:abc")
    assert caught.value.field == "digest"
    document = (SCANS / "grype.json").read_bytes()
    report = parse_scan_report(document, digest=INDEX.upper(), received_at=RECEIVED)
    assert report.digest == INDEX


def test_merging_keeps_the_gravest_severity_and_a_known_fix() -> None:
    low = Vulnerability("CVE-1", "openssl", "3.0", Severity.LOW, None)
    high = Vulnerability("CVE-1", "openssl", "3.0", Severity.HIGH, None)
    fixed = Vulnerability("CVE-1", "openssl", "3.0", Severity.MEDIUM, "3.1")
    other_version = Vulnerability("CVE-1", "openssl", "3.1", Severity.LOW, None)
    other_id = Vulnerability("CVE-0", "zlib", "1.3", Severity.LOW, None)
    merged = merge_duplicates((low, other_id, high, fixed, other_version))
    assert merged == (
        Vulnerability("CVE-1", "openssl", "3.0", Severity.HIGH, "3.1"),
        other_id,
        other_version,
    )


def test_a_report_dated_after_it_was_received_is_refused() -> None:
    document = json.loads((SCANS / "grype.json").read_text())
    document["descriptor"]["timestamp"] = "9999-12-31T00:00:00Z"
    with pytest.raises(ScanReportError) as refused:
        parse(json.dumps(document).encode(), ScanFormat.GRYPE)
    assert refused.value.message.startswith(
        "the report says it was made at 9999-12-31T00:00:00+00:00, after it was received "
        "(2025-03-14T10:00:00+00:00)"
    )


def test_a_scanner_clock_a_little_ahead_is_tolerated() -> None:
    document = json.loads((SCANS / "grype.json").read_text())
    document["descriptor"]["timestamp"] = "2025-03-14T10:05:00Z"  # 5 minutes ahead
    assert parse(json.dumps(document).encode(), ScanFormat.GRYPE).scanned_at > RECEIVED
