"""Parsing WWW-Authenticate challenges (RFC 7235) as registries send them."""

from __future__ import annotations

import pytest

from imagegate.registry import RegistryProtocolError
from imagegate.registry._auth import Credentials, parse_challenges


def test_docker_hub_bearer_challenge() -> None:
    (challenge,) = parse_challenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/nginx:pull"'
    )
    assert challenge.scheme == "bearer"
    assert challenge.realm == "https://auth.docker.io/token"
    assert challenge.service == "registry.docker.io"
    assert challenge.scope == "repository:library/nginx:pull"


def test_quoted_commas_escapes_spaces_and_case() -> None:
    (challenge,) = parse_challenges(
        'bearer  Realm = "https://r.example/token" , scope="repository:a/b:pull,push",'
        ' error="insufficient_scope", note="say \\"hi\\""'
    )
    assert challenge.scope == "repository:a/b:pull,push"
    assert challenge.realm == "https://r.example/token"
    assert challenge.parameters["note"] == 'say "hi"'
    assert challenge.parameters["error"] == "insufficient_scope"


def test_basic_and_unquoted_values() -> None:
    (challenge,) = parse_challenges("Basic realm=registry")
    assert (challenge.scheme, challenge.realm) == ("basic", "registry")


def test_several_challenges_in_one_header() -> None:
    challenges = parse_challenges(
        'Basic realm="Registry Realm", Negotiate abc==, Bearer realm="https://t/token",service="s"'
    )
    assert [challenge.scheme for challenge in challenges] == ["basic", "negotiate", "bearer"]
    assert challenges[2].service == "s"


def test_a_scheme_alone_or_with_a_token68() -> None:
    (challenge,) = parse_challenges("Bearer")
    assert challenge.scheme == "bearer"
    assert challenge.realm is None
    # "realm=" is a token68 (a credential blob), not an empty parameter.
    assert parse_challenges("Bearer realm=")[0].parameters == {}


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("", "empty WWW-Authenticate"),
        (" , ", "empty WWW-Authenticate"),
        ('Bearer realm="https://t/token" service="s"', "expected ',' between parameters"),
        ('Bearer realm="unterminated', "expected name=value"),
        ("Bearer realm=@", "expected name=value"),
        ('"quoted" realm=x', "expected an authentication scheme"),
    ],
)
def test_malformed_headers(header: str, message: str) -> None:
    with pytest.raises(RegistryProtocolError, match=message):
        parse_challenges(header)


def test_basic_authorization_header() -> None:
    assert Credentials("aladdin", "open sesame").basic_authorization() == (
        "Basic YWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    )
