"""Provenance from BuildKit's SLSA statements (v0.2 and v1), without a registry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imagegate.facts import Provenance
from imagegate.registry import RegistryProtocolError
from imagegate.registry._provenance import (
    normalised_repository_url,
    provenance_from_statement,
)

BUILDKIT_V02_METADATA = "https://mobyproject.org/buildkit@v1#metadata"


def statement(predicate_type: str, predicate: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": predicate_type,
            "subject": [{"name": "_", "digest": {"sha256": "ab" * 32}}],
            "predicate": predicate,
        }
    ).encode()


def test_v02_config_source_is_preferred_to_the_vcs_hint() -> None:
    content = statement(
        "https://slsa.dev/provenance/v0.2",
        {
            "builder": {"id": "https://ci.example/run/7"},
            "invocation": {
                "configSource": {
                    "uri": "https://github.com/acme/web.git#refs/tags/v1.2.0",
                    "digest": {"sha1": "4b220de5058abfd01ff619c9d2ff6b09a049bea0"},
                    "entryPoint": "Dockerfile",
                }
            },
            "metadata": {
                BUILDKIT_V02_METADATA: {
                    "vcs": {"source": "https://elsewhere.example/x", "revision": "ffff"}
                }
            },
        },
    )
    assert provenance_from_statement(content) == Provenance(
        builder_id="https://ci.example/run/7",
        source_repository="https://github.com/acme/web",
        commit="4b220de5058abfd01ff619c9d2ff6b09a049bea0",
    )


def test_v02_local_build_uses_the_vcs_metadata() -> None:
    content = statement(
        "https://slsa.dev/provenance/v0.2",
        {
            "builder": {"id": ""},
            "invocation": {"configSource": {"entryPoint": "Dockerfile"}},
            "metadata": {
                BUILDKIT_V02_METADATA: {
                    "vcs": {"source": "git@github.com:acme/web.git", "revision": "abc123"}
                }
            },
        },
    )
    assert provenance_from_statement(content) == Provenance(
        builder_id=None, source_repository="git@github.com:acme/web", commit="abc123"
    )


def test_v1_fields() -> None:
    content = statement(
        "https://slsa.dev/provenance/v1",
        {
            "buildDefinition": {
                "externalParameters": {
                    "configSource": {
                        "uri": "https://github.com/acme/api.git#main",
                        "digest": {"sha1": "1111111111111111111111111111111111111111"},
                    }
                },
                "resolvedDependencies": [{"uri": "pkg:docker/alpine@3.19", "digest": {}}],
            },
            "runDetails": {
                "builder": {"id": "https://github.com/acme/api/actions/runs/1"},
                "metadata": {"buildkit_metadata": {"vcs": {"source": "x", "revision": "y"}}},
            },
        },
    )
    assert provenance_from_statement(content) == Provenance(
        builder_id="https://github.com/acme/api/actions/runs/1",
        source_repository="https://github.com/acme/api",
        commit="1111111111111111111111111111111111111111",
    )


def test_v1_local_build_and_an_empty_predicate() -> None:
    local = statement(
        "https://slsa.dev/provenance/v1",
        {"runDetails": {"metadata": {"buildkit_metadata": {"vcs": {"source": "https://g/a"}}}}},
    )
    assert provenance_from_statement(local) == Provenance(source_repository="https://g/a")
    assert provenance_from_statement(statement("https://slsa.dev/provenance/v1", {})) == (
        Provenance()
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/acme/web.git#refs/heads/main", "https://github.com/acme/web"),
        ("git+https://github.com/acme/web.git", "https://github.com/acme/web"),
        ("https://github.com/acme/web/", "https://github.com/acme/web"),
        ("https://gitlab.example/group/sub/app", "https://gitlab.example/group/sub/app"),
    ],
)
def test_repository_urls_are_normalised(url: str, expected: str) -> None:
    assert normalised_repository_url(url) == expected


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "unreadable provenance statement"),
        (b'{"predicate": {}}', "unreadable provenance statement"),
        (statement("https://spdx.dev/Document", {}), "not SLSA provenance"),
        (
            statement("https://slsa.dev/provenance/v0.2", {"builder": {"id": 42}}),
            r"unreadable provenance statement: Expected `str \| null`, got `int`",
        ),
    ],
)
def test_what_is_not_a_provenance_statement(content: bytes, message: str) -> None:
    with pytest.raises(RegistryProtocolError, match=message):
        provenance_from_statement(content)
