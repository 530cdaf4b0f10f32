"""What a rule judges: one container's image with the facts looked up for it."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from imagegate.facts import Evidence, ImageFacts, ScanReport
from imagegate.tracking import Platform
from imagegate.workloads import ContainerImage


class Need(enum.StrEnum):
    """A kind of fact a rule needs looked up before it can judge."""

    REGISTRY = "registry"
    """Manifests, platforms, labels, provenance from the image's registry."""
    EVIDENCE = "evidence"
    """Scans and provenance CI posted for the digest."""
    DEPLOYED = "deployed"
    """Evidence of the image deployed now under the same deployment name."""


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A fact that could not be looked up now (registry or store outage)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Deployed:
    """The images deployed now under the container's deployment names, with their scans."""

    digests: tuple[str, ...]
    scans: tuple[ScanReport | None, ...]


@dataclass(frozen=True, slots=True)
class ImageSubject:
    """One container's image and what is known of it; facts not needed are ``None``."""

    container: ContainerImage
    platforms: tuple[Platform, ...]
    """Platforms the pod may run on."""
    now: datetime
    registry: ImageFacts | Unavailable | None = None
    evidence: Evidence | Unavailable | None = None
    deployed: Deployed | Unavailable | None = None

    @property
    def digest(self) -> str | None:
        """The digest the image reference names: as written, or resolved by the registry."""
        reference = self.container.reference
        if reference is not None and reference.digest is not None:
            return reference.digest
        if isinstance(self.registry, ImageFacts):
            return self.registry.digest
        return None


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule broken: why, and how to fix it."""

    reason: str
    fix: str


@dataclass(frozen=True, slots=True)
class Unknown:
    """A rule that could not be checked because a fact it needs is unavailable."""

    reason: str


Outcome = Finding | Unknown | None
"""What a rule says of a subject: broken, not checkable, or passed (None)."""
