"""Bearer API-key authentication and scope checks for the HTTP API."""

from __future__ import annotations

import time
from http import HTTPStatus

from imagegate.api._errors import ApiError
from imagegate.auth import (
    ApiKey,
    ApiKeyStore,
    MalformedTokenError,
    Scope,
    secret_matches,
    split_token,
)

DEFAULT_KEY_CACHE_TTL_S = 10.0
"""See ``ApiSettings.api_key_cache_ttl_s``."""


class Authenticator:
    """Checks ``Authorization: Bearer …`` headers against stored keys."""

    def __init__(self, store: ApiKeyStore, *, cache_ttl_s: float = DEFAULT_KEY_CACHE_TTL_S) -> None:
        self._store = store
        self._cache_ttl_s = cache_ttl_s
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}

    async def authorize(self, authorization: str | None, scope: Scope) -> ApiKey:
        """The key the header proves, if it has ``scope``; ApiError 401/403 otherwise."""
        key = await self._authenticate(authorization)
        if scope not in key.scopes:
            raise ApiError(
                HTTPStatus.FORBIDDEN,
                "insufficient_scope",
                f"API key {key.key_id!r} lacks the {scope.value!r} scope this call needs",
            )
        return key

    async def _authenticate(self, authorization: str | None) -> ApiKey:
        if not authorization:
            raise _unauthenticated("send an API key as 'Authorization: Bearer <token>'")
        if not authorization.isascii() or not authorization.isprintable():
            # Tokens are printable ASCII; anything else (bytes aiohttp could not decode,
            # control characters) is no key, and must not reach the hashing or the logs.
            raise _unauthenticated("the API key is not valid")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthenticated("the Authorization header must be 'Bearer <token>'")
        try:
            key_id, secret = split_token(token.strip())
        except MalformedTokenError:
            raise _unauthenticated("the API key is not valid") from None
        key = await self._lookup(key_id)
        if key is None or not key.active or not secret_matches(key, secret):
            raise _unauthenticated("the API key is not valid")
        return key

    async def _lookup(self, key_id: str) -> ApiKey | None:
        now = time.monotonic()
        cached = self._cache.get(key_id)
        if cached is not None and now - cached[0] < self._cache_ttl_s:
            return cached[1]
        key = await self._store.get_api_key(key_id)
        if len(self._cache) > 10_000:
            # Unknown ids are cached too; bound the cache against a flood of them.
            self._cache.clear()
        self._cache[key_id] = (now, key)
        return key


def _unauthenticated(message: str) -> ApiError:
    return ApiError(HTTPStatus.UNAUTHORIZED, "unauthenticated", message)
