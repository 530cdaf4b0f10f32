"""Fixtures: a real ``docker-registry`` process, a counting HTTP session, a pusher."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from imagegate.registry import RegistryClient, RegistrySettings
from support.registry import LocalRegistry, OciPusher, RequestLog


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """One anonymous registry for the session; tests push to repositories of their own."""
    local = LocalRegistry(work_dir=tmp_path_factory.mktemp("registry"))
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture
def request_log() -> RequestLog:
    return RequestLog()


@pytest.fixture
async def http(request_log: RequestLog) -> AsyncIterator[aiohttp.ClientSession]:
    """The session the client under test uses; ``request_log`` sees its requests."""
    async with aiohttp.ClientSession(trace_configs=[request_log.trace_config()]) as session:
        yield session


@pytest.fixture
async def push_session() -> AsyncIterator[aiohttp.ClientSession]:
    """A separate session for pushing, so pushes are not counted as client requests."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def pusher(registry: LocalRegistry, push_session: aiohttp.ClientSession) -> OciPusher:
    return OciPusher(push_session, registry.url)


@pytest.fixture
def settings() -> RegistrySettings:
    return RegistrySettings(timeout_s=5.0)


@pytest.fixture
def client(http: aiohttp.ClientSession, settings: RegistrySettings) -> RegistryClient:
    return RegistryClient(settings, session=http)
