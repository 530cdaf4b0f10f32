"""Admission keeps answering while the store is unavailable, and loses nothing.

The store is made unwritable the way a busy or broken database is: another
connection holds its write lock. Answers must keep coming (they only wait on the
local spool); once the store is writable again, every admitted deployment is
recorded exactly once, in order, even across a restart of the server.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from imagegate.api import TRACKER
from imagegate.server import RECORDER, SPOOL
from imagegate.tracking import DeploymentQuery, DeploymentRecord, Status
from support.reviews import review
from support.webhook import Webhook, running_webhook, webhook_settings

DEPLOYMENTS = 12
V1 = "sha256:" + "1" * 64
V2 = "sha256:" + "2" * 64
# Generous: with the store locked, an admission that waited on it would never finish.
ALL_ANSWERS_WITHIN_S = 30.0


@contextmanager
def locked_store(path: Path) -> Iterator[None]:
    """Hold the store's write lock from another connection, as a stuck writer would."""
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


async def roll_out(webhook: Webhook, index: int) -> list[bool]:
    """Create web-N at v1, heartbeat it, update it to v2: three admissions in order."""
    name = f"web-{index}"
    v1, v2 = f"ghcr.io/acme/web@{V1}", f"ghcr.io/acme/web@{V2}"
    steps = [
        review("Deployment", name, "shop", [v1]),
        review("Deployment", name, "shop", [v1], operation="UPDATE", old_images=[v1]),
        review("Deployment", name, "shop", [v2], operation="UPDATE", old_images=[v1]),
    ]
    allowed = []
    for step in steps:
        status, answer = await webhook.post("/validate", step)
        assert status == 200
        allowed.append(answer["response"]["allowed"])
    return allowed


async def history(webhook: Webhook) -> list[DeploymentRecord]:
    page = await webhook.app[TRACKER].list_deployments(DeploymentQuery(history=True, limit=1000))
    return list(page.records)


def assert_each_recorded_exactly_once(records: list[DeploymentRecord]) -> None:
    by_name: dict[str, list[tuple[str, Status]]] = {}
    for record in sorted(records, key=lambda r: r.id):
        by_name.setdefault(record.key.deployment_name, []).append(
            (record.artifact.digest, record.status)
        )
    assert by_name == {
        f"shop/web-{index}/c0": [(V1, Status.SUPERSEDED), (V2, Status.DEPLOYED)]
        for index in range(DEPLOYMENTS)
    }


async def test_admission_answers_while_the_store_is_locked(tmp_path: Path) -> None:
    settings = webhook_settings(tmp_path, store_options="?busy_timeout_ms=50")
    async with running_webhook(settings, tmp_path / "certs") as webhook:
        with locked_store(tmp_path / "imagegate.db"):
            rollouts = asyncio.gather(*(roll_out(webhook, i) for i in range(DEPLOYMENTS)))
            answers = await asyncio.wait_for(rollouts, ALL_ANSWERS_WITHIN_S)
            assert all(all(allowed) for allowed in answers)
            assert await webhook.app[SPOOL].depth() == 3 * DEPLOYMENTS
            recorder = webhook.app[RECORDER]
            await asyncio.wait_for(recorder.store_unavailable.wait(), ALL_ANSWERS_WITHIN_S)
            _, metrics = await webhook.get("/metrics")
            assert "imagegate_record_store_failures_total 0.0" not in metrics
        await webhook.app[RECORDER].drain()
        assert_each_recorded_exactly_once(await history(webhook))
        _, metrics = await webhook.get("/metrics")
        assert 'imagegate_records_written_total{outcome="created"} 12.0' in metrics
        assert 'imagegate_records_written_total{outcome="refreshed"} 12.0' in metrics
        assert 'imagegate_records_written_total{outcome="superseded"} 12.0' in metrics


async def test_spooled_deployments_survive_a_restart(tmp_path: Path) -> None:
    settings = replace(
        webhook_settings(tmp_path, store_options="?busy_timeout_ms=50"), shutdown_drain_s=0.2
    )
    async with running_webhook(settings, tmp_path / "certs") as webhook:
        with locked_store(tmp_path / "imagegate.db"):
            await asyncio.gather(*(roll_out(webhook, i) for i in range(DEPLOYMENTS)))
            # The server stops while the store is still unavailable: all stays spooled.
            await webhook.stop()
    async with running_webhook(settings, tmp_path / "certs") as webhook:
        await webhook.app[RECORDER].drain()
        assert_each_recorded_exactly_once(await history(webhook))
