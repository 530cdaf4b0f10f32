"""A rollout's repeated admissions: held back from the spool, never lost, kept in order.

A real webhook over TLS with its SQLite spool and store: the first admission of an
image is spooled before the answer, its repeats are held in memory and the latest
reaches the store when the interval ends, before a new image, or at shutdown.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from imagegate.api import TRACKER
from imagegate.server import RECORDER, SPOOL
from imagegate.tracking import DeploymentQuery, DeploymentRecord, Status
from support.reviews import review
from support.webhook import Webhook, running_webhook, webhook_settings

V1 = "ghcr.io/acme/web@sha256:" + "1" * 64
V2 = "ghcr.io/acme/web@sha256:" + "2" * 64
NAME = "shop/web/c0"


async def admit(webhook: Webhook, image: str, *, operation: str = "CREATE") -> None:
    old = [image] if operation == "UPDATE" else None
    body = review("Deployment", "web", "shop", [image], operation=operation, old_images=old)
    status, answer = await webhook.post("/validate", body)
    assert status == 200
    assert answer["response"]["allowed"] is True


async def history(webhook: Webhook) -> list[DeploymentRecord]:
    query = DeploymentQuery(deployment_name=NAME, history=True, limit=100)
    page = await webhook.app[TRACKER].list_deployments(query)
    return sorted(page.records, key=lambda record: record.id)


async def test_repeats_are_held_and_the_last_one_is_written_at_shutdown(tmp_path: Path) -> None:
    settings = webhook_settings(tmp_path)
    async with running_webhook(settings, tmp_path / "certs") as webhook:
        await admit(webhook, V1)
        for _ in range(5):
            await admit(webhook, V1, operation="UPDATE")
        # Only the first admission went to the spool; five repeats wait in memory.
        await webhook.app[RECORDER].drain()
        assert await webhook.app[SPOOL].depth() == 0
        [record] = await history(webhook)
        first_seen = record.last_seen_at
        _, metrics = await webhook.get("/metrics")
        assert "imagegate_heartbeats_held_total 5.0" in metrics
        await webhook.stop()
    async with running_webhook(settings, tmp_path / "certs") as webhook:
        [record] = await history(webhook)
        assert record.status is Status.DEPLOYED
        assert record.last_seen_at > first_seen, "the held repeat was lost at shutdown"


async def test_a_new_image_follows_the_held_repeat_of_the_old_one(tmp_path: Path) -> None:
    async with running_webhook(webhook_settings(tmp_path), tmp_path / "certs") as webhook:
        await admit(webhook, V1)
        await admit(webhook, V1, operation="UPDATE")
        await admit(webhook, V2, operation="UPDATE")
        await admit(webhook, V1, operation="UPDATE")  # a rollback: recorded at once
        await webhook.app[RECORDER].drain()
        records = await history(webhook)
        assert [(r.artifact.digest[-1], r.status) for r in records] == [
            ("1", Status.SUPERSEDED),
            ("2", Status.SUPERSEDED),
            ("1", Status.DEPLOYED),
        ]
        # The repeat of v1 reached the store before v2 superseded it.
        assert records[0].last_seen_at > records[0].created_at


async def test_an_interval_of_zero_spools_every_admission(tmp_path: Path) -> None:
    settings = webhook_settings(tmp_path)
    settings = replace(settings, admission=replace(settings.admission, heartbeat_interval_s=0))
    async with running_webhook(settings, tmp_path / "certs") as webhook:
        await admit(webhook, V1)
        await admit(webhook, V1, operation="UPDATE")
        await webhook.app[RECORDER].drain()
        _, metrics = await webhook.get("/metrics")
        assert 'imagegate_records_written_total{outcome="refreshed"} 1.0' in metrics
        assert "imagegate_heartbeats_held_total 0.0" in metrics
