"""Rules over how the image was built: required-labels, trusted-builder, known-commit.

Each reads labels and provenance from the registry and from posted evidence alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import msgspec

from imagegate.policy._patterns import Patterns
from imagegate.policy._subject import Finding, ImageSubject, Outcome, Unknown
from imagegate.policy.rules._base import IMAGE_FACTS, CompiledRule, RuleConfigError, RuleDocument
from imagegate.policy.rules._facts import known_labels, known_provenance

SOURCE_LABEL = "org.opencontainers.image.source"
REVISION_LABEL = "org.opencontainers.image.revision"
_COMMIT = re.compile(r"[0-9a-f]{7,64}")


class RequiredLabels(RuleDocument, tag="required-labels"):
    """The image config has each label; a non-null value is a pattern its value must match."""

    labels: dict[str, str | None]

    def compile(self) -> CompiledRule:
        if not self.labels:
            raise RuleConfigError("labels must name at least one label", field="labels")
        wanted = {
            key: Patterns.compile([value]) if value else None for key, value in self.labels.items()
        }
        return self.compiled(IMAGE_FACTS, lambda subject: _labels(subject, wanted))


def _labels(subject: ImageSubject, wanted: Mapping[str, Patterns | None]) -> Outcome:
    labels, unavailable = known_labels(subject)
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


class TrustedBuilder(RuleDocument, tag="trusted-builder"):
    """The image's provenance names a builder id matching one of ``builders``."""

    builders: list[str]

    def compile(self) -> CompiledRule:
        if not self.builders:
            # An empty allow-list would refuse every image: surely not what was meant.
            raise RuleConfigError("builders must name at least one pattern", field="builders")
        trusted = Patterns.compile(self.builders)
        return self.compiled(IMAGE_FACTS, lambda subject: _builder(subject, trusted))


def _builder(subject: ImageSubject, trusted: Patterns) -> Outcome:
    provenance, unavailable = known_provenance(subject)
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


class KnownCommit(RuleDocument, tag="known-commit"):
    """The image names the git commit it was built from (label or provenance), and,
    if ``repositories`` is given, a source repository matching one of them."""

    repositories: list[str] = msgspec.field(default_factory=list)

    def compile(self) -> CompiledRule:
        repositories = Patterns.compile(self.repositories)
        return self.compiled(IMAGE_FACTS, lambda subject: _commit(subject, repositories))


def _commit(subject: ImageSubject, repositories: Patterns) -> Outcome:
    labels, unavailable = known_labels(subject)
    provenance, provenance_unavailable = known_provenance(subject)
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
