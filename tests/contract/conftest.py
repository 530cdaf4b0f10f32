"""Fixtures of the store contract: every store implementation must pass the same tests.

Adding an implementation is one more ``pytest.param`` in ``STORE_KINDS`` and one more
branch in ``open_store_of_kind``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import pytest

from imagegate.auth import ApiKeyStore
from imagegate.store import PostgresStore, SqliteStore
from imagegate.tracking import Store, Tracker
from support.postgres import fresh_store_url

STORE_KINDS = [
    pytest.param("sqlite", id="sqlite"),
    # A real server: started for the session, skipped (failed under CI) without one.
    pytest.param("postgresql", id="postgresql"),
]


class ContractStore(Store, ApiKeyStore, Protocol):
    """What every store offers: deployment records, environments and API keys."""


class SteppingClock:
    """A clock that moves one second forward on every reading, so stamps strictly increase."""

    def __init__(self, start: datetime = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)) -> None:
        self._next = start

    def now(self) -> datetime:
        current = self._next
        self._next += timedelta(seconds=1)
        return current


async def open_store_of_kind(kind: str, tmp_path: Path) -> ContractStore:
    if kind == "sqlite":
        return await SqliteStore.open(tmp_path / "imagegate.db")
    if kind == "postgresql":
        return await PostgresStore.open(await fresh_store_url())
    raise AssertionError(f"no store implementation called {kind!r}")


@pytest.fixture(params=STORE_KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ContractStore]:
    """A freshly opened, empty (but migrated) store, closed after the test."""
    opened = await open_store_of_kind(request.param, tmp_path)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
def tracker(store: ContractStore, clock: SteppingClock) -> Tracker:
    """A tracker on ``store`` whose clock ticks one second per recording."""
    return Tracker(store, clock=clock.now)
