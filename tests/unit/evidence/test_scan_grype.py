"""Reading Grype JSON reports (``grype -o json``)."""

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

FIXTURE = Path(__file__).parents[2] / "fixtures" / "scans" / "grype.json"
INDEX = "sha256:15d37e6e6bd9fff5756849543fc76c2ec5110a04e03e3141e8038df06feefae8"
PLATFORM = "sha256:7aa993e926f1bbf7bf409f82ffd1632f5120967fc39dc286ff2724b9b4fa38fd"
OTHER = "sha256:d9298a10d1b0735837dc4bd85dac641b0f3cef27a47e5d53a54f2f3f5b2fcffa"
RECEIVED = datetime(2025, 3, 14, 10, 0, tzinfo=UTC)

Mutation = Callable[[dict[str, Any]], None]


def report() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FIXTURE.read_bytes())
    return loaded


def parse(document: dict[str, Any], digest: str = INDEX) -> ScanReport:
    return parse_scan_report(json.dumps(document).encode(), digest=digest, received_at=RECEIVED)


def mutated(mutation: Mutation) -> dict[str, Any]:
    document = copy.deepcopy(report())
    mutation(document)
    return document


def test_the_fixture_reads_as_its_findings_merged_and_gravest_first() -> None:
    parsed = parse_scan_report(FIXTURE.read_bytes(), digest=INDEX, received_at=RECEIVED)
    assert parsed.digest == INDEX
    assert parsed.scanner == "grype 0.84.0"
    # Nanoseconds are cut to the microseconds a datetime holds.
    assert parsed.scanned_at == datetime(2025, 3, 14, 9, 12, 44, 318762, tzinfo=UTC)
    assert parsed.vulnerabilities == (
        Vulnerability("CVE-2024-45490", "libexpat1", "2.5.0-1", Severity.CRITICAL, None),
        Vulnerability(
            "CVE-2023-5363", "libssl3", "3.0.11-1~deb12u1", Severity.HIGH, "3.0.11-1~deb12u2"
        ),
        # Reported twice (two Go binaries hold the module), kept once.
        Vulnerability(
            "GHSA-8xfx-rj4p-23jm", "golang.org/x/net", "v0.30.0", Severity.MEDIUM, "0.33.0"
        ),
        Vulnerability(
            "CVE-2024-2511", "libssl3", "3.0.11-1~deb12u1", Severity.LOW, "3.0.13-1~deb12u1"
        ),
        Vulnerability("CVE-2011-3374", "apt", "2.6.1", Severity.NEGLIGIBLE, None),
    )


def test_format_given_or_recognised_reads_the_same() -> None:
    document = FIXTURE.read_bytes()
    given = parse_scan_report(document, digest=INDEX, format=ScanFormat.GRYPE, received_at=RECEIVED)
    assert given == parse_scan_report(document, digest=INDEX, received_at=RECEIVED)


def test_a_report_of_one_platform_may_be_posted_for_its_manifest() -> None:
    assert parse(report(), digest=PLATFORM).digest == PLATFORM


def test_a_report_of_another_image_is_refused() -> None:
    with pytest.raises(ScanDigestMismatchError) as caught:
        parse(report(), digest=OTHER)
    error = caught.value
    assert (error.code, error.field) == ("scan_digest_mismatch", "digest")
    assert f"ghcr.io/acme/api@{INDEX}" in error.message
    assert "source.target.repoDigests" in error.message
    assert OTHER in error.message


@pytest.mark.parametrize(
    "mutation",
    [
        pytest.param(lambda d: d["source"]["target"].pop("repoDigests"), id="no-repo-digests"),
        pytest.param(lambda d: d["source"]["target"].update(repoDigests=[]), id="empty"),
        pytest.param(lambda d: d["source"].update(target="/src"), id="directory-scan"),
        pytest.param(lambda d: d.pop("source"), id="no-source"),
    ],
)
def test_a_report_naming_no_image_digest_is_taken_for_the_digest_posted(
    mutation: Mutation,
) -> None:
    assert parse(mutated(mutation), digest=OTHER).digest == OTHER


