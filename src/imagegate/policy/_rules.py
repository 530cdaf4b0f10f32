"""Built-in rules: small pure checks over one container's image and its facts.

Each rule is compiled once from its document form (patterns compiled, durations
parsed) and says which facts it needs, so admission looks up only those.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from imagegate.facts import Evidence, ImageFacts, Provenance, ScanReport, Severity
from imagegate.policy import _documents as doc
from imagegate.policy._patterns import Patterns
from imagegate.policy._subject import (
    Deployed,
    Finding,
    ImageSubject,
    Need,
    Outcome,
    Unavailable,
    Unknown,
)
from imagegate.tracking import Platform
from imagegate.workloads import ContainerImage

SOURCE_LABEL = "org.opencontainers.image.source"
REVISION_LABEL = "org.opencontainers.image.revision"
_COMMIT = re.compile(r"[0-9a-f]{7,64}")
_DURATION = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_MAX_LISTED = 5

RuleResult = tuple[str, str] | None
"""(reason, fix) of a broken rule, or None: the older, fact-free rule signature."""


class RuleConfigError(ValueError):
    """A rule whose settings cannot work (a bad duration, an empty list)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        """The rule's setting at fault, e.g. ``maxAge``."""


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready to judge: its name, the facts it needs, and the check."""

    name: str
    needs: frozenset[Need]
    check: Callable[[ImageSubject], Outcome]
    mutates: bool = False
    """A mutation rule (pin-tags): it patches instead of judging."""


def compile_rule(rule: doc.Rule) -> CompiledRule:
    """The compiled form of a rule from a policy document."""
    name = str(type(rule).__struct_config__.tag)
    needs, check = _COMPILERS[type(rule)](rule)
    return CompiledRule(name, needs, check, mutates=isinstance(rule, doc.PinTags))


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


# --- checks that need no facts --------------------------------------------------------


def digest_pinned(container: ContainerImage) -> RuleResult:
    """The image is referenced by digest, so what runs is exactly what was checked."""
    if container.reference is None:
        return _invalid(container)
    if container.reference.digest is None:
        tagged = str(container.reference)
        return (
            "the image is not pinned by digest; a tag can move to another image at any time",
            f"use {tagged}@sha256:<digest> (find it with: crane digest {tagged})",
        )
    return None


def no_latest(container: ContainerImage) -> RuleResult:
    """Not ``:latest``, and not tag-less without a digest (which means ``latest``)."""
    reference = container.reference
    if reference is None:
        return _invalid(container)
    if reference.tag == "latest" or (reference.tag is None and reference.digest is None):
        return (
            "the image uses the latest tag, which names whatever was pushed last",
            f"use a version tag and its digest, e.g. {reference.repository}:1.2.3@sha256:<digest>",
        )
    return None


def _allowed_registry(subject: ImageSubject, allowed: Patterns) -> Outcome:
    reference = subject.container.reference
    if reference is None:
        return _finding(_invalid(subject.container))
    if allowed.matches(reference.repository):
        return None
    return Finding(
        f"repository {reference.repository} is not in the allowed registries ({allowed})",
        f"use an image from {allowed}",
    )


# --- checks over registry facts and evidence ------------------------------------------


def _labels(subject: ImageSubject, wanted: Mapping[str, Patterns | None]) -> Outcome:
    labels, unavailable = _known_labels(subject)
    missing = [key for key in wanted if key not in labels]
    if missing and unavailable:
        return Unknown(f"labels cannot be read: {unavailable}")
    if missing:
        return Finding(
            f"the image has no label {', '.join(missing)}",
            "set it when building (docker build --label, LABEL in the Dockerfile) or post it "
            "as evidence",
        )
    for key, pattern in wanted.items():
        if pattern is not None and not pattern.matches(labels[key]):
            return Finding(
                f"label {key}={labels[key]!r} does not match {pattern}",
                f"build the image with {key} matching {pattern}",
            )
    return None


def _builder(subject: ImageSubject, trusted: Patterns) -> Outcome:
    provenance, unavailable = _known_provenance(subject)
    if provenance is None or not provenance.builder_id:
        if unavailable:
            return Unknown(f"provenance cannot be read: {unavailable}")
        return Finding(
            "the image has no provenance naming its builder",
            "build with provenance attestations (docker buildx build --provenance=mode=max) "
            "or post provenance evidence",
        )
    if trusted.matches(provenance.builder_id):
        return None
    return Finding(
        f"builder {provenance.builder_id!r} is not trusted ({trusted})",
        "build the image on a trusted builder",
    )


def _commit(subject: ImageSubject, repositories: Patterns) -> Outcome:
    labels, unavailable = _known_labels(subject)
    provenance, provenance_unavailable = _known_provenance(subject)
    commit = labels.get(REVISION_LABEL) or (provenance.commit if provenance else None)
    source = labels.get(SOURCE_LABEL) or (provenance.source_repository if provenance else None)
    if commit is None or (repositories.texts and source is None):
        if unavailable or provenance_unavailable:
            why = unavailable or provenance_unavailable
            return Unknown(f"labels and provenance cannot be read: {why}")
        return Finding(
            "the image does not name the git commit (and repository) it was built from",
            f"set the labels {REVISION_LABEL} and {SOURCE_LABEL} (or build with provenance)",
        )
    if not _COMMIT.fullmatch(commit.lower()):
        return Finding(f"{commit!r} is not a git commit", f"set {REVISION_LABEL} to the commit id")
    if repositories.texts and source is not None and not repositories.matches(source):
        return Finding(
            f"source repository {source!r} is not one of {repositories}",
            "build the image from an allowed repository",
        )
    return None


def _scanned(subject: ImageSubject, max_age: timedelta) -> Outcome:
    scan = _scan(subject)
    if not isinstance(scan, ScanReport):
        return scan
    age = subject.now - scan.scanned_at
    if age > max_age:
        return Finding(
            f"the newest scan of {scan.digest} is {_age(age)} old (at most {_age(max_age)})",
            f"scan it again and post the report: imagegate evidence push --digest {scan.digest} "
            "--scan report.json",
        )
    return None


def _severity(
    subject: ImageSubject, threshold: Severity, ignored: Mapping[str, date | None]
) -> Outcome:
    scan = _scan(subject)
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
        f"{len(found)} vulnerabilities at or above {threshold.word}: {_listed(found)}",
        "update the affected packages, or ignore a vulnerability in the policy with a reason "
        "and an expiry date",
    )


def _no_new(subject: ImageSubject, counted: frozenset[Severity]) -> Outcome:
    scan = _scan(subject)
    if not isinstance(scan, ScanReport):
        return scan
    deployed = subject.deployed
    if isinstance(deployed, Unavailable):
        return Unknown(f"the deployed image cannot be looked up: {deployed.reason}")
    if not isinstance(deployed, Deployed) or not deployed.digests:
        # Nothing deployed under these names yet: nothing to compare with.
        return None
    known: set[str] = set()
    if isinstance(deployed, Deployed):
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
        f"{len(new)} {words} vulnerabilities the deployed image does not have: {_listed(new)}",
        "fix them before promoting, or keep the deployed version",
    )


def _platforms(subject: ImageSubject) -> Outcome:
    facts = subject.registry
    if isinstance(facts, Unavailable):
        return Unknown(f"the image's platforms cannot be read: {facts.reason}")
    if not isinstance(facts, ImageFacts):
        return Unknown("the image's platforms were not looked up")
    missing = [
        platform
        for platform in subject.platforms
        if not any(_same_platform(platform, offered) for offered in facts.platforms)
    ]
    if not missing:
        return None
    offered = ", ".join(str(p) for p in facts.platforms) or "none"
    return Finding(
        f"no manifest for {', '.join(str(p) for p in missing)} (the image has {offered})",
        "build the image for every platform the pod may run on, or constrain the pod's "
        "nodeSelector/affinity to the image's platforms",
    )


# --- helpers ------------------------------------------------------------------------


def _finding(result: RuleResult) -> Finding | None:
    return Finding(*result) if result is not None else None


def _invalid(container: ContainerImage) -> tuple[str, str]:
    return (
        f"the image reference is invalid ({container.problem})",
        "write a valid reference, e.g. registry.example.com/team/app:1.2@sha256:<digest>",
    )


def _known_labels(subject: ImageSubject) -> tuple[Mapping[str, str], str | None]:
    """Labels from the registry and from evidence, and why some could not be read."""
    labels: dict[str, str] = {}
    if isinstance(subject.registry, ImageFacts):
        labels.update(subject.registry.labels)
    if isinstance(subject.evidence, Evidence):
        labels.update(subject.evidence.labels)
    return labels, _unavailable(subject)


def _known_provenance(subject: ImageSubject) -> tuple[Provenance | None, str | None]:
    """Provenance from the registry's attestation, each field overridden by evidence
    that sets it (posting only a commit keeps the registry's builder)."""
    registry = subject.registry.provenance if isinstance(subject.registry, ImageFacts) else None
    posted = subject.evidence.provenance if isinstance(subject.evidence, Evidence) else None
    if registry is None and posted is None:
        return None, _unavailable(subject)
    merged = Provenance(
        builder_id=_first(posted, registry, "builder_id"),
        source_repository=_first(posted, registry, "source_repository"),
        commit=_first(posted, registry, "commit"),
    )
    return merged, _unavailable(subject)


def _first(posted: Provenance | None, registry: Provenance | None, name: str) -> str | None:
    for provenance in (posted, registry):
        value = getattr(provenance, name, None) if provenance is not None else None
        if value:
            return str(value)
    return None


def _unavailable(subject: ImageSubject) -> str | None:
    """Why a source of labels or provenance could not be read, if one could not."""
    for source in (subject.registry, subject.evidence):
        if isinstance(source, Unavailable):
            return source.reason
    return None


def _scan(subject: ImageSubject) -> ScanReport | Finding | Unknown:
    evidence = subject.evidence
    if isinstance(evidence, Unavailable):
        return Unknown(f"evidence cannot be read: {evidence.reason}")
    digest = subject.digest
    if digest is None:
        reason = subject.registry.reason if isinstance(subject.registry, Unavailable) else None
        return Unknown(f"the image's digest cannot be resolved: {reason or 'no digest'}")
    if not isinstance(evidence, Evidence) or evidence.scan is None:
        return Finding(
            f"no vulnerability scan was posted for {digest}",
            f"scan the image and post the report: imagegate evidence push --digest {digest} "
            "--scan report.json",
        )
    return evidence.scan


def _is_ignored(vulnerability_id: str, ignored: Mapping[str, date | None], today: date) -> bool:
    if vulnerability_id not in ignored:
        return False
    expires = ignored[vulnerability_id]
    return expires is None or today <= expires


def _same_platform(wanted: Platform, offered: Platform) -> bool:
    if (wanted.os, wanted.architecture) != (offered.os, offered.architecture):
        return False
    # arm64 images usually leave the variant out; v8 is the only arm64 variant nodes report.
    normal = {None: None, "v8": None} if wanted.architecture == "arm64" else {}
    return normal.get(wanted.variant, wanted.variant) in (
        None,
        normal.get(offered.variant, offered.variant),
    )


def _listed(ids: list[str]) -> str:
    shown = ", ".join(ids[:_MAX_LISTED])
    return shown + (f" and {len(ids) - _MAX_LISTED} more" if len(ids) > _MAX_LISTED else "")


def _age(age: timedelta) -> str:
    """``7d3h``, ``5h``, ``30m``, ``45s``: the largest two units that are not zero."""
    seconds = int(age.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts[:2]) or "0s"


# --- compiling rules from documents -----------------------------------------------

_FACT_FREE: frozenset[Need] = frozenset()
_IMAGE_FACTS = frozenset({Need.REGISTRY, Need.EVIDENCE})
# Scans are evidence posted by digest: the registry is asked only to resolve a tag
# (the gatherer does that for a reference without a digest), not for a pinned image.
_SCAN_FACTS = frozenset({Need.EVIDENCE})
Check = Callable[[ImageSubject], Outcome]


def _compile_required_labels(rule: doc.RequiredLabels) -> tuple[frozenset[Need], Check]:
    if not rule.labels:
        raise RuleConfigError("labels must name at least one label", field="labels")
    wanted = {
        key: Patterns.compile([value]) if value else None for key, value in rule.labels.items()
    }
    return _IMAGE_FACTS, lambda s: _labels(s, wanted)


def _compile_severity(rule: doc.SeverityThreshold) -> tuple[frozenset[Need], Check]:
    threshold = Severity.parse(rule.severity)
    ignored = {entry.id: entry.expires for entry in rule.ignore}
    return _SCAN_FACTS, lambda s: _severity(s, threshold, ignored)


def _compile_no_new(rule: doc.NoNewVulnerabilities) -> tuple[frozenset[Need], Check]:
    counted = frozenset(Severity.parse(word) for word in rule.severities)
    return _SCAN_FACTS | {Need.DEPLOYED}, lambda s: _no_new(s, counted)


def _pattern_rule(
    setting: str,
    check: Callable[[ImageSubject, Patterns], Outcome],
    needs: frozenset[Need],
    *,
    required: bool = True,
) -> Callable[[Any], tuple[frozenset[Need], Check]]:
    def compile_(rule: Any) -> tuple[frozenset[Need], Check]:
        texts = getattr(rule, setting)
        if required and not texts:
            # An empty allow-list would refuse every image: surely not what was meant.
            raise RuleConfigError(f"{setting} must name at least one pattern", field=setting)
        patterns = Patterns.compile(texts)
        return needs, lambda s: check(s, patterns)

    return compile_


_COMPILERS: dict[type, Callable[[Any], tuple[frozenset[Need], Check]]] = {
    doc.DigestPinned: lambda _: (_FACT_FREE, lambda s: _finding(digest_pinned(s.container))),
    doc.NoLatest: lambda _: (_FACT_FREE, lambda s: _finding(no_latest(s.container))),
    doc.AllowedRegistries: _pattern_rule("patterns", _allowed_registry, _FACT_FREE),
    doc.RequiredLabels: _compile_required_labels,
    doc.TrustedBuilder: _pattern_rule("builders", _builder, _IMAGE_FACTS),
    doc.KnownCommit: _pattern_rule("repositories", _commit, _IMAGE_FACTS, required=False),
    doc.Scanned: lambda r: (_SCAN_FACTS, _bind_scanned(parse_duration(r.max_age))),
    doc.SeverityThreshold: _compile_severity,
    doc.NoNewVulnerabilities: _compile_no_new,
    doc.PlatformAvailable: lambda _: (frozenset({Need.REGISTRY}), _platforms),
    doc.PinTags: lambda _: (frozenset({Need.REGISTRY}), lambda s: None),
}


def _bind_scanned(max_age: timedelta) -> Check:
    return lambda s: _scanned(s, max_age)
