"""The registry client: what a tag names, and what an image digest is.

Speaks the OCI distribution API (``/v2/<name>/manifests/<reference>``,
``/v2/<name>/blobs/<digest>``) and reads OCI image indexes and manifests and their
Docker v2 equivalents. Every document fetched by digest is checked against it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import MappingProxyType, TracebackType
from typing import Self, TypeVar

import aiohttp
import msgspec
from yarl import URL

from imagegate.facts import ImageFacts, Provenance
from imagegate.registry._auth import Credentials
from imagegate.registry._digest import checked_digest, digest_of, verify_digest
from imagegate.registry._errors import ImageNotFoundError, RegistryProtocolError
from imagegate.registry._index import attestation_for, entry_for, platforms
from imagegate.registry._provenance import (
    PROVENANCE_PREDICATE_TYPES,
    provenance_from_statement,
)
from imagegate.registry._settings import RegistrySettings
from imagegate.registry._transport import RegistryTransport, Target
from imagegate.registry._wire import (
    ACCEPT_MANIFESTS,
    IMAGE_CONFIG_MEDIA_TYPES,
    IMAGE_MANIFEST_MEDIA_TYPES,
    INDEX_MEDIA_TYPES,
    MANIFEST_MEDIA_TYPES,
    PREDICATE_TYPE_ANNOTATION,
    Descriptor,
    ImageConfig,
    Index,
    Manifest,
    MediaTyped,
)
from imagegate.tracking import DEFAULT_REGISTRY, ImageReference, Platform

DOCKER_HUB_HOST = "registry-1.docker.io"
"""Where the API of ``docker.io`` is served."""
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
"""Largest manifest read; registries refuse to store bigger ones."""
MAX_BLOB_BYTES = 16 * 1024 * 1024
"""Largest config or attestation read (provenance with ``mode=max`` runs to megabytes)."""

_Document = TypeVar("_Document")


class RegistryClient:
    """Asks registries what tags name and what images are, over one aiohttp session.

    Give it a session to share one, or let it own one (closed by :meth:`close` or
    ``async with``). Not cached: wrap it in :class:`FactsCache` for that.
    """

    def __init__(
        self,
        settings: RegistrySettings | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or RegistrySettings()
        self._session = session
        self._owns_session = session is None
        self._transport = RegistryTransport(
            session=self._current_session, settings=self.settings, clock=clock
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session if this client made it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def resolve(
        self, reference: ImageReference, *, credentials: Credentials | None = None
    ) -> str:
        """The digest ``reference`` names now: its tag's, or its digest once confirmed.

        Raises ImageNotFoundError, RegistryAuthError, RegistryUnavailableError or
        RegistryProtocolError.
        """
        target = _target(reference, credentials)
        name = reference.digest or reference.tag or "latest"
        response = await self._transport.request(
            "HEAD",
            self._manifest_url(reference, name),
            target=target,
            headers={"Accept": ACCEPT_MANIFESTS},
            max_bytes=0,
            what=f"manifest {reference.path}:{name}",
        )
        header = response.headers.get("Docker-Content-Digest")
        if header is not None:
            digest = checked_digest(header, what="Docker-Content-Digest")
            if reference.digest is not None and digest != reference.digest:
                raise RegistryProtocolError(
                    f"asked for {reference.digest}, the registry named {digest}",
                    reference=str(reference),
                )
            return digest
        # The header is optional in the distribution spec: hash what the tag serves.
        body, _ = await self._manifest(target, reference, name)
        return reference.digest or digest_of(body)

    async def facts(
        self,
        reference: ImageReference,
        *,
        default_platform: Platform,
        credentials: Credentials | None = None,
    ) -> ImageFacts:
        """Platforms, labels, creation time and provenance of the image ``reference`` names.

        For an index, labels and creation time are those of the image for
        ``default_platform`` (else of the first image), and provenance comes from the
        BuildKit attestation attached to that image. Raises as :meth:`resolve` does.
        """
        digest = reference.digest or await self.resolve(reference, credentials=credentials)
        target = _target(reference, credentials)
        body, media_type = await self._manifest(target, reference, digest)
        if media_type in INDEX_MEDIA_TYPES:
            index = _decode(body, Index, what=f"index {digest}", target=target)
            return await self._index_facts(
                target,
                reference,
                digest=digest,
                media_type=media_type,
                index=index,
                default_platform=default_platform,
            )
        manifest = _decode(body, Manifest, what=f"manifest {digest}", target=target)
        config = await self._config(target, reference, manifest)
        platform = Platform(
            os=config.os, architecture=config.architecture, variant=config.variant or None
        )
        return ImageFacts(
            digest=digest,
            media_type=media_type,
            platforms=(platform,),
            labels=_labels(config),
            created=_created(config, target=target),
        )

    async def _index_facts(
        self,
        target: Target,
        reference: ImageReference,
        *,
        digest: str,
        media_type: str,
        index: Index,
        default_platform: Platform,
    ) -> ImageFacts:
        entry = entry_for(index, default_platform)
        if entry is None:
            raise RegistryProtocolError(
                f"index {digest} lists no image manifest", reference=target.reference
            )
        image_body, _ = await self._child_manifest(target, reference, entry)
        image = _decode(image_body, Manifest, what=f"manifest {entry.digest}", target=target)
        config = await self._config(target, reference, image)
        attestation = attestation_for(index, entry.digest)
        provenance = await self._provenance(target, reference, attestation) if attestation else None
        return ImageFacts(
            digest=digest,
            media_type=media_type,
            platforms=platforms(index),
            labels=_labels(config),
            created=_created(config, target=target),
            provenance=provenance,
        )

    async def _provenance(
        self, target: Target, reference: ImageReference, attestation: Descriptor
    ) -> Provenance | None:
        body, _ = await self._child_manifest(target, reference, attestation)
        manifest = _decode(
            body, Manifest, what=f"attestation manifest {attestation.digest}", target=target
        )
        for predicate_type in PROVENANCE_PREDICATE_TYPES:
            for layer in manifest.layers:
                if layer.annotation(PREDICATE_TYPE_ANNOTATION) == predicate_type:
                    statement = await self._blob(target, reference, layer, what="provenance")
                    try:
                        return provenance_from_statement(statement)
                    except RegistryProtocolError as e:
                        raise RegistryProtocolError(
                            f"provenance {layer.digest}: {e.message}", reference=target.reference
                        ) from e
        return None

    async def _config(
        self, target: Target, reference: ImageReference, manifest: Manifest
    ) -> ImageConfig:
        descriptor = manifest.config
        if descriptor.media_type not in IMAGE_CONFIG_MEDIA_TYPES:
            raise RegistryProtocolError(
                f"not a container image: config media type {descriptor.media_type!r}",
                reference=target.reference,
            )
        body = await self._blob(target, reference, descriptor, what="image config")
        return _decode(body, ImageConfig, what=f"image config {descriptor.digest}", target=target)

    async def _manifest(
        self, target: Target, reference: ImageReference, name: str
    ) -> tuple[bytes, str]:
        """The manifest ``name`` (tag or digest) serves, checked if a digest, and its type."""
        response = await self._transport.request(
            "GET",
            self._manifest_url(reference, name),
            target=target,
            headers={"Accept": ACCEPT_MANIFESTS},
            max_bytes=MAX_MANIFEST_BYTES,
            what=f"manifest {reference.path}@{name}" if ":" in name else f"manifest {name}",
        )
        if ":" in name:
            verify_digest(response.body, name, what=f"manifest {name}")
        declared = _decode(response.body, MediaTyped, what=f"manifest {name}", target=target)
        content_type = response.headers.get("Content-Type", "").partition(";")[0].strip()
        media_type = _media_type_of(
            declared.media_type or content_type, MANIFEST_MEDIA_TYPES, target
        )
        return response.body, media_type

    async def _child_manifest(
        self, target: Target, reference: ImageReference, entry: Descriptor
    ) -> tuple[bytes, str]:
        _media_type_of(entry.media_type, IMAGE_MANIFEST_MEDIA_TYPES, target)
        digest = checked_digest(entry.digest, what="a descriptor's digest")
        try:
            return await self._manifest(target, reference, digest)
        except ImageNotFoundError as e:
            raise _dangling(entry, target, e) from e

    async def _blob(
        self, target: Target, reference: ImageReference, descriptor: Descriptor, *, what: str
    ) -> bytes:
        digest = checked_digest(descriptor.digest, what="a descriptor's digest")
        url = self._base_url(reference.registry) / "v2" / reference.path / "blobs" / digest
        try:
            response = await self._transport.request(
                "GET",
                url,
                target=target,
                headers={},
                max_bytes=MAX_BLOB_BYTES,
                what=f"{what} {digest}",
            )
        except ImageNotFoundError as e:
            raise _dangling(descriptor, target, e) from e
        verify_digest(response.body, digest, what=f"{what} {digest}")
        return response.body

    def _manifest_url(self, reference: ImageReference, name: str) -> URL:
        return self._base_url(reference.registry) / "v2" / reference.path / "manifests" / name

    def _base_url(self, registry: str) -> URL:
        host = DOCKER_HUB_HOST if registry == DEFAULT_REGISTRY else registry
        plain = registry in self.settings.insecure_registries or _host_of(registry) in (
            self.settings.insecure_registries
        )
        return URL(f"{'http' if plain else 'https'}://{host}")

    def _current_session(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running event loop, as aiohttp wants.
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session


def _target(reference: ImageReference, credentials: Credentials | None) -> Target:
    return Target(
        registry=reference.registry,
        repository_path=reference.path,
        reference=str(reference),
        credentials=credentials,
    )


def _host_of(registry: str) -> str:
    if registry.startswith("["):
        return registry.partition("]")[0] + "]"
    return registry.partition(":")[0]


def _decode(body: bytes, kind: type[_Document], *, what: str, target: Target) -> _Document:
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.DecodeError as e:
        raise RegistryProtocolError(f"{what} is not valid: {e}", reference=target.reference) from e


def _media_type_of(media_type: str, allowed: frozenset[str], target: Target) -> str:
    if media_type not in allowed:
        raise RegistryProtocolError(
            f"unsupported media type {media_type or '(none)'!r}; expected one of "
            + ", ".join(sorted(allowed)),
            reference=target.reference,
        )
    return media_type


def _dangling(
    descriptor: Descriptor, target: Target, error: ImageNotFoundError
) -> RegistryProtocolError:
    # The image exists but refers to content the registry lacks: a broken image, not
    # a missing one.
    return RegistryProtocolError(
        f"the image refers to {descriptor.digest}, which the registry does not have "
        f"({error.message})",
        reference=target.reference,
    )


def _labels(config: ImageConfig) -> MappingProxyType[str, str]:
    labels = config.config.labels if config.config is not None else None
    return MappingProxyType(dict(labels or {}))


def _created(config: ImageConfig, *, target: Target) -> datetime | None:
    if not config.created:
        return None
    try:
        created = datetime.fromisoformat(config.created)
    except ValueError as e:
        raise RegistryProtocolError(
            f"image config has an unreadable 'created' time {config.created!r}",
            reference=target.reference,
        ) from e
    return created if created.tzinfo is not None else created.replace(tzinfo=UTC)
