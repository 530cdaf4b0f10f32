"""What is known about one workload: its identity, containers and platforms."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from imagegate.errors import InvalidInputError
from imagegate.tracking import ImageReference, Platform


class ContainerType(enum.StrEnum):
    """Where in a pod spec a container is declared."""

    CONTAINER = "container"
    INIT = "initContainer"
    SIDECAR = "sidecar"
    """An init container with ``restartPolicy: Always``: it runs beside the others."""
    EPHEMERAL = "ephemeralContainer"
    IMAGE_VOLUME = "imageVolume"
    """A volume whose content is an image (``volumes[].image.reference``): judged and
    recorded like a container's image."""


IMAGE_VOLUME_PREFIX = "volumes/"
"""Names of image volumes start with this, so that they never meet a container's
name (container names cannot hold a slash) in deployment names or facts."""


@dataclass(frozen=True, slots=True)
class ContainerImage:
    """One container and its image as written, parsed if it could be."""

    name: str
    """The container's name; ``volumes/<volume name>`` for an image volume."""
    image: str
    type: ContainerType
    reference: ImageReference | None
    """``None`` when ``image`` is not a valid reference; ``problem`` says why."""
    problem: str | None = None
    path: str = ""
    """JSON pointer to the image in the object, e.g. ``/spec/template/spec/containers/0/image``:
    where a mutating webhook patches it."""

    @property
    def described(self) -> str:
        """How a message names what is not a container (``image volume 'models'``);
        empty for a container, which messages name ``container '<name>'``."""
        if self.type is ContainerType.IMAGE_VOLUME:
            return f"image volume {self.name.removeprefix(IMAGE_VOLUME_PREFIX)!r}"
        return ""


@dataclass(frozen=True, slots=True)
class WorkloadIdentity:
    """The long-lived workload an object belongs to, e.g. the Deployment of a Pod."""

    kind: str
    name: str
    namespace: str
    owned: bool
    """The object has a controller (it is e.g. a Pod of a ReplicaSet), so its own
    updates and deletions say nothing about the workload's lifetime."""


@dataclass(frozen=True, slots=True)
class ExtractedWorkload:
    """Everything admission reads from one object of a workload kind."""

    object_kind: str
    object_name: str
    identity: WorkloadIdentity
    containers: tuple[ContainerImage, ...]
    platforms: tuple[Platform, ...]
    """Platforms the pod may be scheduled on; several when affinity allows several."""
    pull_secrets: tuple[str, ...] = ()


class InvalidObjectError(InvalidInputError):
    """An object of a workload kind that does not decode as that kind."""
