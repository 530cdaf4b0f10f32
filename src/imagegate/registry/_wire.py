"""Registry documents as msgspec Structs: manifests, indexes, image configs.

Unknown fields are ignored (registries and builders add many); a field we read
with the wrong type fails decoding, which the client reports as a protocol error.
"""

from __future__ import annotations

import msgspec

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"

INDEX_MEDIA_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
IMAGE_MANIFEST_MEDIA_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
MANIFEST_MEDIA_TYPES = INDEX_MEDIA_TYPES | IMAGE_MANIFEST_MEDIA_TYPES

ACCEPT_MANIFESTS = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST))
"""``Accept`` of manifest requests: without it a registry may down-convert or refuse."""

IMAGE_CONFIG_MEDIA_TYPES = frozenset(
    {"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"}
)

ATTESTATION_MANIFEST = "attestation-manifest"
REFERENCE_TYPE_ANNOTATION = "vnd.docker.reference.type"
REFERENCE_DIGEST_ANNOTATION = "vnd.docker.reference.digest"
PREDICATE_TYPE_ANNOTATION = "in-toto.io/predicate-type"


class WirePlatform(msgspec.Struct):
    architecture: str
    os: str
    variant: str | None = None


class Descriptor(msgspec.Struct, rename="camel"):
    media_type: str
    digest: str
    size: int
    platform: WirePlatform | None = None
    annotations: dict[str, str] | None = None

    def annotation(self, name: str) -> str | None:
        return (self.annotations or {}).get(name)


class MediaTyped(msgspec.Struct, rename="camel"):
    """Just enough of any manifest to learn what it is."""

    media_type: str | None = None


class Index(msgspec.Struct, rename="camel"):
    """An OCI image index or a Docker manifest list."""

    manifests: list[Descriptor]
    media_type: str | None = None


class Manifest(msgspec.Struct, rename="camel"):
    """An OCI image manifest or a Docker image manifest v2."""

    config: Descriptor
    layers: list[Descriptor] = msgspec.field(default_factory=list)
    media_type: str | None = None


class ContainerConfig(msgspec.Struct, rename={"labels": "Labels"}):
    labels: dict[str, str] | None = None


class ImageConfig(msgspec.Struct):
    """The image configuration: what the image runs on, when it was built, its labels."""

    architecture: str
    os: str
    variant: str | None = None
    created: str | None = None
    config: ContainerConfig | None = None
