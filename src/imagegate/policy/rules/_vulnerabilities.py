"""Rules over the newest vulnerability scan: scanned, severity-threshold,
no-new-vulnerabilities."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Literal

import msgspec

from imagegate.facts import ScanReport, Severity
from imagegate.policy._subject import (
    Deployed,
    Finding,
    ImageSubject,
    Need,
    Outcome,
    Unavailable,
    Unknown,
)
from imagegate.policy.rules._base import SCAN_FACTS, CompiledRule, RuleConfigError, RuleDocument
from imagegate.policy.rules._facts import age_text, listed, newest_scan

SeverityWord = Literal["negligible", "low", "medium", "high", "critical"]

_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """``30m``, ``12h``, ``7d`` as a timedelta."""
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise RuleConfigError(
            f"duration {text!r} must be a number and a unit: s, m, h or d", field="maxAge"
        )
    try:
        return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    except OverflowError:
        raise RuleConfigError(
            f"duration {text!r} is longer than any date can be apart", field="maxAge"
        ) from None


class Scanned(RuleDocument, tag="scanned"):
    """A vulnerability scan of the digest exists, not older than ``max_age``."""

    max_age: str = "7d"
    """A duration: ``30m``, ``12h``, ``7d``."""

    def compile(self) -> CompiledRule:
        max_age = parse_duration(self.max_age)
        return self.compiled(SCAN_FACTS, lambda subject: _scanned(subject, max_age))


def _scanned(subject: ImageSubject, max_age: timedelta) -> Outcome:
    scan = newest_scan(subject)
    if not isinstance(scan, ScanReport):
        return scan
    age = subject.now - scan.scanned_at
    if age > max_age:
        return Finding(
            f"the newest scan of {scan.digest} is {age_text(age)} old "
            f"(at most {age_text(max_age)})",
            f"scan it again and post the report: imagegate evidence push --digest {scan.digest} "
            "--scan report.json",
        )
    return None


class IgnoredVulnerability(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    id: str
    reason: str
    expires: date | None = None
    """After this day the vulnerability counts again."""


class SeverityThreshold(RuleDocument, tag="severity-threshold"):
    """No vulnerability at or above ``severity``, except those ignored (until they expire)."""

    severity: SeverityWord
    ignore: list[IgnoredVulnerability] = msgspec.field(default_factory=list)

    def compile(self) -> CompiledRule:
        threshold = Severity.parse(self.severity)
        ignored = {entry.id: entry.expires for entry in self.ignore}
        return self.compiled(SCAN_FACTS, lambda subject: _severity(subject, threshold, ignored))


def _severity(
    subject: ImageSubject, threshold: Severity, ignored: Mapping[str, date | None]
) -> Outcome:
    scan = newest_scan(subject)
    if not isinstance(scan, ScanReport):
        return scan
    today = subject.now.date()
    found = sorted(
        {
            vulnerability.id
            for vulnerability in scan.vulnerabilities
            if vulnerability.severity >= threshold
            and not _is_ignored(vulnerability.id, ignored, today)
        }
    )
    if not found:
        return None
    return Finding(
        f"{len(found)} vulnerabilities at or above {threshold.word}: {listed(found)}",
        "update the affected packages, or ignore a vulnerability in the policy with a reason "
        "and an expiry date",
    )


def _is_ignored(vulnerability_id: str, ignored: Mapping[str, date | None], today: date) -> bool:
    if vulnerability_id not in ignored:
        return False
    expires = ignored[vulnerability_id]
    return expires is None or today <= expires


class NoNewVulnerabilities(RuleDocument, tag="no-new-vulnerabilities"):
    """No vulnerability of ``severities`` that the image now deployed under the same
    deployment name in the target logical environment does not already have."""

    severities: list[SeverityWord] = msgspec.field(default_factory=lambda: ["critical", "high"])

    def compile(self) -> CompiledRule:
        counted = frozenset(Severity.parse(word) for word in self.severities)
        return self.compiled(
            SCAN_FACTS | {Need.DEPLOYED}, lambda subject: _no_new(subject, counted)
        )


def _no_new(subject: ImageSubject, counted: frozenset[Severity]) -> Outcome:
    scan = newest_scan(subject)
    if not isinstance(scan, ScanReport):
        return scan
    deployed = subject.deployed
    if isinstance(deployed, Unavailable):
        return Unknown(f"the deployed image cannot be looked up: {deployed.reason}")
    if not isinstance(deployed, Deployed) or not deployed.digests:
        # Nothing deployed under these names yet: nothing to compare with.
        return None
    known: set[str] = set()
    for digest, deployed_scan in zip(deployed.digests, deployed.scans, strict=True):
        if deployed_scan is None:
            return Finding(
                f"the deployed image {digest} has no scan to compare with",
                f"post its scan: imagegate evidence push --digest {digest} --scan report.json",
            )
        known |= {v.id for v in deployed_scan.vulnerabilities}
    new = sorted(
        {v.id for v in scan.vulnerabilities if v.severity in counted and v.id not in known}
    )
    if not new:
        return None
    words = "/".join(severity.word for severity in sorted(counted, reverse=True))
    return Finding(
        f"{len(new)} {words} vulnerabilities the deployed image does not have: {listed(new)}",
        "fix them before promoting, or keep the deployed version",
    )
