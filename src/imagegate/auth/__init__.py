"""API keys for the HTTP API: issuing, hashing, verifying and scopes."""

from imagegate.auth._keys import (
    TOKEN_PREFIX,
    ApiKey,
    IssuedKey,
    MalformedTokenError,
    Scope,
    issue_key,
    secret_matches,
    split_token,
)
from imagegate.auth._store import ApiKeyStore

__all__ = [
    "TOKEN_PREFIX",
    "ApiKey",
    "ApiKeyStore",
    "IssuedKey",
    "MalformedTokenError",
    "Scope",
    "issue_key",
    "secret_matches",
    "split_token",
]
