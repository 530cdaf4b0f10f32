"""A real OCI registry for tests, and real content pushed into it.

``LocalRegistry`` runs Debian's ``docker-registry`` (CNCF distribution 2.8) as its
own process on a free loopback port, with filesystem storage in a temporary
directory: anonymous, or behind htpasswd (Basic) or token (Bearer) auth, over HTTP
or TLS. ``TokenRealm`` is the token service for the Bearer variant. ``OciPusher``
uploads blobs and manifests through the distribution API, and the ``push_*``
helpers build images as BuildKit does: multi-arch OCI indexes, Docker v2
manifests, attestation manifests with SLSA provenance.

Without the binaries (``apt-get install docker-registry apache2-utils``) tests are
skipped with a message, or fail when ``CI`` is set: CI must never pass by skipping.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import shutil
import ssl
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from testbed.controlplane import ManagedProcess
from yarl import URL

from imagegate.tls import generate_certificates
from imagegate.tracking import Platform, utc_now
from support.processes import free_port

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
IN_TOTO = "application/vnd.in-toto+json"
SLSA_V02 = "https://slsa.dev/provenance/v0.2"
SLSA_V1 = "https://slsa.dev/provenance/v1"

_REGISTRY_BINARY = "docker-registry"
_HTPASSWD_BINARY = "htpasswd"
TOKEN_SERVICE = "imagegate-test-registry"
TOKEN_ISSUER = "imagegate-test-token-issuer"
_DEFAULT_PLATFORM = Platform()


def required_binary(name: str, package: str) -> str:
    """Path of ``name``; skip the test without it, or fail it when ``CI`` is set."""
    found = shutil.which(name)
    if found is None:
        message = (
            f"{name} is not installed: `apt-get install -y {package}` "
            "(the registry tests run a real registry)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def htpasswd_line(username: str, password: str) -> str:
    """A bcrypt htpasswd line (the only hash the registry's htpasswd auth accepts)."""
    binary = required_binary(_HTPASSWD_BINARY, "apache2-utils")
    completed = subprocess.run(
        [binary, "-nbB", "-C", "4", username, password],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return completed.stdout.strip()


@dataclass
class LocalRegistry:
    """One ``docker-registry`` process; :meth:`start` waits until ``/v2/`` answers."""

    work_dir: Path
    htpasswd: str | None = None
    """htpasswd file content: the registry then asks for Basic credentials."""
    token_realm: TokenRealm | None = None
    """The registry then asks for Bearer tokens from this realm."""
    tls_cert: Path | None = None
    tls_key: Path | None = None
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = field(default=None, init=False)

    @property
    def host(self) -> str:
        """``127.0.0.1:<port>``: the registry part of image references."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        scheme = "https" if self.tls_cert else "http"
        return f"{scheme}://{self.host}"

    @property
    def storage(self) -> Path:
        return self.work_dir / "storage"

    def blob_path(self, digest: str) -> Path:
        """Where the filesystem driver keeps the bytes of ``digest`` (to corrupt them)."""
        algorithm, _, hex_digest = digest.partition(":")
        return (
            self.storage
            / "docker/registry/v2/blobs"
            / algorithm
            / hex_digest[:2]
            / hex_digest
            / "data"
        )

    def start(self) -> None:
        binary = required_binary(_REGISTRY_BINARY, "docker-registry")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        config = self.work_dir / "config.yml"
        config.write_text(json.dumps(self._config()))  # JSON is YAML
        self.process = ManagedProcess(
            name="docker-registry",
            command=[binary, "serve", str(config)],
            log_path=self.work_dir / "registry.log",
            env={
                key: value for key, value in os.environ.items() if not key.startswith("REGISTRY_")
            },
        )
        self.process.start()
        self.process.wait_until(self._answers, what="an answer on /v2/")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def log_tail(self, lines: int = 40) -> str:
        return self.process.log_tail(lines) if self.process else "(not started)"

    def _config(self) -> dict[str, Any]:
        http: dict[str, Any] = {"addr": self.host, "secret": uuid.uuid4().hex}
        if self.tls_cert and self.tls_key:
            http["tls"] = {"certificate": str(self.tls_cert), "key": str(self.tls_key)}
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "info"},
            "storage": {"filesystem": {"rootdirectory": str(self.storage)}},
            "http": http,
        }
        if self.htpasswd is not None:
            path = self.work_dir / "htpasswd"
            path.write_text(self.htpasswd + "\n")
            config["auth"] = {"htpasswd": {"realm": "imagegate-test", "path": str(path)}}
        elif self.token_realm is not None:
            config["auth"] = {
                "token": {
                    "realm": self.token_realm.url,
                    "service": TOKEN_SERVICE,
                    "issuer": TOKEN_ISSUER,
                    "rootcertbundle": str(self.token_realm.root_bundle),
                }
            }
        return config

    def _answers(self) -> bool:
        # 200, or 401 when auth is on: either way the registry is serving.
        context = None
        if self.tls_cert:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            with urllib.request.urlopen(f"{self.url}/v2/", timeout=2, context=context) as answer:
                return bool(answer.status == 200)
        except urllib.error.HTTPError as e:
            return e.code == 401
        except (urllib.error.URLError, OSError):
            return False


class TokenRealm:
    """A docker token service: checks Basic credentials, issues ES256 JWTs.

    The registry trusts the CA in ``root_bundle`` and verifies each token's ``x5c``
    chain against it. Known credentials get the requested actions; anonymous
    callers get a token granting nothing; wrong credentials get 401.
    """

    def __init__(self, work_dir: Path, *, username: str, password: str) -> None:
        certificates = generate_certificates(dns_names=["token-issuer.test"], now=utc_now())
        work_dir.mkdir(parents=True, exist_ok=True)
        self.root_bundle = work_dir / "token-ca.pem"
        self.root_bundle.write_bytes(certificates.ca_cert)
        key = serialization.load_pem_private_key(certificates.tls_key, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        self._key = key
        leaf = x509.load_pem_x509_certificate(certificates.tls_cert)
        self._x5c = [base64.b64encode(leaf.public_bytes(serialization.Encoding.DER)).decode()]
        self._username, self._password = username, password
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/token"
        self.requests = 0
        """Token requests served, to see that tokens are reused."""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/token", self._token)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def mint(self, scope: str, *, subject: str = "", lifetime_s: int = 300) -> str:
        """A signed token granting ``scope`` (``repository:<name>:<actions>``)."""
        now = int(time.time())
        access = []
        if scope:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        header = {"typ": "JWT", "alg": "ES256", "x5c": self._x5c}
        claims = {
            "iss": TOKEN_ISSUER,
            "sub": subject,
            "aud": TOKEN_SERVICE,
            "exp": now + lifetime_s,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = f"{_b64url(json.dumps(header))}.{_b64url(json.dumps(claims))}"
        r, s = decode_dss_signature(
            self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        )
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return f"{signing_input}.{_b64url(signature)}"

    async def _token(self, request: web.Request) -> web.Response:
        self.requests += 1
        if request.query.get("service") != TOKEN_SERVICE:
            return web.json_response({"errors": [{"code": "DENIED"}]}, status=400)
        scope = request.query.get("scope", "")
        authorization = request.headers.get("Authorization")
        if authorization is None:
            return web.json_response({"token": self.mint(""), "expires_in": 300})
        expected = (
            "Basic " + base64.b64encode(f"{self._username}:{self._password}".encode()).decode()
        )
        if authorization != expected:
            return web.json_response(
                {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]}, status=401
            )
        return web.json_response(
            {"token": self.mint(scope, subject=self._username), "expires_in": 300}
        )


def _b64url(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class RequestLog:
    """Every HTTP request a session sent, as ``METHOD path``: to count registry round trips."""

    requests: list[str] = field(default_factory=list)

    def clear(self) -> None:
        self.requests.clear()

    def trace_config(self) -> aiohttp.TraceConfig:
        async def on_request_start(
            session: aiohttp.ClientSession,
            context: SimpleNamespace,
            params: aiohttp.TraceRequestStartParams,
        ) -> None:
            self.requests.append(f"{params.method} {params.url.path}")

        trace = aiohttp.TraceConfig()
        trace.on_request_start.append(on_request_start)
        return trace


# --- pushing content -------------------------------------------------------------------


@dataclass(frozen=True)
class Pushed:
    """A pushed blob or manifest, as a descriptor describes it."""

    media_type: str
    digest: str
    size: int

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size, **extra}


@dataclass
class OciPusher:
    """Uploads through the distribution API, as ``docker push`` and ``crane`` do."""

    session: aiohttp.ClientSession
    base_url: str
    authorization: Callable[[str], str | None] = lambda path: None
    """``Authorization`` header for pushing to repository ``path``, if one is needed."""

    async def blob(self, path: str, content: bytes, media_type: str) -> Pushed:
        """Monolithic upload: POST opens an upload session, PUT sends all and closes it."""
        digest = "sha256:" + hashlib.sha256(content).hexdigest()
        headers = self._headers(path)
        async with self.session.post(
            f"{self.base_url}/v2/{path}/blobs/uploads/", headers=headers
        ) as opened:
            await _expect(opened, 202)
            location = URL(opened.headers["Location"])
        if not location.is_absolute():
            location = URL(self.base_url).join(location)
        async with self.session.put(
            location.update_query(digest=digest),
            data=content,
            headers={**headers, "Content-Type": "application/octet-stream"},
        ) as closed:
            await _expect(closed, 201)
        return Pushed(media_type, digest, len(content))

    async def manifest(
        self, path: str, document: Mapping[str, Any], *, tag: str | None = None
    ) -> Pushed:
        """PUT ``document`` under ``tag`` (or its digest), with its media type as Content-Type."""
        content = _json_bytes(document)
        media_type = str(document["mediaType"])
        digest = "sha256:" + hashlib.sha256(content).hexdigest()
        async with self.session.put(
            f"{self.base_url}/v2/{path}/manifests/{tag or digest}",
            data=content,
            headers={**self._headers(path), "Content-Type": media_type},
        ) as response:
            await _expect(response, 201)
            assert response.headers["Docker-Content-Digest"] == digest
        return Pushed(media_type, digest, len(content))

    async def fetch_manifest(self, path: str, digest: str) -> Any:
        """The manifest ``digest`` as JSON (to find the blobs it refers to)."""
        accept = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))
        async with self.session.get(
            f"{self.base_url}/v2/{path}/manifests/{digest}",
            headers={**self._headers(path), "Accept": accept},
        ) as response:
            await _expect(response, 200)
            return json.loads(await response.read())

    def _headers(self, path: str) -> dict[str, str]:
        authorization = self.authorization(path)
        return {"Authorization": authorization} if authorization else {}


async def _expect(response: aiohttp.ClientResponse, status: int) -> None:
    if response.status != status:
        body = await response.text()
        raise AssertionError(
            f"{response.method} {response.url}: expected {status}, got {response.status}: {body}"
        )


def _json_bytes(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, indent=2).encode()


def small_layer(text: str) -> bytes:
    """A real gzipped tar layer holding one file with ``text``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        data = text.encode()
        info = tarfile.TarInfo("etc/imagegate-test")
        info.size = len(data)
        info.mtime = 0
        archive.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), mtime=0)


