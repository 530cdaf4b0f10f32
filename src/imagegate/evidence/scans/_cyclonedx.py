"""CycloneDX JSON with vulnerabilities (a VEX/VDR BOM): only the members imagegate uses."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

import msgspec

from imagegate.evidence.scans._errors import ScanReportError
from imagegate.evidence.scans._findings import (
    NonEmpty,
    ScanFindings,
    Timestamp,
    fixed_versions,
    scanner_name,
)
from imagegate.facts import Severity, Vulnerability

# VEX states saying the vulnerability does not apply to this image; those entries are
# statements about it, not findings in it.
_NOT_APPLICABLE = frozenset(
    {"not_affected", "false_positive", "resolved", "resolved_with_pedigree"}
)
# "Upgrade libssl3 to version 3.0.13-1~deb12u1", "… to versions 1.5.13, 1.3.15".
_RECOMMENDED_VERSIONS = re.compile(
    r"\bversions?\s+(?P<versions>[^\s,;]+(?:\s*,\s*[^\s,;]+)*)", re.IGNORECASE
)
# A vers constraint (https://github.com/package-url/purl-spec/blob/master/VERSION-RANGE-SPEC.rst)
# such as "vers:generic/>=1.2.1" names the first fixed version after ">=".
_VERS = re.compile(r"vers:[^/]+/(?P<constraints>.+)")
_REPO_DIGEST_PROPERTY = ":repodigest"


class _Property(msgspec.Struct):
    name: str = ""
    value: str | None = None


class _Component(msgspec.Struct):
    name: str = ""
    bom_ref: str | None = msgspec.field(name="bom-ref", default=None)
    group: str | None = None
    version: str | None = None
    components: list[_Component] | None = None
    properties: list[_Property] | None = None


class _Tool(msgspec.Struct):
    name: str | None = None
    version: str | None = None


class _Tools(msgspec.Struct):
    components: list[_Tool] | None = None


class _Metadata(msgspec.Struct):
    timestamp: Timestamp | None = None
    # A list in CycloneDX 1.4; an object of components and services since 1.5.
    tools: list[_Tool] | _Tools | None = None
    component: _Component | None = None


class _Source(msgspec.Struct):
    name: str | None = None


class _Rating(msgspec.Struct):
    source: _Source | None = None
    # Absent from ratings that are scores only (e.g. EPSS).
    severity: str | None = None


class _AffectedVersion(msgspec.Struct):
    version: str | None = None
    range: str | None = None
    status: str = "affected"


class _Affects(msgspec.Struct):
    ref: NonEmpty
    versions: list[_AffectedVersion] | None = None


class _Analysis(msgspec.Struct):
    state: str | None = None


class _Vulnerability(msgspec.Struct):
    id: NonEmpty
    affects: list[_Affects]
    source: _Source | None = None
    ratings: list[_Rating] | None = None
    recommendation: str | None = None
    analysis: _Analysis | None = None


class CycloneDxReport(msgspec.Struct):
    """The top level of a CycloneDX JSON BOM with vulnerabilities."""

    bom_format: Literal["CycloneDX"] = msgspec.field(name="bomFormat")
    # Required: a BOM without it is a plain SBOM, and taking that for a clean scan
    # would let unscanned images through.
    vulnerabilities: list[_Vulnerability]
    metadata: _Metadata | None = None
    components: list[_Component] | None = None


def cyclonedx_findings(report: CycloneDxReport) -> ScanFindings:
    """The findings of a decoded CycloneDX BOM; raises ScanReportError for unknown refs."""
    metadata = report.metadata or _Metadata()
    roots = [*([metadata.component] if metadata.component else []), *(report.components or ())]
    by_ref = {component.bom_ref: component for component in _walk(roots) if component.bom_ref}
    vulnerabilities: list[Vulnerability] = []
    for index, entry in enumerate(report.vulnerabilities):
        if entry.analysis is not None and entry.analysis.state in _NOT_APPLICABLE:
            continue
        if not entry.affects:
            raise ScanReportError(
                f"vulnerability {entry.id} names no affected component",
                field=f"vulnerabilities[{index}].affects",
            )
        severity = _severity(entry)
        for position, affects in enumerate(entry.affects):
            component = by_ref.get(affects.ref)
            if component is None:
                raise ScanReportError(
                    f"vulnerability {entry.id} affects {affects.ref!r}, which is the bom-ref "
                    "of no component in the BOM",
                    field=f"vulnerabilities[{index}].affects[{position}].ref",
                )
            vulnerabilities.append(
                Vulnerability(
                    id=entry.id,
                    package=_package(component),
                    version=component.version or "",
                    severity=severity,
                    fixed_in=_fixed_in(affects) or _recommended(entry.recommendation),
                )
            )
    subject = metadata.component
    return ScanFindings(
        scanner=_scanner(metadata.tools),
        scanned_at=metadata.timestamp,
        vulnerabilities=tuple(vulnerabilities),
        subject_digests=tuple(_repo_digests(subject)),
        subject_path="metadata.component.properties",
    )


def _walk(components: list[_Component]) -> Iterator[_Component]:
    for component in components:
        yield component
        yield from _walk(component.components or [])


def _severity(entry: _Vulnerability) -> Severity:
    # Prefer the rating of the vulnerability's own source (e.g. the distribution's
    # advisory); failing that, the gravest rating, so that no rating is played down.
    rated = [rating for rating in entry.ratings or () if rating.severity]
    own = (entry.source.name or "").lower() if entry.source else ""
    for rating in rated:
        if own and rating.source is not None and (rating.source.name or "").lower() == own:
            return Severity.parse(rating.severity or "")
    severities = [Severity.parse(rating.severity or "") for rating in rated]
    return max(severities, default=Severity.UNKNOWN)


def _package(component: _Component) -> str:
    if not component.group:
        return component.name
    # npm scopes read "@scope/name"; Maven coordinates "group:artifact".
    separator = "/" if component.group.startswith("@") else ":"
    return f"{component.group}{separator}{component.name}"


def _fixed_in(affects: _Affects) -> str | None:
    versions: list[str] = []
    for entry in affects.versions or ():
        if entry.status != "unaffected":
            continue
        if entry.version:
            versions.append(entry.version)
        elif entry.range:
            versions.extend(_range_versions(entry.range))
    return fixed_versions(versions)


def _range_versions(text: str) -> list[str]:
    match = _VERS.fullmatch(text.strip())
    if match is None:
        return [text]
    return [constraint.removeprefix(">=") for constraint in match["constraints"].split("|")]


def _recommended(recommendation: str | None) -> str | None:
    match = _RECOMMENDED_VERSIONS.search(recommendation or "")
    return fixed_versions([match["versions"].rstrip(".")]) if match else None


def _scanner(tools: list[_Tool] | _Tools | None) -> str:
    listed = (tools.components if isinstance(tools, _Tools) else tools) or []
    for tool in listed:
        if tool.name:
            return scanner_name(tool.name, tool.version, default="cyclonedx")
    return "cyclonedx"


def _repo_digests(component: _Component | None) -> Iterator[str]:
    # Trivy records the image's repo digests as "aquasecurity:trivy:RepoDigest" properties.
    for prop in (component.properties or ()) if component else ():
        if prop.name.lower().endswith(_REPO_DIGEST_PROPERTY) and prop.value:
            yield prop.value
