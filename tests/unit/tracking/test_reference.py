"""Parsing and normalising image references, and the errors a user sees for bad ones."""

from __future__ import annotations

import re

import pytest

from imagegate.errors import RefusedError
from imagegate.tracking import (
    DigestRequiredError,
    ImageReference,
    InvalidReferenceError,
    parse_pinned_reference,
    parse_reference,
    parse_repository,
    validate_digest,
)

HEX64 = "0123456789abcdef" * 4
SHA256 = f"sha256:{HEX64}"
SHA384 = f"sha384:{HEX64}{HEX64[:32]}"
SHA512 = f"sha512:{HEX64}{HEX64}"


def ref(
    registry: str, path: str, tag: str | None = None, digest: str | None = None
) -> ImageReference:
    return ImageReference(registry=registry, path=path, tag=tag, digest=digest)


NORMALISED = [
    pytest.param("nginx", ref("docker.io", "library/nginx"), id="official-image-short"),
    pytest.param("nginx:1.25", ref("docker.io", "library/nginx", "1.25"), id="official-tagged"),
    pytest.param("docker.io/nginx", ref("docker.io", "library/nginx"), id="docker-io-short"),
    pytest.param(
        "index.docker.io/library/nginx", ref("docker.io", "library/nginx"), id="legacy-index-host"
    ),
    pytest.param(
        "registry-1.docker.io/library/nginx",
        ref("docker.io", "library/nginx"),
        id="legacy-registry-1-host",
    ),
    pytest.param(
        "docker.io/library/nginx", ref("docker.io", "library/nginx"), id="already-normalised"
    ),
    pytest.param("acme/api", ref("docker.io", "acme/api"), id="user-repository"),
    pytest.param("acme/team/api", ref("docker.io", "acme/team/api"), id="nested-user-repository"),
    pytest.param("localhost/app", ref("localhost", "app"), id="localhost-is-a-host"),
    pytest.param(
        "localhost:5000/a/b:v1", ref("localhost:5000", "a/b", "v1"), id="port-is-not-a-tag"
    ),
    pytest.param(
        f"registry.example.com:5443/team/app@{SHA256}",
        ref("registry.example.com:5443", "team/app", None, SHA256),
        id="host-port-digest",
    ),
    pytest.param("[::1]:5000/x", ref("[::1]:5000", "x"), id="ipv6-host-port"),
    pytest.param("[::1]:5000/x:v2", ref("[::1]:5000", "x", "v2"), id="ipv6-host-port-tag"),
    pytest.param(
        "Registry.Example.COM/team/app:V1.0-RC_1",
        ref("registry.example.com", "team/app", "V1.0-RC_1"),
        id="upper-case-host-lowered-tag-kept",
    ),
    pytest.param(
        f"nginx:1.25@{SHA256}",
        ref("docker.io", "library/nginx", "1.25", SHA256),
        id="tag-and-digest",
    ),
    pytest.param(f"nginx@{SHA384}", ref("docker.io", "library/nginx", None, SHA384), id="sha384"),
    pytest.param(f"nginx@{SHA512}", ref("docker.io", "library/nginx", None, SHA512), id="sha512"),
    pytest.param(
        "ghcr.io/a.b/c_d/e__f/g-h--i",
        ref("ghcr.io", "a.b/c_d/e__f/g-h--i"),
        id="path-separators",
    ),
    pytest.param(
        "localhost:5000", ref("docker.io", "library/localhost", "5000"), id="no-slash-colon-is-tag"
    ),
    pytest.param("nginx:" + "v" * 128, ref("docker.io", "library/nginx", "v" * 128), id="tag-128"),
]


@pytest.mark.parametrize(("text", "expected"), NORMALISED)
def test_parse_reference_normalises(text: str, expected: ImageReference) -> None:
    assert parse_reference(text) == expected


