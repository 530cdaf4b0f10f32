"""Reading CycloneDX JSON BOMs with vulnerabilities."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from imagegate.evidence import ScanDigestMismatchError, ScanReportError, parse_scan_report
from imagegate.facts import ScanReport, Severity, Vulnerability

FIXTURE = Path(__file__).parents[2] / "fixtures" / "scans" / "cyclonedx.json"
INDEX = "sha256:15d37e6e6bd9fff5756849543fc76c2ec5110a04e03e3141e8038df06feefae8"
OTHER = "sha256:d9298a10d1b0735837dc4bd85dac641b0f3cef27a47e5d53a54f2f3f5b2fcffa"
RECEIVED = datetime(2025, 3, 14, 10, 0, tzinfo=UTC)

Mutation = Callable[[dict[str, Any]], None]


def mutated(mutation: Mutation) -> dict[str, Any]:
    document: dict[str, Any] = copy.deepcopy(json.loads(FIXTURE.read_bytes()))
    mutation(document)
    return document


def parse(document: dict[str, Any], digest: str = INDEX) -> ScanReport:
    return parse_scan_report(json.dumps(document).encode(), digest=digest, received_at=RECEIVED)


def by_id(parsed: ScanReport) -> dict[str, Vulnerability]:
    return {found.id: found for found in parsed.vulnerabilities}


def vulnerability(document: dict[str, Any], vulnerability_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        v for v in document["vulnerabilities"] if v["id"] == vulnerability_id
    )
    return found


def test_the_fixture_reads_as_its_findings() -> None:
    parsed = parse_scan_report(FIXTURE.read_bytes(), digest=INDEX, received_at=RECEIVED)
    assert parsed.scanner == "trivy 0.59.1"
    assert parsed.scanned_at == datetime(2025, 3, 14, 9, 16, 30, tzinfo=UTC)
    assert parsed.vulnerabilities == (
        # Rated critical by its own source (nvd), though debian says medium.
        Vulnerability("CVE-2024-45490", "libexpat1", "2.5.0-1", Severity.CRITICAL, None),
        # Fixed in the version listed as unaffected.
        Vulnerability(
            "CVE-2023-5363", "libssl3", "3.0.11-1~deb12u1", Severity.HIGH, "3.0.11-1~deb12u2"
        ),
        # A component nested in another; fixed from the vers range ">=3.18.0".
        Vulnerability(
            "CVE-2025-48924",
            "org.apache.commons:commons-lang3",
            "3.17.0",
            Severity.MEDIUM,
            "3.18.0",
        ),
        # Fixed version from the recommendation text.
        Vulnerability("GHSA-w32m-9786-jp63", "golang.org/x/net", "v0.30.0", Severity.LOW, "0.36.0"),
        # Its own source (debian) rates it "info".
        Vulnerability("CVE-2011-3374", "apt", "2.6.1", Severity.NEGLIGIBLE, None),
    )


def test_vex_statements_that_a_vulnerability_does_not_apply_leave_it_out() -> None:
    assert "CVE-2024-2511" not in by_id(parse(mutated(lambda d: None)))
    exploitable = mutated(
        lambda d: vulnerability(d, "CVE-2024-2511").update(analysis={"state": "exploitable"})
    )
    assert by_id(parse(exploitable))["CVE-2024-2511"].severity is Severity.LOW


def test_without_a_rating_of_its_own_source_the_gravest_rating_counts() -> None:
    def change(document: dict[str, Any]) -> None:
        vulnerability(document, "CVE-2024-45490")["source"] = {"name": "osv"}
        vulnerability(document, "CVE-2023-5363").pop("source")

    parsed = by_id(parse(mutated(change)))
    assert parsed["CVE-2024-45490"].severity is Severity.CRITICAL
    assert parsed["CVE-2023-5363"].severity is Severity.HIGH


def test_score_only_ratings_leave_the_severity_unknown() -> None:
    def change(document: dict[str, Any]) -> None:
        vulnerability(document, "CVE-2023-5363")["ratings"] = [
            {"source": {"name": "FIRST"}, "score": 0.02, "method": "other"}
        ]

    assert by_id(parse(mutated(change)))["CVE-2023-5363"].severity is Severity.UNKNOWN


def test_one_vulnerability_affecting_several_components() -> None:
    def change(document: dict[str, Any]) -> None:
        vulnerability(document, "CVE-2023-5363")["affects"].append(
            {"ref": "pkg:deb/debian/libexpat1@2.5.0-1?arch=amd64&distro=debian-12.9"}
        )

    found = [v for v in parse(mutated(change)).vulnerabilities if v.id == "CVE-2023-5363"]
    assert [(v.package, v.fixed_in) for v in found] == [
        ("libexpat1", None),
        ("libssl3", "3.0.11-1~deb12u2"),
    ]


def test_cyclonedx_1_4_tools_and_npm_scopes() -> None:
    def change(document: dict[str, Any]) -> None:
        document["metadata"]["tools"] = [
            {"vendor": "anchore", "name": "grype", "version": "0.84.0"}
        ]
        document["components"].append(
            {
                "bom-ref": "npm-1",
                "type": "library",
                "group": "@babel",
                "name": "core",
                "version": "7.0.0",
            }
        )
        document["vulnerabilities"].append(
            {
                "id": "GHSA-67hx-6x53-jw92",
                "ratings": [{"severity": "critical"}],
                "affects": [{"ref": "npm-1"}],
            }
        )

    parsed = parse(mutated(change))
    assert parsed.scanner == "grype 0.84.0"
    assert by_id(parsed)["GHSA-67hx-6x53-jw92"].package == "@babel/core"


def test_a_bom_without_tools_or_time() -> None:
    parsed = parse(mutated(lambda d: d.update(metadata={})))
    assert (parsed.scanner, parsed.scanned_at) == ("cyclonedx", RECEIVED)


def test_a_report_of_another_image_is_refused() -> None:
    with pytest.raises(ScanDigestMismatchError) as caught:
        parse(mutated(lambda d: None), digest=OTHER)
    assert caught.value.field == "digest"
    assert "metadata.component.properties" in caught.value.message


@pytest.mark.parametrize(
    ("mutation", "field", "message"),
    [
        pytest.param(
            lambda d: d["vulnerabilities"][0]["affects"][0].update(ref="pkg:deb/debian/openssl@3"),
            "vulnerabilities[0].affects[0].ref",
            "affects 'pkg:deb/debian/openssl@3', which is the bom-ref of no component",
            id="unknown-ref",
        ),
        pytest.param(
            lambda d: d["vulnerabilities"][1].update(affects=[]),
            "vulnerabilities[1].affects",
            "vulnerability CVE-2024-45490 names no affected component",
            id="affects-nothing",
        ),
        pytest.param(
            lambda d: d["vulnerabilities"][2].pop("affects"),
            "vulnerabilities[2].affects",
            "missing required field `affects`",
            id="no-affects",
        ),
        pytest.param(
            lambda d: d["vulnerabilities"][3]["ratings"][0].update(severity=["medium"]),
            "vulnerabilities[3].ratings[0].severity",
            "Expected `str | null`, got `array`",
            id="severity-a-list",
        ),
        pytest.param(
            lambda d: d.pop("vulnerabilities"),
            "vulnerabilities",
            "missing required field `vulnerabilities`",
            id="plain-sbom",
        ),
        pytest.param(
            lambda d: d.update(bomFormat="SPDX"),
            "bomFormat",
            "Invalid enum value 'SPDX'",
            id="not-cyclonedx",
        ),
    ],
)
def test_malformed_boms_name_the_json_path_at_fault(
    mutation: Mutation, field: str, message: str
) -> None:
    with pytest.raises(ScanReportError) as caught:
        parse(mutated(mutation))
    assert caught.value.field == field
    assert message in caught.value.message


def test_the_ref_of_the_image_itself_may_be_affected() -> None:
    image_ref = json.loads(FIXTURE.read_bytes())["metadata"]["component"]["bom-ref"]

    def change(document: dict[str, Any]) -> None:
        document["vulnerabilities"].append(
            {
                "id": "CVE-2025-0001",
                "ratings": [{"severity": "high"}],
                "affects": [{"ref": image_ref}],
            }
        )

    assert by_id(parse(mutated(change)))["CVE-2025-0001"].package == "ghcr.io/acme/api:1.4.2"


def test_unaffected_entries_are_read_as_fixes_only_when_unaffected() -> None:
    def change(document: dict[str, Any]) -> None:
        vulnerability(document, "CVE-2023-5363")["affects"][0]["versions"] = [
            {"version": "3.0.11-1~deb12u1"},
            {"range": "vers:deb/>=3.0.11-1~deb12u2|>=3.1.0", "status": "unaffected"},
            {"range": "<3.0.0", "status": "unknown"},
        ]

    assert by_id(parse(mutated(change)))["CVE-2023-5363"].fixed_in == "3.0.11-1~deb12u2, 3.1.0"