def test_a_report_without_descriptor_is_dated_when_received() -> None:
    parsed = parse(mutated(lambda d: d.pop("descriptor")))
    assert (parsed.scanner, parsed.scanned_at) == ("grype", RECEIVED)


def test_an_empty_list_of_matches_is_a_clean_scan() -> None:
    assert parse(mutated(lambda d: d.update(matches=[]))).vulnerabilities == ()


def test_null_or_missing_matches_is_no_clean_scan() -> None:
    # Grype writes [] for a clean image: anything else is a broken or foreign report.
    with pytest.raises(ScanReportError) as refused:
        parse(mutated(lambda d: d.update(matches=None)))
    assert refused.value.field == "matches"
    with pytest.raises(ScanReportError, match="unknown scan report format"):
        parse(mutated(lambda d: d.pop("matches")))


def test_unknown_severity_words_are_unknown_and_several_fixes_are_listed() -> None:
    def change(document: dict[str, Any]) -> None:
        vulnerability = document["matches"][0]["vulnerability"]
        vulnerability["severity"] = "Catastrophic"
        vulnerability["fix"] = {"versions": ["2.6.3-1", "2.5.0-1+deb12u1"], "state": "fixed"}

    by_id = {found.id: found for found in parse(mutated(change)).vulnerabilities}
    changed = by_id["CVE-2024-45490"]
    assert changed.severity is Severity.UNKNOWN
    assert changed.fixed_in == "2.6.3-1, 2.5.0-1+deb12u1"


def _set(path: list[str | int], value: object) -> Mutation:
    def mutation(document: dict[str, Any]) -> None:
        node: Any = document
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value

    return mutation


def _delete(path: list[str | int]) -> Mutation:
    def mutation(document: dict[str, Any]) -> None:
        node: Any = document
        for step in path[:-1]:
            node = node[step]
        del node[path[-1]]

    return mutation


@pytest.mark.parametrize(
    ("mutation", "field", "message"),
    [
        pytest.param(
            _set(["matches", 3, "vulnerability", "severity"], 4),
            "matches[3].vulnerability.severity",
            "at matches[3].vulnerability.severity: Expected `str`, got `int`",
            id="wrong-type",
        ),
        pytest.param(
            _delete(["matches", 0, "artifact", "name"]),
            "matches[0].artifact.name",
            "at matches[0].artifact: Object missing required field `name`",
            id="missing-member",
        ),
        pytest.param(
            _set(["matches", 1, "vulnerability", "id"], ""),
            "matches[1].vulnerability.id",
            "Expected `str` of length >= 1",
            id="empty-id",
        ),
        pytest.param(
            _set(["matches"], {"count": 0}),
            "matches",
            "Expected `array`, got `object`",
            id="matches-not-a-list",
        ),
        pytest.param(
            _set(["matches", 1, "vulnerability", "fix", "versions"], "3.0.11-1~deb12u2"),
            "matches[1].vulnerability.fix.versions",
            "Expected `array | null`, got `str`",
            id="fix-versions-not-a-list",
        ),
        pytest.param(
            _set(["descriptor", "timestamp"], "yesterday"),
            "descriptor.timestamp",
            "Invalid RFC3339",
            id="bad-timestamp",
        ),
        pytest.param(
            _set(["descriptor", "timestamp"], "2025-03-14T09:12:44"),
            "descriptor.timestamp",
            "timezone",
            id="timestamp-without-offset",
        ),
    ],
)
def test_malformed_reports_name_the_json_path_at_fault(
    mutation: Mutation, field: str, message: str
) -> None:
    with pytest.raises(ScanReportError) as caught:
        parse(mutated(mutation))
    error = caught.value
    assert error.code == "invalid_scan_report"
    assert error.field == field
    assert error.message.startswith("invalid Grype JSON report")
    assert message in error.message
