"""A policy ready to apply: where it matches, its compiled rules and exceptions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from imagegate.policy._model import Mode
from imagegate.policy._patterns import Patterns
from imagegate.policy._subject import Need
from imagegate.policy.rules import CompiledRule
from imagegate.workloads import ContainerImage


@dataclass(frozen=True, slots=True)
class Target:
    """Where a workload is being admitted."""

    environment: str
    logical_environment: str
    namespace: str
    namespace_labels: Mapping[str, str] | None = field(default_factory=dict)
    """``None`` when the namespace's labels could not be read."""


@dataclass(frozen=True, slots=True)
class CompiledException:
    """Containers a policy does not apply to: matching images and/or namespaces."""

    reason: str
    images: Patterns
    namespaces: Patterns
    expires: date | None = None

    def covers(self, container: ContainerImage, target: Target, today: date) -> bool:
        if self.expires is not None and today > self.expires:
            return False
        reference = container.reference
        if self.images.texts and (
            reference is None or not self.images.matches(reference.repository)
        ):
            return False
        return not self.namespaces.texts or self.namespaces.matches(target.namespace)


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """A DeploymentPolicy compiled for evaluation."""

    name: str
    mode: Mode
    rules: tuple[CompiledRule, ...]
    logical_environments: frozenset[str] = frozenset()
    environments: frozenset[str] = frozenset()
    namespaces: Patterns = field(default_factory=lambda: Patterns.compile([]))
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    exceptions: tuple[CompiledException, ...] = ()
    facts_unavailable: Literal["deny", "warn"] = "deny"
    source: str = "built-in"
    """The file the policy came from, for messages."""
    document: int = 1
    """Position of the policy's document in its file."""

    def applies_to(self, target: Target) -> bool:
        """Whether the policy's match selects ``target`` (empty criteria match all)."""
        if (
            self.logical_environments
            and target.logical_environment not in self.logical_environments
        ):
            return False
        if self.environments and target.environment not in self.environments:
            return False
        if self.namespaces.texts and not self.namespaces.matches(target.namespace):
            return False
        if target.namespace_labels is None:
            # Labels unknown (lookup failed): apply the policy rather than let an
            # outage switch a guard off.
            return True
        labels = target.namespace_labels
        return all(labels.get(key) == value for key, value in self.namespace_labels.items())

    @property
    def needs(self) -> frozenset[Need]:
        """The facts this policy's rules need looked up."""
        return frozenset(need for rule in self.rules for need in rule.needs)

    def exception_for(
        self, container: ContainerImage, target: Target, today: date
    ) -> CompiledException | None:
        """The exception that exempts ``container`` from this policy, if any."""
        return next((e for e in self.exceptions if e.covers(container, target, today)), None)