@pytest.mark.parametrize(("text", "expected"), NORMALISED)
def test_str_is_normalised_form_and_round_trips(text: str, expected: ImageReference) -> None:
    reference = parse_reference(text)
    assert parse_reference(str(reference)) == reference
    assert str(parse_reference(str(reference))) == str(reference)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("nginx", "docker.io/library/nginx", id="bare"),
        pytest.param(
            f"index.docker.io/nginx:1.25@{SHA256}",
            f"docker.io/library/nginx:1.25@{SHA256}",
            id="tag-and-digest",
        ),
        pytest.param("[::1]:5000/x", "[::1]:5000/x", id="ipv6"),
    ],
)
def test_str_renders_normalised_reference(text: str, expected: str) -> None:
    assert str(parse_reference(text)) == expected


def test_repository_joins_registry_and_path() -> None:
    assert parse_reference("localhost:5000/a/b:v1").repository == "localhost:5000/a/b"
    assert parse_reference("nginx@" + SHA256).repository == "docker.io/library/nginx"


def test_name_of_exactly_255_characters_is_accepted() -> None:
    path = "acme/" + "a" * (255 - len("docker.io/acme/"))
    assert len(parse_reference(path).repository) == 255


INVALID = [
    pytest.param("", "an image reference must be non-empty, no spaces", id="empty"),
    pytest.param(" nginx", "an image reference must be non-empty, no spaces", id="leading-space"),
    pytest.param("nginx\n", "an image reference must be non-empty, no spaces", id="trailing-nl"),
    pytest.param(
        "ngi nx",
        "repository path component 'ngi nx' may only hold lower-case letters, digits and "
        "single separators (. _ __ -) between them",
        id="inner-space",
    ),
    pytest.param(
        "nginx:",
        "tag '' must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'",
        id="empty-tag",
    ),
    pytest.param("nginx:-dev", "tag '-dev' must be 1 to 128 letters", id="tag-leading-dash"),
    pytest.param("nginx:.dev", "tag '.dev' must be 1 to 128 letters", id="tag-leading-dot"),
    pytest.param("nginx:v+1", "tag 'v+1' must be 1 to 128 letters", id="tag-bad-character"),
    pytest.param("nginx:" + "v" * 129, "must be 1 to 128 letters", id="tag-too-long"),
    pytest.param("nginx:tést", "ASCII characters only", id="tag-non-ascii"),
    pytest.param("\u212aafka", "ASCII characters only", id="kelvin-sign-lowers-to-k"),
    pytest.param("@" + SHA256, "the repository name before '@' is missing", id="digest-no-name"),
    pytest.param("a//b", "repository path component ''", id="empty-path-component"),
    pytest.param("a--", "repository path component 'a--'", id="trailing-dash"),
    pytest.param("acme/-api", "repository path component '-api'", id="leading-dash"),
    pytest.param("a___b", "repository path component 'a___b'", id="triple-underscore"),
    pytest.param("a..b", "repository path component 'a..b'", id="double-dot"),
    pytest.param("localhost:5000/", "repository path component ''", id="host-without-path"),
    pytest.param("bad_host.com/x", "'bad_host.com' is not a valid registry host", id="bad-host"),
    pytest.param("-bad.com/x", "'-bad.com' is not a valid registry host", id="host-leading-dash"),
    pytest.param("nginx:a/b", "'nginx:a' is not a valid registry host", id="non-numeric-port"),
    pytest.param("acme/" + "a" * 251, "repository name is longer than 255", id="name-too-long"),
    # The runtime refuses these ("repository name must be lowercase"); lower-casing them
    # would record another image than the one the pod names.
    pytest.param("NGINX:Latest", "repository path component 'NGINX'", id="upper-case-official"),
    pytest.param("GHCR.IO/Acme/Web:1", "repository path component 'Acme'", id="upper-case-path"),
    pytest.param(
        "Acme/API:V2", "repository path component 'Acme'", id="upper-case-first-component"
    ),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_invalid_reference_tells_why(text: str, message: str) -> None:
    with pytest.raises(InvalidReferenceError, match=re.escape(message)) as caught:
        parse_reference(text)
    assert caught.value.reference == text
    assert caught.value.code == "invalid_reference"
    assert str(caught.value).startswith(f"invalid image reference {text!r}: ")


# A bad digest is reported by itself: the message names the digest, not the whole reference.
INVALID_DIGEST = [
    pytest.param(
        "nginx@md5:" + HEX64,
        "a digest is written algorithm:hex, with algorithm one of sha256, sha384, sha512",
        id="unknown-digest-algorithm",
    ),
    pytest.param(
        "nginx@" + HEX64, "a digest is written algorithm:hex", id="digest-without-algorithm"
    ),
    pytest.param("nginx@", "a digest is written algorithm:hex", id="empty-digest"),
    pytest.param(
        "nginx@sha256:abc", "a sha256 digest has exactly 64 hex digits", id="digest-too-short"
    ),
    pytest.param(
        "nginx@sha256:" + HEX64 + "0",
        "a sha256 digest has exactly 64 hex digits",
        id="digest-too-long",
    ),
    pytest.param(
        "nginx@sha512:" + HEX64,
        "a sha512 digest has exactly 128 hex digits",
        id="sha512-with-sha256-length",
    ),
    pytest.param(
        "nginx@sha256:" + "g" * 64, "a sha256 digest has exactly 64 hex digits", id="non-hex"
    ),
    pytest.param(
        "nginx@sha256:" + HEX64.upper(),
        "a digest in an image reference is written in lower case",
        id="upper-case-hex",
    ),
    pytest.param(
        "nginx@SHA256:" + HEX64,
        "a digest in an image reference is written in lower case",
        id="upper-case-algorithm",
    ),
]


@pytest.mark.parametrize(("text", "message"), INVALID_DIGEST)
def test_invalid_digest_tells_why(text: str, message: str) -> None:
    with pytest.raises(InvalidReferenceError, match=re.escape(message)) as caught:
        parse_reference(text)
    # The error names the whole reference the user wrote, not only its digest part.
    assert caught.value.reference == text
    assert str(caught.value).startswith(f"invalid image reference {text!r}: ")


def test_invalid_reference_is_a_tracking_error() -> None:
    with pytest.raises(RefusedError):
        parse_reference("a//b")


def test_pinned_reference_requires_a_digest() -> None:
    with pytest.raises(DigestRequiredError) as caught:
        parse_pinned_reference("nginx:1.25")
    error = caught.value
    assert error.code == "digest_required"
    assert error.reference == "nginx:1.25"
    assert "image reference 'nginx:1.25' has no digest" in error.message
    assert "a deployment record needs the image digest (repo@sha256:...)" in error.message
    assert "a tag is mutable" in error.message


def test_pinned_reference_accepts_digest() -> None:
    assert parse_pinned_reference(f"nginx:1.25@{SHA256}") == ref(
        "docker.io", "library/nginx", "1.25", SHA256
    )


def test_pinned_reference_reports_grammar_errors_before_missing_digest() -> None:
    with pytest.raises(InvalidReferenceError, match="tag '-x'"):
        parse_pinned_reference("nginx:-x")


def test_parse_repository_normalises_bare_name() -> None:
    assert parse_repository("acme/api") == ref("docker.io", "acme/api")
    assert parse_repository("index.docker.io/nginx") == ref("docker.io", "library/nginx")


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("nginx:1.25", id="tag"),
        pytest.param(f"nginx@{SHA256}", id="digest"),
        pytest.param(f"nginx:1.25@{SHA256}", id="tag-and-digest"),
    ],
)
def test_parse_repository_refuses_tag_and_digest(text: str) -> None:
    with pytest.raises(InvalidReferenceError, match="a repository name takes no tag and no digest"):
        parse_repository(text)


def test_validate_digest_normalises_case() -> None:
    assert validate_digest(SHA512.upper()) == SHA512


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("sha1:" + "a" * 40, "with algorithm one of sha256, sha384, sha512", id="sha1"),
        pytest.param("sha384:" + HEX64, "a sha384 digest has exactly 96 hex digits", id="short"),
    ],
)
def test_validate_digest_refuses(text: str, message: str) -> None:
    with pytest.raises(InvalidReferenceError, match=re.escape(message)):
        validate_digest(text)
