"""Trivy's JSON report (``trivy image --format json``): only the members imagegate uses."""

from __future__ import annotations

import msgspec

from imagegate.evidence.scans._findings import (
    NonEmpty,
    ScanFindings,
    Timestamp,
    fixed_versions,
    scanner_name,
)
from imagegate.facts import Severity, Vulnerability


class _Vulnerability(msgspec.Struct, rename="pascal"):
    vulnerability_id: NonEmpty = msgspec.field(name="VulnerabilityID")
    pkg_name: NonEmpty
    installed_version: str
    severity: str
    fixed_version: str | None = None


class _Result(msgspec.Struct, rename="pascal"):
    # Trivy leaves out a result's vulnerabilities when there are none.
    vulnerabilities: list[_Vulnerability] | None = None


class _Metadata(msgspec.Struct, rename="pascal"):
    repo_digests: list[str] | None = None


class _Trivy(msgspec.Struct, rename="pascal"):
    version: str | None = None


class TrivyReport(msgspec.Struct, rename="pascal"):
    """The top level of a Trivy JSON report."""

    # Every Trivy JSON report has it; it tells a Trivy report from other JSON.
    schema_version: int
    results: list[_Result] | None = None
    created_at: Timestamp | None = None
    artifact_name: str | None = None
    metadata: _Metadata | None = None
    trivy: _Trivy | None = None
    """Trivy's own version; newer releases write it."""


def trivy_findings(report: TrivyReport) -> ScanFindings:
    """The findings of a decoded Trivy report."""
    vulnerabilities = tuple(
        Vulnerability(
            id=found.vulnerability_id,
            package=found.pkg_name,
            version=found.installed_version,
            severity=Severity.parse(found.severity),
            # Comma-separated when the fix is in several release lines.
            fixed_in=fixed_versions([found.fixed_version or ""]),
        )
        for result in report.results or ()
        for found in result.vulnerabilities or ()
    )
    metadata = report.metadata or _Metadata()
    version = report.trivy.version if report.trivy else None
    return ScanFindings(
        scanner=scanner_name("trivy", version, default="trivy"),
        scanned_at=report.created_at,
        vulnerabilities=vulnerabilities,
        subject_digests=tuple(metadata.repo_digests or ()),
        subject_path="Metadata.RepoDigests",
    )
