"""Which logical environment a namespace's workloads are recorded in."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from imagegate.errors import RefusedError
from imagegate.tracking import validate_environment_name

DEFAULT_ENVIRONMENT_LABEL = "imagegate.dev/environment"


class EnvironmentSource(enum.StrEnum):
    """Where a namespace's logical environment came from (for logs and metrics)."""

    LABEL = "label"
    NAMESPACE_MAP = "namespace_map"
    DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class EnvironmentMapping:
    """Namespace label first, then a namespace→environment map, then the default."""

    label: str = DEFAULT_ENVIRONMENT_LABEL
    """Namespace label whose value names the logical environment."""
    namespaces: Mapping[str, str] = field(default_factory=dict)
    """Logical environment of namespaces without the label."""
    default: str = "production"
    """For everything else: the strictest stage, so unlabelled means most guarded."""

    def resolve(
        self, namespace: str, labels: Mapping[str, str] | None
    ) -> tuple[str, EnvironmentSource]:
        """The logical environment of ``namespace`` with ``labels`` (None: not known)."""
        value = (labels or {}).get(self.label)
        if value and _is_valid(value):
            return value, EnvironmentSource.LABEL
        if namespace in self.namespaces:
            return self.namespaces[namespace], EnvironmentSource.NAMESPACE_MAP
        return self.default, EnvironmentSource.DEFAULT


def _is_valid(name: str) -> bool:
    try:
        validate_environment_name(name)
    except RefusedError:
        return False
    return True
