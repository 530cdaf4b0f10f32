"""Rules over the image reference alone: digest-pinned, no-latest, allowed-registries,
and the mutation pin-tags. None of them needs a fact looked up, except pin-tags,
whose patch needs the tag's digest."""

from __future__ import annotations

from imagegate.policy._patterns import Patterns
from imagegate.policy._subject import Finding, ImageSubject, Need, Outcome
from imagegate.policy.rules._base import FACT_FREE, CompiledRule, RuleConfigError, RuleDocument
from imagegate.policy.rules._facts import invalid_reference


class DigestPinned(RuleDocument, tag="digest-pinned"):
    """The image is referenced by digest."""

    def compile(self) -> CompiledRule:
        return self.compiled(FACT_FREE, digest_pinned)


def digest_pinned(subject: ImageSubject) -> Outcome:
    """By digest, so that what runs is exactly what was checked."""
    reference = subject.container.reference
    if reference is None:
        return invalid_reference(subject.container)
    if reference.digest is None:
        tagged = str(reference)
        return Finding(
            "the image is not pinned by digest; a tag can move to another image at any time",
            f"use {tagged}@sha256:<digest> (find it with: crane digest {tagged})",
        )
    return None


class NoLatest(RuleDocument, tag="no-latest"):
    """The image is not referenced by the ``latest`` tag (or by no tag at all)."""

    def compile(self) -> CompiledRule:
        return self.compiled(FACT_FREE, no_latest)


def no_latest(subject: ImageSubject) -> Outcome:
    """Not ``:latest``, and not tag-less without a digest (which means ``latest``)."""
    reference = subject.container.reference
    if reference is None:
        return invalid_reference(subject.container)
    if reference.tag == "latest" or (reference.tag is None and reference.digest is None):
        return Finding(
            "the image uses the latest tag, which names whatever was pushed last",
            f"use a version tag and its digest, e.g. {reference.repository}:1.2.3@sha256:<digest>",
        )
    return None


class AllowedRegistries(RuleDocument, tag="allowed-registries"):
    """The image's repository matches one of ``patterns`` (``*`` within a path
    segment, ``**`` across segments), e.g. ``ghcr.io/acme/**``."""

    patterns: list[str]

    def compile(self) -> CompiledRule:
        if not self.patterns:
            # An empty allow-list would refuse every image: surely not what was meant.
            raise RuleConfigError("patterns must name at least one pattern", field="patterns")
        allowed = Patterns.compile(self.patterns)
        return self.compiled(FACT_FREE, lambda subject: _allowed_registry(subject, allowed))


def _allowed_registry(subject: ImageSubject, allowed: Patterns) -> Outcome:
    reference = subject.container.reference
    if reference is None:
        return invalid_reference(subject.container)
    if allowed.matches(reference.repository):
        return None
    return Finding(
        f"repository {reference.repository} is not in the allowed registries ({allowed})",
        f"use an image from {allowed}",
    )


class PinTags(RuleDocument, tag="pin-tags"):
    """Mutation: ``repo:tag`` becomes ``repo:tag@sha256:…`` (the index digest)."""

    def compile(self) -> CompiledRule:
        # It judges nothing: admission's /mutate patches the references it pins.
        return CompiledRule(
            self.rule_name(), frozenset({Need.REGISTRY}), lambda _: None, mutates=True
        )
