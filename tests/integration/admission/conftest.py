"""A real imagegate webhook over TLS, with its store and spool in a temporary directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from support.webhook import Webhook, running_webhook, webhook_settings


@pytest.fixture
async def webhook(tmp_path: Path) -> AsyncIterator[Webhook]:
    async with running_webhook(webhook_settings(tmp_path), tmp_path / "certs") as running:
        yield running
