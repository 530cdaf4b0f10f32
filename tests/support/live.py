"""A real imagegate server on a loopback socket, and a real HTTP client for it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from imagegate.auth import Scope, issue_key
from imagegate.server import ServerSettings, build_app
from imagegate.store import SqliteStore
from imagegate.tracking import utc_now

TokenFactory = Callable[..., Awaitable[str]]


@dataclass
class Answer:
    """An HTTP answer, read in full."""

    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class LiveServer:
    """A running server, its store file and a client that speaks to it."""

    url: str
    store_path: Path
    session: aiohttp.ClientSession

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        async with self.session.request(
            method, self.url + path, json=json, data=data, headers=sent, params=params
        ) as response:
            text = await response.text()
            body = await response.json() if response.content_type == "application/json" else text
            return Answer(status=response.status, body=body, headers=dict(response.headers))


async def add_token(store_path: Path, *scopes: Scope) -> str:
    """Issue a key with ``scopes`` straight into the store; returns its token."""
    store = await SqliteStore.open(store_path)
    try:
        issued = issue_key(name="test", scopes=frozenset(scopes), now=utc_now())
        await store.add_api_key(issued.key)
    finally:
        await store.close()
    return issued.token


async def start_server(settings: ServerSettings) -> tuple[web.AppRunner, str]:
    """Start the app on a free loopback port; returns the runner and the base URL."""
    runner = web.AppRunner(build_app(settings), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"
