"""HTTP to registries: timeouts, authentication, and errors mapped to our own types.

Anonymous first; on ``401`` the ``WWW-Authenticate`` challenge decides: Bearer
fetches a token from the realm (with the credentials, if any, as Basic auth) and
retries; Basic retries with the credentials. Bearer tokens are reused until they
expire; a registry known to want Basic gets the credentials up front.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from imagegate.registry._auth import Challenge, Credentials, parse_challenges
from imagegate.registry._auth_tokens import BearerTokenCache, TokenKey
from imagegate.registry._errors import (
    ImageNotFoundError,
    RegistryAuthError,
    RegistryError,
    RegistryProtocolError,
    RegistryUnavailableError,
)
from imagegate.registry._settings import RegistrySettings

_NOT_FOUND_CODES = frozenset({"MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN"})
_AUTH_CODES = frozenset({"UNAUTHORIZED", "DENIED"})
_MAX_ERROR_BODY_BYTES = 64 * 1024
_MAX_TOKEN_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Target:
    """What a request is about: for error messages, auth scope and token reuse."""

    registry: str
    """As in the reference (``docker.io``), not the host spoken to."""
    repository_path: str
    reference: str
    """The reference as the caller gave it, for error messages."""
    credentials: Credentials | None

    @property
    def scope(self) -> str:
        return f"repository:{self.repository_path}:pull"

    @property
    def token_key(self) -> TokenKey:
        return TokenKey(registry=self.registry, scope=self.scope, credentials=self.credentials)


@dataclass(frozen=True, slots=True)
class Response:
    """A successful (2xx) answer, its body read whole."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


class RegistryTransport:
    """Authenticated, time-bounded requests; anything but 2xx is raised as a RegistryError."""

    def __init__(
        self,
        *,
        session: Callable[[], aiohttp.ClientSession],
        settings: RegistrySettings,
        clock: Callable[[], float],
    ) -> None:
        self._session = session
        self._settings = settings
        self._tokens = BearerTokenCache(clock=clock)
        self._basic_registries: set[str] = set()

    async def request(
        self,
        method: str,
        url: URL,
        *,
        target: Target,
        headers: Mapping[str, str],
        max_bytes: int,
        what: str,
    ) -> Response:
        """Send, authenticating when challenged; ``what`` names the resource in errors."""
        authorization, from_cache = self._known_authorization(target)
        status, response_headers, body = await self._send(
            method, url, headers, authorization, target=target, max_bytes=max_bytes, what=what
        )
        if status == 401:
            if from_cache:
                self._tokens.discard(target.token_key)
            authorization = await self._answer_challenge(response_headers, target=target)
            status, response_headers, body = await self._send(
                method, url, headers, authorization, target=target, max_bytes=max_bytes, what=what
            )
            if status == 401:
                refused = (
                    "refused the credentials"
                    if target.credentials is not None
                    else "requires credentials, and none were given (add an imagePullSecret),"
                )
                raise RegistryAuthError(
                    f"{target.registry} {refused} for {what}" + _error_detail(body),
                    reference=target.reference,
                )
        _raise_for_status(status, body, target=target, what=what)
        return Response(status=status, headers=response_headers, body=body)

    def _known_authorization(self, target: Target) -> tuple[str | None, bool]:
        token = self._tokens.get(target.token_key)
        if token is not None:
            return f"Bearer {token}", True
        if target.registry in self._basic_registries and target.credentials is not None:
            return target.credentials.basic_authorization(), False
        return None, False

    async def _answer_challenge(self, headers: CIMultiDictProxy[str], *, target: Target) -> str:
        challenge = _preferred_challenge(headers.getall("WWW-Authenticate", []), target=target)
        if challenge.scheme == "basic":
            if target.credentials is None:
                raise RegistryAuthError(
                    f"{target.registry} requires credentials (Basic) and none were given: "
                    "add an imagePullSecret for it",
                    reference=target.reference,
                )
            self._basic_registries.add(target.registry)
            return target.credentials.basic_authorization()
        token, lifetime = await self._fetch_token(challenge, target=target)
        self._tokens.put(target.token_key, token, lifetime_s=lifetime)
        return f"Bearer {token}"

    async def _fetch_token(
        self, challenge: Challenge, *, target: Target
    ) -> tuple[str, float | None]:
        realm = URL(challenge.realm or "")
        if realm.scheme not in ("http", "https") or not realm.host:
            raise RegistryProtocolError(
                f"{target.registry} named an unusable token realm {challenge.realm!r}",
                reference=target.reference,
            )
        query = {"scope": challenge.scope or target.scope}
        if challenge.service:
            query["service"] = challenge.service
        headers = {}
        if target.credentials is not None:
            headers["Authorization"] = target.credentials.basic_authorization()
        what = f"a token from {realm.host}"
        status, _, body = await self._send(
            "GET",
            realm.update_query(query),
            headers,
            None,
            target=target,
            max_bytes=_MAX_TOKEN_BODY_BYTES,
            what=what,
        )
        if status in (401, 403):
            raise RegistryAuthError(
                f"the token service of {target.registry} refused "
                + ("the credentials" if target.credentials else "anonymous access")
                + _error_detail(body),
                reference=target.reference,
            )
        if status == 429 or status >= 500:
            _raise_for_status(status, body, target=target, what=what)
        if not 200 <= status < 300:
            # Not an image that is missing: the token service itself is misconfigured.
            raise RegistryProtocolError(
                f"the token service of {target.registry} answered HTTP {status}"
                + _error_detail(body),
                reference=target.reference,
            )
        return _token_of(body, target=target)

    async def _send(
        self,
        method: str,
        url: URL,
        headers: Mapping[str, str],
        authorization: str | None,
        *,
        target: Target,
        max_bytes: int,
        what: str,
    ) -> tuple[int, CIMultiDictProxy[str], bytes]:
        sent = dict(headers)
        if authorization is not None:
            sent["Authorization"] = authorization
        timeout_s = self._settings.timeout_s
        try:
            # aiohttp's own total timeout, and one around reading the body as well.
            async with asyncio.timeout(timeout_s):
                async with self._session().request(
                    method,
                    url,
                    headers=sent,
                    timeout=aiohttp.ClientTimeout(total=timeout_s),
                ) as response:
                    if method == "HEAD":
                        # Content-Length of a HEAD answer is the size the GET would send.
                        return response.status, response.headers, b""
                    limit = max_bytes if response.status < 300 else _MAX_ERROR_BODY_BYTES
                    body = await _read_bounded(response, limit, target=target, what=what)
                    return response.status, response.headers, body
        except TimeoutError as e:
            raise RegistryUnavailableError(
                f"{url.host} did not answer for {what} within {timeout_s:g}s",
                reference=target.reference,
            ) from e
        except aiohttp.TooManyRedirects as e:
            raise RegistryProtocolError(
                f"{url.host} redirected too often for {what}", reference=target.reference
            ) from e
        except aiohttp.InvalidURL as e:
            raise RegistryProtocolError(
                f"invalid URL for {what}: {e}", reference=target.reference
            ) from e
        except aiohttp.ClientSSLError as e:
            raise RegistryUnavailableError(
                f"TLS with {url.host} failed for {what}: {e}", reference=target.reference
            ) from e
        except aiohttp.ClientError as e:
            raise RegistryUnavailableError(
                f"{url.host} could not be reached for {what}: {e or type(e).__name__}",
                reference=target.reference,
            ) from e