def unique_repository(prefix: str = "test") -> str:
    """A fresh repository path, so tests sharing one registry never see each other's tags."""
    return f"{prefix}/{uuid.uuid4().hex[:12]}"


async def push_image(
    pusher: OciPusher,
    path: str,
    *,
    platform: Platform = _DEFAULT_PLATFORM,
    labels: Mapping[str, str] | None = None,
    created: str | None = "2024-05-01T12:30:00.123456789Z",
    docker: bool = False,
    tag: str | None = None,
    manifest_annotations: Mapping[str, str] | None = None,
) -> Pushed:
    """An image for ``platform``: a config (with ``labels``, ``created``) and one layer.

    OCI media types, or Docker v2 ones with ``docker``.
    """
    layer_bytes = small_layer(f"{path} {platform} {uuid.uuid4()}")
    layer = await pusher.blob(path, layer_bytes, DOCKER_LAYER if docker else OCI_LAYER)
    config_document: dict[str, Any] = {
        "architecture": platform.architecture,
        "os": platform.os,
        "config": {"Env": ["PATH=/usr/bin"], "Labels": dict(labels) if labels else None},
        "rootfs": {
            "type": "layers",
            "diff_ids": ["sha256:" + hashlib.sha256(gzip.decompress(layer_bytes)).hexdigest()],
        },
    }
    if platform.variant:
        config_document["variant"] = platform.variant
    if created is not None:
        config_document["created"] = created
    config = await pusher.blob(
        path, _json_bytes(config_document), DOCKER_CONFIG if docker else OCI_CONFIG
    )
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": [layer.descriptor()],
    }
    if manifest_annotations:
        manifest["annotations"] = dict(manifest_annotations)
    return await pusher.manifest(path, manifest, tag=tag)


