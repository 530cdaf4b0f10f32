"""RegistryClient against a real registry: resolving, facts of indexes and images,
provenance, and the errors a caller decides on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from imagegate.facts import Provenance
from imagegate.registry import (
    ImageNotFoundError,
    RegistryClient,
    RegistryProtocolError,
    RegistrySettings,
    RegistryUnavailableError,
)
from imagegate.tracking import ImageReference, Platform, parse_reference
from support.registry import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    LocalRegistry,
    OciPusher,
    Pushed,
    RequestLog,
    push_attestation,
    push_image,
    push_index,
    slsa_v02_statement,
    slsa_v1_statement,
    unique_repository,
)

AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64")


def ref(
    registry: LocalRegistry, path: str, tag: str | None = None, digest: str | None = None
) -> ImageReference:
    return ImageReference(registry=registry.host, path=path, tag=tag, digest=digest)


async def push_multi_arch(
    pusher: OciPusher, path: str, *, tag: str = "v1", attestations: bool = False, **statement: Any
) -> tuple[Pushed, Pushed, Pushed]:
    amd64 = await push_image(
        pusher,
        path,
        platform=AMD64,
        labels={"arch": "amd64", "org.opencontainers.image.title": "web"},
    )
    arm64 = await push_image(
        pusher,
        path,
        platform=Platform("linux", "arm64", "v8"),
        labels={"arch": "arm64"},
        created="2024-05-02T08:00:00Z",
    )
    pushed_attestations = []
    if attestations:
        for image in (amd64, arm64):
            pushed_attestations.append(
                await push_attestation(pusher, path, [slsa_v02_statement(image, **statement)])
            )
    index = await push_index(
        pusher,
        path,
        [(amd64, AMD64), (arm64, Platform("linux", "arm64", "v8"))],
        attestations=pushed_attestations,
        tag=tag,
    )
    return index, amd64, arm64


async def test_resolve_a_tag_to_the_digest_pushed(
    client: RegistryClient, pusher: OciPusher, registry: LocalRegistry
) -> None:
    path = unique_repository()
    index, _, _ = await push_multi_arch(pusher, path)
    assert await client.resolve(ref(registry, path, "v1")) == index.digest
    assert await client.resolve(ref(registry, path, digest=index.digest)) == index.digest


async def test_resolve_a_reference_as_users_write_it(
    client: RegistryClient, pusher: OciPusher, registry: LocalRegistry
) -> None:
    path = unique_repository()
    image = await push_image(pusher, path, tag="1.0")
    assert await client.resolve(parse_reference(f"{registry.host}/{path}:1.0")) == image.digest


async def test_facts_of_a_multi_arch_index(
    client: RegistryClient, pusher: OciPusher, registry: LocalRegistry
) -> None:
    path = unique_repository()
    index, _, _ = await push_multi_arch(pusher, path)

    facts = await client.facts(ref(registry, path, "v1"), default_platform=AMD64)

    assert facts.digest == index.digest
    assert facts.media_type == OCI_INDEX
    assert facts.platforms == (AMD64, Platform("linux", "arm64", "v8"))
    assert dict(facts.labels) == {"arch": "amd64", "org.opencontainers.image.title": "web"}
    assert facts.created == datetime(2024, 5, 1, 12, 30, 0, 123456, tzinfo=UTC)
    assert facts.provenance is None


async def test_labels_are_those_of_the_default_platform(
    client: RegistryClient, pusher: OciPusher, registry: LocalRegistry
) -> None:
    path = unique_repository()
    await push_multi_arch(pusher, path)

    # linux/arm64 runs the linux/arm64/v8 image, as container runtimes match it.
    arm = await client.facts(ref(registry, path, "v1"), default_platform=ARM64)
    assert dict(arm.labels) == {"arch": "arm64"}
    assert arm.created == datetime(2024, 5, 2, 8, 0, tzinfo=UTC)

    # No image for the platform: the first image speaks for the index.
    other = await client.facts(
        ref(registry, path, "v1"), default_platform=Platform("linux", "s390x")
    )
    assert dict(other.labels)["arch"] == "amd64"


async def test_facts_of_a_single_arch_docker_image(
    client: RegistryClient, pusher: OciPusher, registry: LocalRegistry
) -> None:
    path = unique_repository()
    image = await push_image(
        pusher,
        path,
        platform=Platform("linux", "arm", "v7"),
        labels={"maintainer": "platform-team"},
        docker=True,
        tag="stable",
    )

    facts = await client.facts(ref(registry, path, "stable"), default_platform=AMD64)

    assert facts.digest == image.digest
    assert facts.media_type == DOCKER_MANIFEST
    assert facts.platforms == (Platform("linux", "arm", "v7"),)
    assert dict(facts.labels) == {"maintainer": "platform-team"}
    assert facts.provenance is None


async def test_an_image_without_labels_or_creation_time(
    client: RegistryClient, pusher: OciPusher, registry: LocalRegistry
) -> None:
    path = unique_repository()
    image = await push_image(pusher, path, labels=None, created=None)

    facts = await client.facts(ref(registry, path, digest=image.digest), default_platform=AMD64)

    assert dict(facts.labels) == {}
    assert facts.created is None
    assert facts.platforms == (AMD64,)


async def test_a_docker_manifest_list(
    client: RegistryClient, pusher: OciPusher, registry: LocalRegistry
) -> None:
    path = unique_repository()
    amd64 = await push_image(pusher, path, platform=AMD64, labels={"a": "1"}, docker=True)
    arm64 = await push_image(pusher, path, platform=ARM64, labels={"a": "2"}, docker=True)
    listed = await push_index(
        pusher, path, [(amd64, AMD64), (arm64, ARM64)], tag="latest", docker=True
    )

    facts = await client.facts(ref(registry, path, "latest"), default_platform=ARM64)

    assert (facts.digest, facts.media_type) == (listed.digest, DOCKER_LIST)
    assert facts.platforms == (AMD64, ARM64)
    assert dict(facts.labels) == {"a": "2"}


SOURCE = (
    "https://github.com/acme/web.git#refs/heads/main",
    "4b220de5058abfd01ff619c9d2ff6b09a049bea0",
)
VCS = ("https://github.com/acme/web.git", "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432")
BUILDER = "https://github.com/acme/web/actions/runs/3709599520"


@pytest.mark.parametrize(
    ("make_statement", "statement_arguments", "expected"),
    [
        pytest.param(
            slsa_v02_statement,
            {"builder_id": BUILDER, "config_source": SOURCE},
            Provenance(BUILDER, "https://github.com/acme/web", SOURCE[1]),
            id="v0.2-git-context",
        ),
        pytest.param(
            slsa_v02_statement,
            {"builder_id": BUILDER, "vcs": VCS},
            Provenance(BUILDER, "https://github.com/acme/web", VCS[1]),
            id="v0.2-local-checkout",
        ),
        pytest.param(
            slsa_v1_statement,
            {"builder_id": BUILDER, "config_source": SOURCE, "vcs": VCS},
            Provenance(BUILDER, "https://github.com/acme/web", SOURCE[1]),
            id="v1-git-context",
        ),
        pytest.param(
            slsa_v1_statement,
            {"vcs": VCS},
            Provenance(None, "https://github.com/acme/web", VCS[1]),
            id="v1-local-checkout-no-builder",
        ),
    ],
)
async def test_provenance_from_the_buildkit_attestation(
    client: RegistryClient,
    pusher: OciPusher,
    registry: LocalRegistry,
    make_statement: Any,
    statement_arguments: dict[str, Any],
    expected: Provenance,
) -> None:
    path = unique_repository()
    amd64 = await push_image(pusher, path, platform=AMD64)
    arm64 = await push_image(pusher, path, platform=ARM64)
    sbom = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://spdx.dev/Document",
        "subject": [],
        "predicate": {},
    }
    attestations = [
        await push_attestation(pusher, path, [sbom, make_statement(amd64, **statement_arguments)]),
        await push_attestation(
            pusher, path, [make_statement(arm64, builder_id="https://other.example/run/1")]
        ),
    ]
    await push_index(
        pusher, path, [(amd64, AMD64), (arm64, ARM64)], attestations=attestations, tag="v1"
    )

    facts = await client.facts(ref(registry, path, "v1"), default_platform=AMD64)

    assert facts.platforms == (AMD64, ARM64), "attestation manifests are not platforms"
    assert facts.provenance == expected
    arm = await client.facts(ref(registry, path, "v1"), default_platform=ARM64)
    assert arm.provenance is not None
    assert arm.provenance.builder_id == "https://other.example/run/1"


async def test_not_found(
    client: RegistryClient, pusher: OciPusher, registry: LocalRegistry
) -> None:
    path = unique_repository()
    await push_image(pusher, path, tag="v1")
    with pytest.raises(ImageNotFoundError, match="v2"):
        await client.resolve(ref(registry, path, "v2"))
    with pytest.raises(ImageNotFoundError):
        await client.facts(ref(registry, "no/such/repository", "v1"), default_platform=AMD64)
    with pytest.raises(ImageNotFoundError):
        await client.facts(ref(registry, path, digest="sha256:" + "0" * 64), default_platform=AMD64)


async def test_a_manifest_whose_bytes_do_not_match_its_digest_is_refused(
    client: RegistryClient, pusher: OciPusher, registry: LocalRegistry
) -> None:
    path = unique_repository()
    image = await push_image(pusher, path, manifest_annotations={"org.example.note": "aaaa"})
    stored = registry.blob_path(image.digest)
    # Same length, still a valid manifest: only the digest can tell it changed.
    stored.write_bytes(stored.read_bytes().replace(b'"aaaa"', b'"bbbb"'))

    with pytest.raises(RegistryProtocolError, match="does not match its digest"):
        await client.facts(ref(registry, path, digest=image.digest), default_platform=AMD64)


async def test_a_config_whose_bytes_do_not_match_its_digest_is_refused(
    client: RegistryClient, pusher: OciPusher, registry: LocalRegistry
) -> None:
    path = unique_repository()
    image = await push_image(pusher, path, labels={"team": "aaaa"})
    manifest = await pusher.fetch_manifest(path, image.digest)
    stored = registry.blob_path(manifest["config"]["digest"])
    stored.write_bytes(stored.read_bytes().replace(b'"aaaa"', b'"bbbb"'))

    with pytest.raises(RegistryProtocolError, match=r"image config .* does not match"):
        await client.facts(ref(registry, path, digest=image.digest), default_platform=AMD64)


async def test_a_stopped_registry_is_unavailable_at_once(
    tmp_path: Path, http: aiohttp.ClientSession, push_session: aiohttp.ClientSession
) -> None:
    local = LocalRegistry(work_dir=tmp_path / "registry")
    local.start()
    try:
        image = await push_image(OciPusher(push_session, local.url), "app/web", tag="v1")
    finally:
        local.stop()
    client = RegistryClient(RegistrySettings(timeout_s=5.0), session=http)

    started = time.monotonic()
    with pytest.raises(RegistryUnavailableError, match="could not be reached"):
        await asyncio.wait_for(
            client.facts(ref(local, "app/web", digest=image.digest), default_platform=AMD64),
            timeout=10,
        )
    assert time.monotonic() - started < 2, "connection refused must not wait for the timeout"


async def test_a_registry_that_never_answers_times_out(http: aiohttp.ClientSession) -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # read nothing, answer nothing

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = RegistryClient(RegistrySettings(timeout_s=0.3), session=http)
    try:
        started = time.monotonic()
        with pytest.raises(RegistryUnavailableError, match=r"within 0\.3s"):
            await asyncio.wait_for(
                client.resolve(ImageReference(f"127.0.0.1:{port}", "app/web", "v1", None)),
                timeout=5,
            )
        assert time.monotonic() - started < 2
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_client_owns_its_session_when_given_none(
    pusher: OciPusher, registry: LocalRegistry
) -> None:
    path = unique_repository()
    image = await push_image(pusher, path, tag="v1")
    async with RegistryClient() as client:
        assert await client.resolve(ref(registry, path, "v1")) == image.digest


async def test_requests_stay_within_the_repository(
    client: RegistryClient, pusher: OciPusher, registry: LocalRegistry, request_log: RequestLog
) -> None:
    path = unique_repository()
    index, amd64, _ = await push_multi_arch(pusher, path)
    request_log.clear()

    await client.facts(ref(registry, path, "v1"), default_platform=AMD64)

    assert request_log.requests[:3] == [
        f"HEAD /v2/{path}/manifests/v1",
        f"GET /v2/{path}/manifests/{index.digest}",
        f"GET /v2/{path}/manifests/{amd64.digest}",
    ]
    assert len(request_log.requests) == 4
    assert request_log.requests[3].startswith(f"GET /v2/{path}/blobs/sha256:")


@pytest.fixture
async def digestless_proxy(registry: LocalRegistry) -> AsyncIterator[str]:
    """A proxy in front of the registry that drops ``Docker-Content-Digest`` (an
    optional header in the distribution spec); yields its ``host:port``."""
    async with aiohttp.ClientSession() as upstream:

        async def forward(request: web.Request) -> web.Response:
            headers = {
                name: request.headers[name] for name in ("Accept",) if name in request.headers
            }
            async with upstream.request(
                request.method, f"{registry.url}{request.rel_url}", headers=headers
            ) as answer:
                body = await answer.read()
                kept = {
                    name: value
                    for name, value in answer.headers.items()
                    if name.lower() in ("content-type", "www-authenticate")
                }
                return web.Response(status=answer.status, body=body, headers=kept)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", forward)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            port = runner.addresses[0][1]
            yield f"127.0.0.1:{port}"
        finally:
            await runner.cleanup()


async def test_without_the_digest_header_the_manifest_is_hashed(
    client: RegistryClient,
    pusher: OciPusher,
    digestless_proxy: str,
    request_log: RequestLog,
) -> None:
    path = unique_repository()
    index, _, _ = await push_multi_arch(pusher, path)
    through_proxy = ImageReference(digestless_proxy, path, "v1", None)

    assert await client.resolve(through_proxy) == index.digest
    assert request_log.requests == [
        f"HEAD /v2/{path}/manifests/v1",
        f"GET /v2/{path}/manifests/v1",
    ]
    facts = await client.facts(through_proxy, default_platform=AMD64)
    assert facts.digest == index.digest
