"""``serve_until``, the path ``imagegate serve`` takes: one event loop, every part open
before the socket listens, and every part closed however the run ends.

Real TLS on loopback, a real SQLite store and spool; nothing is mocked.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from imagegate.registry import DockerConfigError
from imagegate.server import ServerSettings, SettingsError, serve_until
from support.processes import free_port
from support.webhook import certificates, webhook_settings


def tls_settings(tmp_path: Path, port: int) -> tuple[ServerSettings, ssl.SSLContext]:
    ca_file, cert, key = certificates(tmp_path)
    settings = replace(
        webhook_settings(tmp_path), host="127.0.0.1", port=port, tls_cert=cert, tls_key=key
    )
    return settings, ssl.create_default_context(cafile=ca_file)


def other_tasks() -> set[asyncio.Task[object]]:
    return asyncio.all_tasks() - {asyncio.current_task()}


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


async def wait_ready(session: aiohttp.ClientSession, url: str) -> None:
    for _ in range(200):
        try:
            async with session.get(url + "/readyz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never became ready")


async def test_serves_webhooks_and_api_over_tls_then_closes_every_part(tmp_path: Path) -> None:
    port = free_port()
    settings, client_tls = tls_settings(tmp_path, port)
    stopping = asyncio.Event()
    server = asyncio.create_task(serve_until(stopping, settings))
    url = f"https://localhost:{port}"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_tls)) as session:
        await wait_ready(session, url)
        # The API is a sub-application under /api/v1; the parent's middleware answers
        # its errors (and those of paths nobody serves) as JSON.
        async with session.get(url + "/api/v1/openapi.json") as response:
            assert response.status == 200
            assert (await response.json())["openapi"].startswith("3.")
        async with session.get(url + "/api/v1/deployments") as response:
            assert response.status == 401
            assert (await response.json())["error"]["code"] == "unauthenticated"
        async with session.get(url + "/api/v1/no-such-thing") as response:
            assert response.status == 404
            assert (await response.json())["error"]["code"] == "not_found"
        async with session.post(url + "/validate", data=b"{}") as response:
            assert response.status == 400
            assert (await response.json())["error"]["code"] == "wrong_content_type"
    stopping.set()
    await asyncio.wait_for(server, 30)
    assert not listening(port)
    assert other_tasks() == set(), "every background task (recorder, watches) is stopped"


async def test_a_part_failing_at_start_closes_the_parts_opened_before_it(tmp_path: Path) -> None:
    port = free_port()
    settings, _ = tls_settings(tmp_path, port)
    missing = tmp_path / "no-such-config.json"
    settings = replace(settings, admission=replace(settings.admission, registry_config=missing))
    with pytest.raises(DockerConfigError, match=r"--registry-config .*cannot be read"):
        await asyncio.wait_for(serve_until(asyncio.Event(), settings), 30)
    assert not listening(port), "nothing listens before every part is open"
    # The store, spool, recorder and TLS reload opened before the registry part did.
    assert other_tasks() == set()


async def test_a_port_in_use_is_a_settings_error_and_closes_every_part(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings, _ = tls_settings(tmp_path, port)
        with pytest.raises(SettingsError, match=f"cannot listen on 127.0.0.1:{port}"):
            await asyncio.wait_for(serve_until(asyncio.Event(), settings), 30)
    assert other_tasks() == set()