async def push_index(
    pusher: OciPusher,
    path: str,
    images: Sequence[tuple[Pushed, Platform]],
    *,
    attestations: Sequence[Pushed] = (),
    tag: str | None = None,
    docker: bool = False,
) -> Pushed:
    """An index of ``images``; ``attestations`` (from :func:`push_attestation`) follow
    them with BuildKit's markings, each for the image at the same position."""
    manifests: list[dict[str, Any]] = [
        image.descriptor(platform=_wire_platform(platform)) for image, platform in images
    ]
    for (image, _), attestation in zip(images, attestations, strict=False):
        manifests.append(
            attestation.descriptor(
                annotations={
                    "vnd.docker.reference.digest": image.digest,
                    "vnd.docker.reference.type": "attestation-manifest",
                },
                platform={"architecture": "unknown", "os": "unknown"},
            )
        )
    document = {
        "schemaVersion": 2,
        "mediaType": DOCKER_LIST if docker else OCI_INDEX,
        "manifests": manifests,
    }
    return await pusher.manifest(path, document, tag=tag)


async def push_attestation(
    pusher: OciPusher, path: str, statements: Sequence[Mapping[str, Any]]
) -> Pushed:
    """A BuildKit attestation manifest: one in-toto layer per statement, annotated
    with its predicate type."""
    layers = []
    for statement in statements:
        blob = await pusher.blob(path, _json_bytes(statement), IN_TOTO)
        layers.append(
            blob.descriptor(annotations={"in-toto.io/predicate-type": statement["predicateType"]})
        )
    config = await pusher.blob(
        path,
        _json_bytes({"architecture": "unknown", "os": "unknown", "config": {}}),
        OCI_CONFIG,
    )
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": layers,
    }
    return await pusher.manifest(path, document)


