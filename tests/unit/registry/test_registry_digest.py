"""Content is believed only when it hashes to the digest that names it."""

from __future__ import annotations

import hashlib

import pytest

from imagegate.registry import RegistryProtocolError, RegistrySettings
from imagegate.registry._digest import checked_digest, digest_of, verify_digest


def test_matching_content_passes() -> None:
    content = b'{"schemaVersion": 2}'
    verify_digest(content, "sha256:" + hashlib.sha256(content).hexdigest(), what="manifest")
    verify_digest(content, digest_of(content, "sha512"), what="manifest")


def test_other_bytes_are_refused() -> None:
    digest = digest_of(b'{"schemaVersion": 2}')
    with pytest.raises(RegistryProtocolError, match="does not match its digest"):
        verify_digest(b'{"schemaVersion":  2}', digest, what="manifest")


def test_unknown_algorithm_is_refused() -> None:
    with pytest.raises(RegistryProtocolError, match="unsupported digest algorithm"):
        verify_digest(b"x", "md5:" + "0" * 32, what="blob")


def test_a_malformed_digest_header_is_the_registry_s_fault() -> None:
    assert checked_digest(" sha256:" + "A" * 64, what="h") == "sha256:" + "a" * 64
    with pytest.raises(RegistryProtocolError, match="not a valid digest"):
        checked_digest("sha256:xyz", what="Docker-Content-Digest")


@pytest.mark.parametrize(
    "arguments",
    [{"timeout_s": 0}, {"tag_ttl_s": -1}, {"max_cached_digests": 0}],
)
def test_settings_refuse_nonsense(arguments: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        RegistrySettings(**arguments)  # type: ignore[arg-type]
