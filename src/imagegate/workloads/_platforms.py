"""Platforms a pod may run on, from its nodeSelector and required node affinity."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace

from imagegate.tracking import Platform
from imagegate.workloads._objects import NodeSelectorRequirement, PodSpec

OS_LABELS = ("kubernetes.io/os", "beta.kubernetes.io/os")
ARCH_LABELS = ("kubernetes.io/arch", "beta.kubernetes.io/arch")

# What "any OS/architecture but X" can mean: those Kubernetes nodes run on (the
# platforms kubelet and the Kubernetes release images are built for).
KNOWN_OSES = frozenset({"linux", "windows"})
KNOWN_ARCHITECTURES = frozenset({"amd64", "arm64", "arm", "ppc64le", "s390x"})
# What a node's kubernetes.io/os and /arch labels can hold at all: kubelet sets them
# to Go's GOOS and GOARCH. Values a spec lists beyond these match no node, so they
# never make a record: one container creates a bounded number of records, whatever
# its affinity lists.
POSSIBLE_OSES = frozenset(
    {
        "aix",
        "android",
        "darwin",
        "dragonfly",
        "freebsd",
        "illumos",
        "ios",
        "linux",
        "netbsd",
        "openbsd",
        "plan9",
        "solaris",
        "windows",
    }
)
POSSIBLE_ARCHITECTURES = frozenset(
    {
        "386",
        "amd64",
        "arm",
        "arm64",
        "loong64",
        "mips",
        "mips64",
        "mips64le",
        "mipsle",
        "ppc64",
        "ppc64le",
        "riscv64",
        "s390x",
    }
)


@dataclass(frozen=True, slots=True)
class _Values:
    """A set of label values: ``only`` these, or all ``except`` these."""

    values: frozenset[str]
    complement: bool

    @classmethod
    def anything(cls) -> _Values:
        return cls(frozenset(), complement=True)

    def intersect(self, other: _Values) -> _Values:
        if not self.complement and not other.complement:
            return _Values(self.values & other.values, complement=False)
        if self.complement and other.complement:
            return _Values(self.values | other.values, complement=True)
        only, excluded = (other, self) if self.complement else (self, other)
        return _Values(only.values - excluded.values, complement=False)

    def union(self, other: _Values) -> _Values:
        if not self.complement and not other.complement:
            return _Values(self.values | other.values, complement=False)
        if self.complement and other.complement:
            return _Values(self.values & other.values, complement=True)
        only, excluded = (other, self) if self.complement else (self, other)
        return _Values(excluded.values - only.values, complement=True)

    def contains(self, value: str) -> bool:
        return (value in self.values) != self.complement

    def resolve(self, default: str, known: frozenset[str], possible: frozenset[str]) -> list[str]:
        if not self.complement:
            return sorted(self.values & possible)
        if default not in self.values:
            # Unconstrained, or "anything but …" that leaves the default: the default.
            return [default]
        # The pod excludes the default: every other value nodes are known to have.
        return sorted(known - self.values)


def pod_platforms(
    spec: PodSpec, *, default: Platform, nodes: Collection[Platform] = ()
) -> tuple[Platform, ...]:
    """Every (os, architecture) the pod may be scheduled on; the default if unconstrained.

    nodeSelector and required node affinity both constrain; affinity terms are
    alternatives (OR), expressions within a term all apply (AND). Constraints that
    contradict each other leave no platform: such a pod can never be scheduled.

    ``nodes``, when known, are the platforms of the nodes the pod can land on (from
    the cluster's Node objects, or the nodes its pods run on): then the answer is
    those of them the spec allows, so one container makes at most one record per
    node platform whatever its affinity lists. When none of them fits (the pod stays
    Pending), or nothing is known about nodes, the spec alone decides.
    """
    allowed_oses = _allowed(spec, OS_LABELS)
    allowed_architectures = _allowed(spec, ARCH_LABELS)
    fitting = sorted(
        {
            (node.os, node.architecture): node
            for node in nodes
            if allowed_oses.contains(node.os) and allowed_architectures.contains(node.architecture)
        }.values(),
        key=str,
    )
    if fitting:
        return tuple(
            replace(node, variant=default.variant)
            if node.architecture == default.architecture and node.variant is None
            else node
            for node in fitting
        )
    oses = allowed_oses.resolve(default.os, KNOWN_OSES, POSSIBLE_OSES | {default.os})
    architectures = allowed_architectures.resolve(
        default.architecture, KNOWN_ARCHITECTURES, POSSIBLE_ARCHITECTURES | {default.architecture}
    )
    return tuple(
        Platform(
            os=os,
            architecture=architecture,
            variant=default.variant if architecture == default.architecture else None,
        )
        for os in oses
        for architecture in architectures
    )


def _allowed(spec: PodSpec, labels: tuple[str, ...]) -> _Values:
    allowed = _Values.anything()
    for label in labels:
        if label in spec.node_selector:
            allowed = allowed.intersect(
                _Values(frozenset({spec.node_selector[label]}), complement=False)
            )
    affinity = spec.affinity.node_affinity if spec.affinity else None
    required = affinity.required if affinity else None
    if required is not None and required.node_selector_terms:
        by_terms: _Values | None = None
        for term in required.node_selector_terms:
            term_values = _term_values(term.match_expressions, labels)
            by_terms = term_values if by_terms is None else by_terms.union(term_values)
        if by_terms is not None:
            allowed = allowed.intersect(by_terms)
    return allowed


def _term_values(
    expressions: Iterable[NodeSelectorRequirement], labels: tuple[str, ...]
) -> _Values:
    values = _Values.anything()
    for expression in expressions:
        if expression.key not in labels:
            continue
        if expression.operator == "In":
            values = values.intersect(_Values(frozenset(expression.values), complement=False))
        elif expression.operator == "NotIn":
            values = values.intersect(_Values(frozenset(expression.values), complement=True))
        # Exists, DoesNotExist, Gt, Lt: no constraint on which value.
    return values
