"""Grype's JSON report (``grype -o json``): only the members imagegate uses."""

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


class _Fix(msgspec.Struct):
    versions: list[str] | None = None
    state: str = ""


class _Vulnerability(msgspec.Struct):
    id: NonEmpty
    severity: str
    fix: _Fix | None = None


class _Artifact(msgspec.Struct):
    name: NonEmpty
    version: str


class _Match(msgspec.Struct):
    vulnerability: _Vulnerability
    artifact: _Artifact


class _ImageTarget(msgspec.Struct, rename="camel"):
    repo_digests: list[str] | None = None
    manifest_digest: str | None = None


class _Source(msgspec.Struct):
    # An image's target is an object; a directory's or file's is its path.
    target: _ImageTarget | str | None = None


class _Descriptor(msgspec.Struct):
    name: str | None = None
    version: str | None = None
    timestamp: Timestamp | None = None


class GrypeReport(msgspec.Struct):
    """The top level of a Grype JSON report."""

    matches: list[_Match]
    """Required, and a list: Grype writes [] for a clean image, so null (or no member)
    is not taken for one."""
    source: _Source | None = None
    descriptor: _Descriptor | None = None


def grype_findings(report: GrypeReport) -> ScanFindings:
    """The findings of a decoded Grype report."""
    vulnerabilities = tuple(
        Vulnerability(
            id=match.vulnerability.id,
            package=match.artifact.name,
            version=match.artifact.version,
            severity=Severity.parse(match.vulnerability.severity),
            fixed_in=_fixed_in(match.vulnerability.fix),
        )
        for match in report.matches
    )
    descriptor = report.descriptor or _Descriptor()
    target = report.source.target if report.source else None
    image = target if isinstance(target, _ImageTarget) else _ImageTarget()
    return ScanFindings(
        scanner=scanner_name(descriptor.name, descriptor.version, default="grype"),
        scanned_at=descriptor.timestamp,
        vulnerabilities=vulnerabilities,
        subject_digests=tuple(image.repo_digests or ()),
        subject_path="source.target.repoDigests",
        # A report of one platform's image names that manifest; it may be posted for it.
        accepted_digests=(image.manifest_digest,) if image.manifest_digest else (),
    )


def _fixed_in(fix: _Fix | None) -> str | None:
    # "not-fixed", "wont-fix" and "unknown" come with no versions.
    if fix is None:
        return None
    return fixed_versions(fix.versions or ())
