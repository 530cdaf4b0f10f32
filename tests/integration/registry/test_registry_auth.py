"""Authentication against real registries: htpasswd (Basic), a token service
(Bearer), credentials from a docker config, and HTTPS with a private CA."""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from imagegate.registry import (
    Credentials,
    RegistryAuthError,
    RegistryClient,
    RegistrySettings,
    RegistryUnavailableError,
    credentials_from_docker_config,
)
from imagegate.tls import generate_certificates
from imagegate.tracking import ImageReference, Platform, utc_now
from support.registry import (
    LocalRegistry,
    OciPusher,
    RequestLog,
    TokenRealm,
    htpasswd_line,
    push_image,
    unique_repository,
)

AMD64 = Platform("linux", "amd64")
USER, PASSWORD = "ci-bot", "s3cret:with-colon"


@pytest.fixture(scope="module")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    local = LocalRegistry(
        work_dir=tmp_path_factory.mktemp("basic-registry"), htpasswd=htpasswd_line(USER, PASSWORD)
    )
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture
async def token_registry(tmp_path: Path) -> AsyncIterator[tuple[LocalRegistry, TokenRealm]]:
    realm = TokenRealm(tmp_path / "realm", username=USER, password=PASSWORD)
    await realm.start()
    local = LocalRegistry(work_dir=tmp_path / "registry", token_realm=realm)
    try:
        local.start()
        yield local, realm
    finally:
        local.stop()
        await realm.stop()


def basic_pusher(registry: LocalRegistry, session: aiohttp.ClientSession) -> OciPusher:
    header = Credentials(USER, PASSWORD).basic_authorization()
    return OciPusher(session, registry.url, authorization=lambda path: header)


def reference(registry: LocalRegistry, path: str, tag: str) -> ImageReference:
    return ImageReference(registry=registry.host, path=path, tag=tag, digest=None)


async def test_basic_auth_with_the_right_password(
    basic_registry: LocalRegistry,
    client: RegistryClient,
    push_session: aiohttp.ClientSession,
    request_log: RequestLog,
) -> None:
    path = unique_repository()
    image = await push_image(basic_pusher(basic_registry, push_session), path, tag="v1")

    facts = await client.facts(
        reference(basic_registry, path, "v1"),
        default_platform=AMD64,
        credentials=Credentials(USER, PASSWORD),
    )

    assert facts.digest == image.digest
    # Challenged once; after that the credentials go with every request.
    assert request_log.requests.count(f"HEAD /v2/{path}/manifests/v1") == 2
    assert len(request_log.requests) == 4


async def test_basic_auth_with_a_wrong_password_or_none(
    basic_registry: LocalRegistry, client: RegistryClient, push_session: aiohttp.ClientSession
) -> None:
    path = unique_repository()
    await push_image(basic_pusher(basic_registry, push_session), path, tag="v1")

    with pytest.raises(RegistryAuthError, match="refused the credentials"):
        await client.resolve(
            reference(basic_registry, path, "v1"), credentials=Credentials(USER, "wrong")
        )
    with pytest.raises(RegistryAuthError, match="requires credentials"):
        await client.resolve(reference(basic_registry, path, "v1"))


async def test_credentials_from_a_pull_secret(
    basic_registry: LocalRegistry, client: RegistryClient, push_session: aiohttp.ClientSession
) -> None:
    path = unique_repository()
    image = await push_image(basic_pusher(basic_registry, push_session), path, tag="v1")
    secret = json.dumps(
        {
            "auths": {
                f"https://{basic_registry.host}/v1/": {
                    "auth": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                }
            }
        }
    ).encode()

    credentials = credentials_from_docker_config(secret)[basic_registry.host]

    resolved = await client.resolve(reference(basic_registry, path, "v1"), credentials=credentials)
    assert resolved == image.digest


async def test_bearer_token_from_the_realm_is_fetched_and_reused(
    token_registry: tuple[LocalRegistry, TokenRealm],
    client: RegistryClient,
    push_session: aiohttp.ClientSession,
) -> None:
    registry, realm = token_registry
    path = unique_repository()
    pusher = OciPusher(
        push_session,
        registry.url,
        authorization=lambda repository: (
            f"Bearer {realm.mint(f'repository:{repository}:push,pull')}"
        ),
    )
    first = await push_image(pusher, path, tag="v1", labels={"n": "1"})
    second = await push_image(pusher, path, tag="v2", labels={"n": "2"})
    credentials = Credentials(USER, PASSWORD)

    one = await client.facts(
        reference(registry, path, "v1"), default_platform=AMD64, credentials=credentials
    )
    two = await client.facts(
        reference(registry, path, "v2"), default_platform=AMD64, credentials=credentials
    )

    assert (one.digest, dict(one.labels)) == (first.digest, {"n": "1"})
    assert (two.digest, dict(two.labels)) == (second.digest, {"n": "2"})
    assert realm.requests == 1, "one token for the repository, reused until it expires"


async def test_bearer_with_wrong_or_no_credentials(
    token_registry: tuple[LocalRegistry, TokenRealm],
    client: RegistryClient,
    push_session: aiohttp.ClientSession,
) -> None:
    registry, realm = token_registry
    path = unique_repository()
    pusher = OciPusher(
        push_session,
        registry.url,
        authorization=lambda repository: (
            f"Bearer {realm.mint(f'repository:{repository}:push,pull')}"
        ),
    )
    await push_image(pusher, path, tag="v1")

    with pytest.raises(RegistryAuthError, match=r"token service .* refused the credentials"):
        await client.resolve(
            reference(registry, path, "v1"), credentials=Credentials(USER, "wrong")
        )
    # Anonymous: the realm issues a token that grants nothing, which the registry refuses.
    with pytest.raises(RegistryAuthError, match="requires credentials"):
        await client.resolve(reference(registry, path, "v1"))


async def test_https_registry_with_a_private_ca(tmp_path: Path) -> None:
    certificates = generate_certificates(
        dns_names=["registry.test"], ip_addresses=["127.0.0.1"], now=utc_now()
    )
    (tmp_path / "tls.crt").write_bytes(certificates.tls_cert)
    (tmp_path / "tls.key").write_bytes(certificates.tls_key)
    local = LocalRegistry(
        work_dir=tmp_path / "registry",
        tls_cert=tmp_path / "tls.crt",
        tls_key=tmp_path / "tls.key",
    )
    local.start()
    trusting = ssl.create_default_context(cadata=certificates.ca_cert.decode())
    # Loopback registries are plain HTTP by default; this one is configured as HTTPS.
    settings = RegistrySettings(insecure_registries=frozenset())
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trusting)) as session:
            image = await push_image(OciPusher(session, local.url), "app/web", tag="v1")
            client = RegistryClient(settings, session=session)
            facts = await client.facts(reference(local, "app/web", "v1"), default_platform=AMD64)
            assert facts.digest == image.digest

        async with aiohttp.ClientSession() as untrusting:
            with pytest.raises(RegistryUnavailableError, match="TLS"):
                await RegistryClient(settings, session=untrusting).resolve(
                    reference(local, "app/web", "v1")
                )
    finally:
        local.stop()