def _wire_platform(platform: Platform) -> dict[str, str]:
    wire = {"architecture": platform.architecture, "os": platform.os}
    if platform.variant:
        wire["variant"] = platform.variant
    return wire


def _subject(image: Pushed) -> list[dict[str, Any]]:
    return [{"name": "_", "digest": {"sha256": image.digest.removeprefix("sha256:")}}]


def slsa_v02_statement(
    image: Pushed,
    *,
    builder_id: str | None = None,
    config_source: tuple[str, str] | None = None,
    vcs: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """A statement shaped as BuildKit writes SLSA v0.2 (``--provenance=mode=min``).

    ``config_source`` (uri, sha1) as for a build from a Git context; ``vcs``
    (source, revision) as buildx sends for a build from a local checkout.
    """
    invocation: dict[str, Any] = {
        "configSource": {"entryPoint": "Dockerfile"},
        "parameters": {"frontend": "dockerfile.v0", "args": {}, "locals": [{"name": "context"}]},
        "environment": {"platform": "linux/amd64"},
    }
    if config_source is not None:
        uri, sha1 = config_source
        invocation["configSource"] = {
            "uri": uri,
            "digest": {"sha1": sha1},
            "entryPoint": "Dockerfile",
        }
    metadata: dict[str, Any] = {
        "buildInvocationID": "rpv7a389uzil5lqmrgwhijwjz",
        "buildStartedOn": "2024-05-01T12:29:00Z",
        "buildFinishedOn": "2024-05-01T12:30:00Z",
        "completeness": {"parameters": False, "environment": True, "materials": False},
        "reproducible": False,
        "https://mobyproject.org/buildkit@v1#hermetic": False,
    }
    if vcs is not None:
        source, revision = vcs
        metadata["https://mobyproject.org/buildkit@v1#metadata"] = {
            "vcs": {"source": source, "revision": revision, "localdir:context": "."}
        }
    predicate: dict[str, Any] = {
        "builder": {"id": builder_id or ""},
        "buildType": "https://mobyproject.org/buildkit@v1",
        "materials": [
            {
                "uri": "pkg:docker/alpine@3.19?platform=linux%2Famd64",
                "digest": {
                    "sha256": "8914eb54f968791faf6a8638949e480fef81e697984fba772b3976835194c6d4"
                },
            }
        ],
        "invocation": invocation,
        "metadata": metadata,
    }
    return {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": SLSA_V02,
        "subject": _subject(image),
        "predicate": predicate,
    }


def slsa_v1_statement(
    image: Pushed,
    *,
    builder_id: str | None = None,
    config_source: tuple[str, str] | None = None,
    vcs: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """A statement shaped as BuildKit writes SLSA v1 (``--provenance=version=v1``)."""
    external: dict[str, Any] = {
        "configSource": {"path": "Dockerfile"},
        "request": {"frontend": "dockerfile.v0", "args": {}, "locals": [{"name": "context"}]},
    }
    dependencies: list[dict[str, Any]] = [
        {
            "uri": "pkg:docker/alpine@3.19?platform=linux%2Famd64",
            "digest": {
                "sha256": "8914eb54f968791faf6a8638949e480fef81e697984fba772b3976835194c6d4"
            },
        }
    ]
    if config_source is not None:
        uri, sha1 = config_source
        external["configSource"] = {"uri": uri, "digest": {"sha1": sha1}, "path": "Dockerfile"}
        dependencies.append({"uri": uri, "digest": {"sha1": sha1}})
    metadata: dict[str, Any] = {
        "invocationID": "rpv7a389uzil5lqmrgwhijwjz",
        "startedOn": "2024-05-01T12:29:00Z",
        "finishedOn": "2024-05-01T12:30:00Z",
        "buildkit_hermetic": False,
        "buildkit_completeness": {"request": False, "resolvedDependencies": False},
        "buildkit_reproducible": False,
    }
    if vcs is not None:
        source, revision = vcs
        metadata["buildkit_metadata"] = {"vcs": {"source": source, "revision": revision}}
    predicate = {
        "buildDefinition": {
            "buildType": "https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md",
            "externalParameters": external,
            "internalParameters": {"builderPlatform": "linux/amd64"},
            "resolvedDependencies": dependencies,
        },
        "runDetails": {"builder": {"id": builder_id or ""}, "metadata": metadata},
    }
    return {
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": SLSA_V1,
        "subject": _subject(image),
        "predicate": predicate,
    }
