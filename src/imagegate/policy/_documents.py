"""The DeploymentPolicy document (YAML, Kubernetes style), as msgspec Structs.

Decoding validates: a misspelt field, a wrong type or an unknown rule is refused
with the path at fault (``spec.rules[1].patterns``).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import msgspec

API_VERSION = "imagegate.dev/v1alpha1"
KIND = "DeploymentPolicy"

SeverityWord = Literal["negligible", "low", "medium", "high", "critical"]


class _Rule(msgspec.Struct, tag_field="rule", forbid_unknown_fields=True, rename="camel"):
    """Base of the rules; ``rule`` names which one."""


class DigestPinned(_Rule, tag="digest-pinned"):
    """The image is referenced by digest."""


class NoLatest(_Rule, tag="no-latest"):
    """The image is not referenced by the ``latest`` tag (or by no tag at all)."""


class AllowedRegistries(_Rule, tag="allowed-registries"):
    """The image's repository matches one of ``patterns`` (``*`` within a path
    segment, ``**`` across segments), e.g. ``ghcr.io/acme/**``."""

    patterns: list[str]


class RequiredLabels(_Rule, tag="required-labels"):
    """The image config has each label; a non-null value is a pattern its value must match."""

    labels: dict[str, str | None]


class TrustedBuilder(_Rule, tag="trusted-builder"):
    """The image's provenance names a builder id matching one of ``builders``."""

    builders: list[str]


class KnownCommit(_Rule, tag="known-commit"):
    """The image names the git commit it was built from (label or provenance), and,
    if ``repositories`` is given, a source repository matching one of them."""

    repositories: list[str] = msgspec.field(default_factory=list)


class Scanned(_Rule, tag="scanned"):
    """A vulnerability scan of the digest exists, not older than ``max_age``."""

    max_age: str = "7d"
    """A duration: ``30m``, ``12h``, ``7d``."""


class IgnoredVulnerability(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    id: str
    reason: str
    expires: date | None = None
    """After this day the vulnerability counts again."""


class SeverityThreshold(_Rule, tag="severity-threshold"):
    """No vulnerability at or above ``severity``, except those ignored (until they expire)."""

    severity: SeverityWord
    ignore: list[IgnoredVulnerability] = msgspec.field(default_factory=list)


class NoNewVulnerabilities(_Rule, tag="no-new-vulnerabilities"):
    """No vulnerability of ``severities`` that the image now deployed under the same
    deployment name in the target logical environment does not already have."""

    severities: list[SeverityWord] = msgspec.field(default_factory=lambda: ["critical", "high"])


class PlatformAvailable(_Rule, tag="platform-available"):
    """The image (or its index) has a manifest for every platform the pod may run on."""


class PinTags(_Rule, tag="pin-tags"):
    """Mutation: ``repo:tag`` becomes ``repo:tag@sha256:…`` (the index digest)."""


Rule = (
    DigestPinned
    | NoLatest
    | AllowedRegistries
    | RequiredLabels
    | TrustedBuilder
    | KnownCommit
    | Scanned
    | SeverityThreshold
    | NoNewVulnerabilities
    | PlatformAvailable
    | PinTags
)
RULE_NAMES = tuple(
    str(struct.__struct_config__.tag)
    for struct in (
        DigestPinned,
        NoLatest,
        AllowedRegistries,
        RequiredLabels,
        TrustedBuilder,
        KnownCommit,
        Scanned,
        SeverityThreshold,
        NoNewVulnerabilities,
        PlatformAvailable,
        PinTags,
    )
)


class Match(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    """Where the policy applies; an empty list (or map) matches everything."""

    logical_environments: list[str] = msgspec.field(default_factory=list)
    environments: list[str] = msgspec.field(default_factory=list)
    namespaces: list[str] = msgspec.field(default_factory=list)
    """Namespace names or patterns (``team-*``)."""
    namespace_labels: dict[str, str] = msgspec.field(default_factory=dict)
    """Labels the namespace must all have, with these values."""


class PolicyException(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    """Containers this policy does not apply to, and why."""

    reason: str
    images: list[str] = msgspec.field(default_factory=list)
    """Repository patterns, e.g. ``ghcr.io/acme/legacy/*``."""
    namespaces: list[str] = msgspec.field(default_factory=list)
    expires: date | None = None


class Spec(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    rules: list[Rule]
    mode: Literal["enforce", "audit"] = "enforce"
    match: Match = msgspec.field(default_factory=Match)
    exceptions: list[PolicyException] = msgspec.field(default_factory=list)
    facts_unavailable: Literal["deny", "warn"] = "deny"
    """What an enforced rule does when the registry or evidence cannot be read."""


class Metadata(msgspec.Struct, rename="camel"):
    name: str
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    annotations: dict[str, str] = msgspec.field(default_factory=dict)


class DeploymentPolicy(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    api_version: str
    kind: str
    metadata: Metadata
    spec: Spec
