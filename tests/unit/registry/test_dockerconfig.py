"""Credentials from docker config JSON (``.dockerconfigjson`` of pull secrets)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from imagegate.registry import Credentials, DockerConfigError, credentials_from_docker_config


def document(auths: Any) -> bytes:
    return json.dumps({"auths": auths}).encode()


def auth(pair: str) -> str:
    return base64.b64encode(pair.encode()).decode()


def test_auth_field_and_username_password() -> None:
    parsed = credentials_from_docker_config(
        document(
            {
                "ghcr.io": {"auth": auth("octocat:ghp_token:with:colons")},
                "registry.example.com:5000": {"username": "ci", "password": "pw"},
            }
        )
    )
    assert parsed == {
        "ghcr.io": Credentials("octocat", "ghp_token:with:colons"),
        "registry.example.com:5000": Credentials("ci", "pw"),
    }


def test_auth_wins_over_username_and_password_as_in_docker() -> None:
    parsed = credentials_from_docker_config(
        document({"quay.io": {"auth": auth("a:b"), "username": "c", "password": "d"}})
    )
    assert parsed == {"quay.io": Credentials("a", "b")}


@pytest.mark.parametrize(
    "key",
    [
        "https://index.docker.io/v1/",
        "index.docker.io",
        "docker.io",
        "registry-1.docker.io",
        "https://registry-1.docker.io/v2/",
    ],
)
def test_docker_hub_spellings_are_docker_io(key: str) -> None:
    parsed = credentials_from_docker_config(document({key: {"auth": auth("u:p")}}))
    assert parsed == {"docker.io": Credentials("u", "p")}


def test_scheme_path_and_case_are_dropped_and_the_first_entry_for_a_host_wins() -> None:
    parsed = credentials_from_docker_config(
        document(
            {
                "https://GHCR.io/acme": {"auth": auth("first:1")},
                "ghcr.io": {"auth": auth("second:2")},
            }
        )
    )
    assert parsed == {"ghcr.io": Credentials("first", "1")}


def test_entries_without_credentials_are_left_out() -> None:
    # Docker writes {} when a credential helper holds the secret.
    parsed = credentials_from_docker_config(
        document({"ghcr.io": {}, "quay.io": {"identitytoken": "x"}, "gcr.io": {"auth": ""}})
    )
    assert parsed == {}


def test_other_top_level_fields_are_ignored() -> None:
    config = {"auths": {"ghcr.io": {"auth": auth("u:p")}}, "credsStore": "desktop"}
    assert credentials_from_docker_config(json.dumps(config).encode()) == {
        "ghcr.io": Credentials("u", "p")
    }


def test_the_password_is_not_in_the_repr() -> None:
    assert "hunter2" not in repr(Credentials("u", "hunter2"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", r"not JSON: .* line 1 column 2"),
        (b'{"auths": "\xc3\x28"}', "not UTF-8"),
        (b"[]", "must be a JSON object, not an array"),
        (b'{"ghcr.io": {"auth": "x"}}', 'no "auths" object'),
        (b'{"auths": []}', '"auths" must be an object, not an array'),
        (document({"ghcr.io": "user:pass"}), r"auths\['ghcr.io'\] must be an object, not a string"),
        (document({"ghcr.io": {"auth": 42}}), r"auths\['ghcr.io'\].auth must be a string"),
        (document({"ghcr.io": {"auth": "%%%"}}), r"auths\['ghcr.io'\].auth is not base64"),
        (document({"ghcr.io": {"auth": auth("nocolon")}}), "must decode to 'user:password'"),
        (document({"ghcr.io": {"auth": auth(":pass")}}), "no user"),
        (document({"ghcr.io": {"username": "u"}}), r"auths\['ghcr.io'\] has no password"),
        (document({"ghcr.io": {"password": "p"}}), r"auths\['ghcr.io'\] has no username"),
        (document({"": {"auth": auth("u:p")}}), "names no registry host"),
    ],
)
def test_malformed_documents_say_what_is_wrong(content: bytes, message: str) -> None:
    with pytest.raises(DockerConfigError, match=message) as raised:
        credentials_from_docker_config(content)
    assert str(raised.value).startswith("docker config: ")


def test_the_error_names_the_entry() -> None:
    with pytest.raises(DockerConfigError) as raised:
        credentials_from_docker_config(document({"quay.io": {"auth": "%%%"}}))
    assert raised.value.entry == "quay.io"
