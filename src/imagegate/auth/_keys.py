"""API keys: opaque bearer tokens, stored only as hashes, with scopes."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from imagegate.errors import InvalidInputError

TOKEN_PREFIX = "igk"  # noqa: S105 - a public prefix, not a secret
"""Every token starts with this, so secret scanners and people can recognise one."""

_KEY_ID_BYTES = 6
_SECRET_BYTES = 32


class Scope(enum.StrEnum):
    """What a key may do. Scopes are independent: ``write`` does not imply ``read``."""

    READ = "read"
    """List and describe deployments and environments."""
    WRITE = "write"
    """Record deployments and create environments."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored API key; the secret itself is never stored, only its SHA-256."""

    key_id: str
    name: str
    secret_hash: str
    scopes: frozenset[Scope]
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Whether the key still authenticates."""
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key and the token that proves it; the token is shown once and never again."""

    key: ApiKey
    token: str


class MalformedTokenError(InvalidInputError):
    """A bearer token that is not shaped like one of ours."""


def issue_key(*, name: str, scopes: frozenset[Scope], now: datetime) -> IssuedKey:
    """Make a new key with a random secret."""
    if not scopes:
        raise ValueError("an API key needs at least one scope")
    key_id = secrets.token_hex(_KEY_ID_BYTES)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    key = ApiKey(
        key_id=key_id,
        name=name,
        secret_hash=hash_secret(secret),
        scopes=scopes,
        created_at=now,
    )
    return IssuedKey(key=key, token=f"{TOKEN_PREFIX}_{key_id}_{secret}")


def split_token(token: str) -> tuple[str, str]:
    """Return (key id, secret) of ``token``, or raise MalformedTokenError."""
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or len(key_id) != 2 * _KEY_ID_BYTES or not secret:
        raise MalformedTokenError("not an imagegate API token")
    return key_id, secret


def hash_secret(secret: str) -> str:
    """Hash a token secret.

    A plain SHA-256 is enough here (unlike for passwords): the secret is 256 random
    bits, so there is nothing for a slow hash to protect against guessing.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(key: ApiKey, secret: str) -> bool:
    """Compare in constant time, so response timing does not leak the hash."""
    return hmac.compare_digest(key.secret_hash, hash_secret(secret))
