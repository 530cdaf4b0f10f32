"""Bearer tokens are kept per registry, scope and identity until they expire."""

from __future__ import annotations

from imagegate.registry._auth import Credentials
from imagegate.registry._auth_tokens import BearerTokenCache, TokenKey


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_token_lives_for_its_expires_in() -> None:
    clock = Clock()
    cache = BearerTokenCache(clock=clock)
    key = TokenKey("ghcr.io", "repository:a/b:pull", None)
    cache.put(key, "t1", lifetime_s=300)
    clock.now = 299.9
    assert cache.get(key) == "t1"
    clock.now = 300.0
    assert cache.get(key) is None


def test_without_expires_in_a_token_lives_60_seconds() -> None:
    clock = Clock()
    cache = BearerTokenCache(clock=clock)
    key = TokenKey("ghcr.io", "repository:a/b:pull", None)
    cache.put(key, "t1", lifetime_s=None)
    clock.now = 59
    assert cache.get(key) == "t1"
    clock.now = 60
    assert cache.get(key) is None


def test_tokens_are_apart_per_scope_and_identity() -> None:
    cache = BearerTokenCache(clock=Clock())
    anonymous = TokenKey("ghcr.io", "repository:a/b:pull", None)
    alice = TokenKey("ghcr.io", "repository:a/b:pull", Credentials("alice", "pw"))
    other_scope = TokenKey("ghcr.io", "repository:a/c:pull", None)
    cache.put(alice, "alice's", lifetime_s=60)
    assert cache.get(anonymous) is None
    assert cache.get(other_scope) is None
    assert cache.get(alice) == "alice's"


def test_a_refused_token_is_forgotten_and_a_zero_lifetime_is_not_kept() -> None:
    cache = BearerTokenCache(clock=Clock())
    key = TokenKey("ghcr.io", "repository:a/b:pull", None)
    cache.put(key, "t1", lifetime_s=60)
    cache.discard(key)
    assert cache.get(key) is None
    cache.put(key, "t2", lifetime_s=0)
    assert cache.get(key) is None
