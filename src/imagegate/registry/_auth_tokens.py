"""Bearer tokens a registry's token service issued, kept until they expire."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from imagegate.registry._auth import Credentials

DEFAULT_TOKEN_LIFETIME_S = 60.0
"""What the token protocol says to assume when a token response has no ``expires_in``."""
_MAX_TOKENS = 1024


@dataclass(frozen=True, slots=True)
class TokenKey:
    """What a token is good for: one registry, one scope, as one identity."""

    registry: str
    scope: str
    credentials: Credentials | None
    """Tokens of different identities grant different access, so they are kept apart."""


class BearerTokenCache:
    """Tokens by (registry, scope, identity) until their ``expires_in`` runs out.

    Bounded: the least recently used token goes when too many are held.
    """

    def __init__(self, *, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._tokens: OrderedDict[TokenKey, tuple[str, float]] = OrderedDict()

    def get(self, key: TokenKey) -> str | None:
        """The token for ``key`` if one is held and has not expired."""
        entry = self._tokens.get(key)
        if entry is None:
            return None
        token, expires_at = entry
        if self._clock() >= expires_at:
            del self._tokens[key]
            return None
        self._tokens.move_to_end(key)
        return token

    def put(self, key: TokenKey, token: str, *, lifetime_s: float | None) -> None:
        """Keep ``token`` for ``lifetime_s`` (the default lifetime when ``None``)."""
        lifetime = DEFAULT_TOKEN_LIFETIME_S if lifetime_s is None else lifetime_s
        if lifetime <= 0:
            return
        self._tokens[key] = (token, self._clock() + lifetime)
        self._tokens.move_to_end(key)
        while len(self._tokens) > _MAX_TOKENS:
            self._tokens.popitem(last=False)

    def discard(self, key: TokenKey) -> None:
        """Forget the token for ``key``: the registry refused it (expired or revoked early)."""
        self._tokens.pop(key, None)
