"""Choosing the image of an index for a platform, as container runtimes do."""

from __future__ import annotations

from imagegate.registry._index import attestation_for, entry_for, platforms
from imagegate.registry._wire import (
    OCI_MANIFEST,
    Descriptor,
    Index,
    WirePlatform,
)
from imagegate.tracking import Platform


def entry(n: int, os: str, architecture: str, variant: str | None = None) -> Descriptor:
    return Descriptor(
        media_type=OCI_MANIFEST,
        digest=f"sha256:{n:064x}",
        size=100,
        platform=WirePlatform(architecture=architecture, os=os, variant=variant),
    )


def attestation(n: int, of: Descriptor) -> Descriptor:
    return Descriptor(
        media_type=OCI_MANIFEST,
        digest=f"sha256:{n:064x}",
        size=100,
        platform=WirePlatform(architecture="unknown", os="unknown"),
        annotations={
            "vnd.docker.reference.type": "attestation-manifest",
            "vnd.docker.reference.digest": of.digest,
        },
    )


AMD64 = entry(1, "linux", "amd64")
ARM_V7 = entry(2, "linux", "arm", "v7")
ARM64_V8 = entry(3, "linux", "arm64", "v8")
INDEX = Index(manifests=[AMD64, ARM_V7, ARM64_V8, attestation(9, AMD64)])


def test_platforms_leave_attestations_out() -> None:
    assert platforms(INDEX) == (
        Platform("linux", "amd64"),
        Platform("linux", "arm", "v7"),
        Platform("linux", "arm64", "v8"),
    )


def test_exact_match_then_variant_agnostic_then_first() -> None:
    assert entry_for(INDEX, Platform("linux", "arm", "v7")) is ARM_V7
    assert entry_for(INDEX, Platform("linux", "arm64")) is ARM64_V8
    assert entry_for(INDEX, Platform("linux", "arm", "v6")) is AMD64
    assert entry_for(INDEX, Platform("windows", "amd64")) is AMD64


def test_an_index_of_attestations_only_has_no_image() -> None:
    assert entry_for(Index(manifests=[attestation(9, AMD64)]), Platform()) is None


def test_the_attestation_is_found_by_the_digest_it_refers_to() -> None:
    assert attestation_for(INDEX, AMD64.digest) == attestation(9, AMD64)
    assert attestation_for(INDEX, ARM_V7.digest) is None
