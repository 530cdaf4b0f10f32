"""Issuing API keys and checking the bearer tokens that prove them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from imagegate.auth import (
    TOKEN_PREFIX,
    ApiKey,
    MalformedTokenError,
    Scope,
    issue_key,
    secret_matches,
    split_token,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
KEY_ID = "0123456789ab"


def test_issued_token_carries_prefix_key_id_and_secret() -> None:
    issued = issue_key(name="ci", scopes=frozenset({Scope.WRITE}), now=NOW)
    assert TOKEN_PREFIX == "igk"
    assert issued.token.startswith("igk_")
    key_id, secret = split_token(issued.token)
    assert key_id == issued.key.key_id
    assert issued.token == f"igk_{key_id}_{secret}"
    assert len(key_id) == 12
    assert int(key_id, 16) >= 0


def test_issued_key_stores_only_the_hash_of_the_secret() -> None:
    issued = issue_key(name="ci", scopes=frozenset({Scope.READ, Scope.WRITE}), now=NOW)
    _, secret = split_token(issued.token)
    assert issued.key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in issued.key.secret_hash
    assert issued.key.name == "ci"
    assert issued.key.scopes == frozenset({Scope.READ, Scope.WRITE})
    assert issued.key.created_at == NOW
    assert issued.key.revoked_at is None
    assert issued.key.active


def test_each_issued_key_is_new() -> None:
    first = issue_key(name="a", scopes=frozenset({Scope.READ}), now=NOW)
    second = issue_key(name="a", scopes=frozenset({Scope.READ}), now=NOW)
    assert first.key.key_id != second.key.key_id
    assert first.token != second.token
    assert first.key.secret_hash != second.key.secret_hash


def test_secret_matches_only_the_right_secret() -> None:
    issued = issue_key(name="ci", scopes=frozenset({Scope.READ}), now=NOW)
    _, secret = split_token(issued.token)
    assert secret_matches(issued.key, secret)
    assert not secret_matches(issued.key, secret + "x")
    assert not secret_matches(issued.key, secret[:-1])
    assert not secret_matches(issued.key, issued.token)
    assert not secret_matches(issued.key, "")


def test_secret_of_another_key_does_not_match() -> None:
    mine = issue_key(name="mine", scopes=frozenset({Scope.READ}), now=NOW)
    theirs = issue_key(name="theirs", scopes=frozenset({Scope.READ}), now=NOW)
    _, their_secret = split_token(theirs.token)
    assert not secret_matches(mine.key, their_secret)


def test_key_without_scopes_is_refused() -> None:
    with pytest.raises(ValueError, match="an API key needs at least one scope"):
        issue_key(name="useless", scopes=frozenset(), now=NOW)


def test_split_token_keeps_underscores_of_the_secret() -> None:
    assert split_token(f"igk_{KEY_ID}_se_cr-et") == (KEY_ID, "se_cr-et")


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="empty"),
        pytest.param("igk", id="prefix-only"),
        pytest.param("igk_", id="prefix-and-separator"),
        pytest.param(f"igk_{KEY_ID}", id="no-secret"),
        pytest.param(f"igk_{KEY_ID}_", id="empty-secret"),
        pytest.param("igk_0123_secret", id="short-key-id"),
        pytest.param(f"igk_{KEY_ID}0_secret", id="long-key-id"),
        pytest.param(f"ghp_{KEY_ID}_secret", id="other-prefix"),
        pytest.param(f"IGK_{KEY_ID}_secret", id="prefix-case"),
        pytest.param(f"Bearer igk_{KEY_ID}_secret", id="with-scheme"),
    ],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(MalformedTokenError, match="not an imagegate API token"):
        split_token(token)


def test_malformed_token_error_is_a_value_error() -> None:
    assert issubclass(MalformedTokenError, ValueError)


def test_revoked_key_is_not_active() -> None:
    key = ApiKey(
        key_id=KEY_ID,
        name="old",
        secret_hash="0" * 64,
        scopes=frozenset({Scope.READ}),
        created_at=NOW,
        revoked_at=NOW,
    )
    assert not key.active
