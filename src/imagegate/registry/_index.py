"""Reading an image index (or Docker manifest list): platforms, the image for a
platform, and the BuildKit attestation manifest attached to that image."""

from __future__ import annotations

from imagegate.registry._wire import (
    ATTESTATION_MANIFEST,
    IMAGE_MANIFEST_MEDIA_TYPES,
    REFERENCE_DIGEST_ANNOTATION,
    REFERENCE_TYPE_ANNOTATION,
    Descriptor,
    Index,
    WirePlatform,
)
from imagegate.tracking import Platform

_UNKNOWN = "unknown"


def is_attestation(entry: Descriptor) -> bool:
    """Whether ``entry`` is not an image to run but something about one.

    BuildKit marks attestation manifests with an annotation and the platform
    ``unknown/unknown``, so that runtimes never pick them; either sign is enough.
    """
    if entry.annotation(REFERENCE_TYPE_ANNOTATION) == ATTESTATION_MANIFEST:
        return True
    platform = entry.platform
    return platform is not None and platform.os == _UNKNOWN and platform.architecture == _UNKNOWN


def image_entries(index: Index) -> list[Descriptor]:
    """The runnable image manifests of ``index``, in index order."""
    return [
        entry
        for entry in index.manifests
        if entry.media_type in IMAGE_MANIFEST_MEDIA_TYPES and not is_attestation(entry)
    ]


def platforms(index: Index) -> tuple[Platform, ...]:
    """Platforms of the runnable images, in index order, without duplicates."""
    found: dict[Platform, None] = {}
    for entry in image_entries(index):
        if entry.platform is not None:
            found[to_platform(entry.platform)] = None
    return tuple(found)


def entry_for(index: Index, platform: Platform) -> Descriptor | None:
    """The image for ``platform``, else the first image; ``None`` if there is none.

    An exact match wins; otherwise OS and architecture decide when either side
    names no variant (``linux/arm64`` runs ``linux/arm64/v8``), as container runtimes do.
    """
    entries = image_entries(index)
    loose: Descriptor | None = None
    for entry in entries:
        if entry.platform is None:
            continue
        candidate = to_platform(entry.platform)
        if candidate == platform:
            return entry
        same_machine = (candidate.os, candidate.architecture) == (
            platform.os,
            platform.architecture,
        )
        if (
            loose is None
            and same_machine
            and (candidate.variant is None or platform.variant is None)
        ):
            loose = entry
    if loose is not None:
        return loose
    return entries[0] if entries else None


def attestation_for(index: Index, image_digest: str) -> Descriptor | None:
    """The attestation manifest BuildKit attached to the image ``image_digest``."""
    for entry in index.manifests:
        if (
            entry.annotation(REFERENCE_TYPE_ANNOTATION) == ATTESTATION_MANIFEST
            and entry.annotation(REFERENCE_DIGEST_ANNOTATION) == image_digest
        ):
            return entry
    return None


def to_platform(platform: WirePlatform) -> Platform:
    return Platform(
        os=platform.os, architecture=platform.architecture, variant=platform.variant or None
    )
