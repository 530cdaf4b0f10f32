"""Deployment names of admitted containers, from a configurable template."""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass

from imagegate.errors import InvalidInputError

DEFAULT_TEMPLATE = "{namespace}/{workload}/{container}"
MAX_DEPLOYMENT_NAME = 253
"""Longest deployment name the store takes."""
_HASH_LENGTH = 12
PLACEHOLDERS = frozenset({"cluster", "namespace", "kind", "workload", "container"})


class TemplateError(InvalidInputError):
    """A deployment-name template that cannot be rendered."""


@dataclass(frozen=True, slots=True)
class DeploymentNameTemplate:
    """E.g. ``{namespace}/{workload}/{container}``; placeholders: cluster, namespace,
    kind (lower-case workload kind), workload, container."""

    template: str = DEFAULT_TEMPLATE

    def __post_init__(self) -> None:
        try:
            fields = [
                name
                for _, name, spec, _ in string.Formatter().parse(self.template)
                if name is not None
            ]
        except ValueError as error:
            raise TemplateError(f"deployment name template {self.template!r}: {error}") from None
        unknown = sorted(set(fields) - PLACEHOLDERS)
        if unknown:
            raise TemplateError(
                f"deployment name template {self.template!r} has unknown placeholder "
                f"{{{unknown[0]}}}; known: {', '.join(sorted(PLACEHOLDERS))}"
            )
        if "container" not in fields:
            # Without it, the containers of one pod would overwrite each other's record.
            raise TemplateError(
                f"deployment name template {self.template!r} must contain {{container}}"
            )
        try:
            # Conversions and format specs ({container!x}, {namespace:d}) fail only when
            # rendered: render once now rather than on every admission.
            self.render(cluster="c", namespace="n", kind="k", workload="w", container="x")
        except (ValueError, KeyError, IndexError, AttributeError) as error:
            raise TemplateError(
                f"deployment name template {self.template!r} cannot be rendered: {error}"
            ) from None

    def render(
        self, *, cluster: str, namespace: str, kind: str, workload: str, container: str
    ) -> str:
        """The deployment name of one container of one workload."""
        return self.template.format(
            cluster=cluster,
            namespace=namespace,
            kind=kind.lower(),
            workload=workload,
            container=container,
        )


def fitted_name(name: str, suffix: str = "") -> str:
    """``name + suffix``, shortened when longer than a deployment name may be.

    Kubernetes allows names (namespace 63, workload 253, container 63) that together
    exceed the limit. The cut keeps the start of ``name``, then a dash and a hash of
    the whole of it, then ``suffix`` (the platform): the same workload always gets
    the same name, two workloads that share a long prefix never do, and every
    platform's record of one container keeps one base.
    """
    if len(name) + len(suffix) <= MAX_DEPLOYMENT_NAME:
        return name + suffix
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH_LENGTH]
    keep = MAX_DEPLOYMENT_NAME - len(suffix) - len(digest) - 1
    return f"{name[:keep]}-{digest}{suffix}"
