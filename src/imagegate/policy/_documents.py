"""The DeploymentPolicy document (YAML, Kubernetes style), as msgspec Structs.

Decoding validates: a misspelt field, a wrong type or an unknown rule is refused
with the path at fault (``spec.rules[1].patterns``). The rules' own forms are in
``policy/rules``.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import msgspec

from imagegate.policy.rules import Rule

API_VERSION = "imagegate.dev/v1alpha1"
KIND = "DeploymentPolicy"


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