async def _read_bounded(
    response: aiohttp.ClientResponse, limit: int, *, target: Target, what: str
) -> bytes:
    # A registry's answer is read into memory, so its size is bounded first.
    if response.content_length is not None and response.content_length > limit:
        raise _too_large(limit, target=target, what=what)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, target=target, what=what)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int, *, target: Target, what: str) -> RegistryProtocolError:
    return RegistryProtocolError(
        f"{what} is larger than {limit} bytes, more than such a document may be",
        reference=target.reference,
    )


def _preferred_challenge(headers: list[str], *, target: Target) -> Challenge:
    if not headers:
        raise RegistryAuthError(
            f"{target.registry} answered 401 without a WWW-Authenticate challenge",
            reference=target.reference,
        )
    try:
        challenges = [challenge for header in headers for challenge in parse_challenges(header)]
    except RegistryProtocolError as e:
        raise RegistryProtocolError(e.message, reference=target.reference) from e
    for scheme in ("bearer", "basic"):
        for challenge in challenges:
            if challenge.scheme == scheme:
                return challenge
    schemes = ", ".join(sorted({challenge.scheme for challenge in challenges}))
    raise RegistryAuthError(
        f"{target.registry} asks for an unsupported authentication scheme ({schemes})",
        reference=target.reference,
    )


def _token_of(body: bytes, *, target: Target) -> tuple[str, float | None]:
    try:
        document: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RegistryProtocolError(
            f"the token service of {target.registry} answered no JSON", reference=target.reference
        ) from e
    if not isinstance(document, dict):
        document = {}
    # Docker's token protocol says "token"; the OAuth2 form says "access_token".
    token = document.get("token") or document.get("access_token")
    if not isinstance(token, str) or not token:
        raise RegistryProtocolError(
            f"the token service of {target.registry} answered no token",
            reference=target.reference,
        )
    expires_in = document.get("expires_in")
    lifetime = (
        float(expires_in)
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool)
        else None
    )
    return token, lifetime


def _raise_for_status(status: int, body: bytes, *, target: Target, what: str) -> None:
    if 200 <= status < 300:
        return
    codes = _error_codes(body)
    detail = _error_detail(body)
    error: type[RegistryError]
    if status == 404 or codes & _NOT_FOUND_CODES:
        error = ImageNotFoundError
        message = f"{what} not found in {target.registry}"
    elif status in (401, 403) or codes & _AUTH_CODES:
        error = RegistryAuthError
        message = f"{target.registry} denied access to {what}"
    elif status == 429 or status >= 500:
        error = RegistryUnavailableError
        message = f"{target.registry} failed with HTTP {status} for {what}"
    else:
        error = RegistryProtocolError
        message = f"{target.registry} answered HTTP {status} for {what}"
    raise error(message + detail, reference=target.reference)


def _errors_of(body: bytes) -> list[dict[str, Any]]:
    # The distribution spec's error body: {"errors": [{"code": …, "message": …}]}.
    try:
        document = json.loads(body) if body else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return []
    errors = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(errors, list):
        return []
    return [error for error in errors if isinstance(error, dict)]


def _error_codes(body: bytes) -> frozenset[str]:
    return frozenset(str(error.get("code")) for error in _errors_of(body))


def _error_detail(body: bytes) -> str:
    messages = [
        f"{error.get('code', '?')}: {error.get('message', '')}".strip()
        for error in _errors_of(body)
    ]
    return f" ({'; '.join(messages)})" if messages else ""
