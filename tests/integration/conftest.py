"""Fixtures: a real imagegate server on a loopback socket, with API keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from imagegate.admission import AdmissionSettings
from imagegate.api import ApiSettings
from imagegate.auth import Scope
from imagegate.server import ServerSettings
from imagegate.store import SqliteStore
from support.live import LiveServer, TokenFactory, add_token, start_server


@pytest.fixture
def server_settings(tmp_path: Path) -> ServerSettings:
    return ServerSettings(
        store_url=f"sqlite:///{tmp_path / 'imagegate.db'}",
        api=ApiSettings(api_key_cache_ttl_s=0.0, max_body_bytes=16 * 1024),
        admission=AdmissionSettings(spool_path=tmp_path / "spool.db", namespace_labels=False),
    )


@pytest.fixture
async def live_server(server_settings: ServerSettings, tmp_path: Path) -> AsyncIterator[LiveServer]:
    store_path = tmp_path / "imagegate.db"
    # Migrate the file first so that tokens can be added before the server opens it.
    await (await SqliteStore.open(store_path)).close()
    runner, url = await start_server(server_settings)
    try:
        async with aiohttp.ClientSession() as session:
            yield LiveServer(url=url, store_path=store_path, session=session)
    finally:
        await runner.cleanup()


@pytest.fixture
def make_token(live_server: LiveServer) -> TokenFactory:
    async def make(*scopes: Scope) -> str:
        return await add_token(live_server.store_path, *scopes)

    return make


@pytest.fixture
async def token(make_token: TokenFactory) -> str:
    """A key with read and write scopes."""
    return await make_token(Scope.READ, Scope.WRITE)
