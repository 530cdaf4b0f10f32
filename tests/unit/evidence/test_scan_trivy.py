"""Reading Trivy JSON reports (``trivy image --format json``)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from imagegate.evidence import (
    ScanDigestMismatchError,
    ScanFormat,
    ScanReportError,
    parse_scan_report,
)
from imagegate.facts import ScanReport, Severity, Vulnerability

FIXTURE = Path(__file__).parents[2] / "fixtures" / "scans" / "trivy.json"
INDEX = "sha256:15d37e6e6bd9fff5756849543fc76c2ec5110a04e03e3141e8038df06feefae8"
OTHER = "sha256:d9298a10d1b0735837dc4bd85dac641b0f3cef27a47e5d53a54f2f3f5b2fcffa"
RECEIVED = datetime(2025, 3, 14, 10, 0, tzinfo=UTC)

Mutation = Callable[[dict[str, Any]], None]


def mutated(mutation: Mutation) -> dict[str, Any]:
    document: dict[str, Any] = copy.deepcopy(json.loads(FIXTURE.read_bytes()))
    mutation(document)
    return document


def parse(
    document: dict[str, Any], digest: str = INDEX, scan_format: ScanFormat | None = None
) -> ScanReport:
    return parse_scan_report(
        json.dumps(document).encode(), digest=digest, format=scan_format, received_at=RECEIVED
    )


def test_the_fixture_reads_as_its_findings_from_every_result() -> None:
    parsed = parse_scan_report(FIXTURE.read_bytes(), digest=INDEX, received_at=RECEIVED)
    assert parsed.scanner == "trivy 0.59.1"
    assert parsed.scanned_at == datetime(2025, 3, 14, 9, 15, 2, 734159, tzinfo=UTC)
    assert parsed.vulnerabilities == (
        Vulnerability(
            "CVE-2024-45337", "golang.org/x/crypto", "v0.28.0", Severity.CRITICAL, "0.31.0"
        ),
        Vulnerability("CVE-2024-45490", "libexpat1", "2.5.0-1", Severity.CRITICAL, None),
        Vulnerability(
            "CVE-2023-5363", "libssl3", "3.0.11-1~deb12u1", Severity.HIGH, "3.0.11-1~deb12u2"
        ),
        # Trivy lists a fix backported to several release lines comma-separated.
        Vulnerability("CVE-2024-34156", "stdlib", "v1.22.5", Severity.HIGH, "1.22.7, 1.23.1"),
        Vulnerability("CVE-2024-45338", "golang.org/x/net", "v0.30.0", Severity.MEDIUM, "0.33.0"),
        Vulnerability("CVE-2011-3374", "apt", "2.6.1", Severity.LOW, None),
    )


def test_older_trivy_without_its_version_or_time() -> None:
    def change(document: dict[str, Any]) -> None:
        del document["Trivy"], document["CreatedAt"]

    parsed = parse(mutated(change))
    assert (parsed.scanner, parsed.scanned_at) == ("trivy", RECEIVED)


def test_a_clean_scan_has_no_results() -> None:
    assert parse(mutated(lambda d: d.pop("Results"))).vulnerabilities == ()


def test_a_report_of_another_image_is_refused() -> None:
    with pytest.raises(ScanDigestMismatchError) as caught:
        parse(mutated(lambda d: None), digest=OTHER)
    assert caught.value.field == "digest"
    assert "Metadata.RepoDigests" in caught.value.message


def test_an_image_never_pushed_names_no_digest_and_is_taken_as_posted() -> None:
    # A locally built image scanned before the push has no repo digests yet.
    document = mutated(lambda d: d["Metadata"].pop("RepoDigests"))
    assert parse(document, digest=OTHER).digest == OTHER


@pytest.mark.parametrize(
    ("mutation", "field", "message"),
    [
        pytest.param(
            lambda d: d["Results"][1]["Vulnerabilities"][2].update(Severity=None),
            "Results[1].Vulnerabilities[2].Severity",
            "Expected `str`, got `null`",
            id="null-severity",
        ),
        pytest.param(
            lambda d: d["Results"][0]["Vulnerabilities"][1].pop("PkgName"),
            "Results[0].Vulnerabilities[1].PkgName",
            "missing required field `PkgName`",
            id="missing-package",
        ),
        pytest.param(
            lambda d: d.update(SchemaVersion="2"),
            "SchemaVersion",
            "Expected `int`, got `str`",
            id="schema-version-text",
        ),
        pytest.param(
            lambda d: d.update(CreatedAt=1741943702),
            "CreatedAt",
            "Expected `datetime | null`, got `int`",
            id="time-as-number",
        ),
        pytest.param(
            lambda d: d.update(Results={"Vulnerabilities": []}),
            "Results",
            "Expected `array | null`, got `object`",
            id="results-not-a-list",
        ),
    ],
)
def test_malformed_reports_name_the_json_path_at_fault(
    mutation: Mutation, field: str, message: str
) -> None:
    with pytest.raises(ScanReportError) as caught:
        parse(mutated(mutation))
    assert caught.value.field == field
    assert caught.value.message.startswith("invalid Trivy JSON report")
    assert message in caught.value.message


def test_results_without_the_schema_version_are_not_taken_for_trivy() -> None:
    with pytest.raises(ScanReportError) as caught:
        parse(mutated(lambda d: d.pop("SchemaVersion")))
    assert caught.value.field == "SchemaVersion"
    assert "missing required field `SchemaVersion`" in caught.value.message
