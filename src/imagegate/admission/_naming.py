"""Deployment names of admitted containers, from a configurable template."""

from __future__ import annotations

import string
from dataclasses import dataclass

DEFAULT_TEMPLATE = "{namespace}/{workload}/{container}"
PLACEHOLDERS = frozenset({"cluster", "namespace", "kind", "workload", "container"})


class TemplateError(ValueError):
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
