"""The seam between API-key handling and a database."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from imagegate.auth._keys import ApiKey


class ApiKeyStore(Protocol):
    """Durable API keys (hashes and scopes, never secrets)."""

    async def add_api_key(self, key: ApiKey) -> None:
        """Store a new key."""
        ...

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        """The key with id ``key_id``, revoked or not."""
        ...

    async def list_api_keys(self) -> list[ApiKey]:
        """All keys, oldest first."""
        ...

    async def revoke_api_key(self, key_id: str, *, now: datetime) -> bool:
        """Revoke a key; false if there is no active key with that id."""
        ...
