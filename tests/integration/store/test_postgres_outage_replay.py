"""Four replicas on one PostgreSQL database keep admitting through an outage, and lose nothing.

The outage is a stuck writer: another connection holds a lock that blocks every write
to the deployment records, so the replicas' writes run into their statement timeout.
Admissions must keep being answered (they wait only on each replica's local spool);
once the lock goes, every replica replays its spool and every admitted deployment is
recorded exactly once, in order.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]

from imagegate.api import TRACKER
from imagegate.server import RECORDER, SPOOL
from imagegate.tracking import DeploymentQuery, Status
from support.postgres import fresh_store_url
from support.reviews import review
from support.webhook import Webhook, running_webhook, webhook_settings

REPLICAS = 4
DEPLOYMENTS = 12
V1 = "sha256:" + "1" * 64
V2 = "sha256:" + "2" * 64
ALL_ANSWERS_WITHIN_S = 30.0


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


async def test_replicas_answer_through_an_outage_and_replay_exactly_once(tmp_path: Path) -> None:
    url = await fresh_store_url()
    store_url = f"{url}&statement_timeout_ms=200"
    async with AsyncExitStack() as stack:
        replicas: list[Webhook] = []
        for number in range(REPLICAS):
            home = tmp_path / f"replica-{number}"
            settings = replace(webhook_settings(home), store_url=store_url)
            replicas.append(
                await stack.enter_async_context(running_webhook(settings, home / "certs"))
            )

        blocker = await asyncpg.connect(url)
        stack.push_async_callback(blocker.close)
        outage = blocker.transaction()
        await outage.start()
        # Blocks every write and FOR UPDATE, not plain reads: a stuck writer.
        await blocker.execute("LOCK TABLE deployments IN EXCLUSIVE MODE")
        # The API server sends each object's admissions to one replica or another; here
        # each deployment keeps to one, so that its three steps are spooled in order.
        rollouts = asyncio.gather(
            *(roll_out(replicas[i % REPLICAS], i) for i in range(DEPLOYMENTS))
        )
        answers = await asyncio.wait_for(rollouts, ALL_ANSWERS_WITHIN_S)
        assert all(all(allowed) for allowed in answers)
        for replica in replicas:
            await asyncio.wait_for(
                replica.app[RECORDER].store_unavailable.wait(), ALL_ANSWERS_WITHIN_S
            )
        depths = [await replica.app[SPOOL].depth() for replica in replicas]
        assert sum(depths) == 3 * DEPLOYMENTS
        await outage.rollback()

        for replica in replicas:
            await asyncio.wait_for(replica.app[RECORDER].drain(), ALL_ANSWERS_WITHIN_S)
        page = (
            await replicas[0]
            .app[TRACKER]
            .list_deployments(DeploymentQuery(history=True, limit=1000))
        )
        by_name: dict[str, list[tuple[str, Status]]] = {}
        for record in sorted(page.records, key=lambda r: r.id):
            by_name.setdefault(record.key.deployment_name, []).append(
                (record.artifact.digest, record.status)
            )
        assert by_name == {
            f"shop/web-{index}/c0": [(V1, Status.SUPERSEDED), (V2, Status.DEPLOYED)]
            for index in range(DEPLOYMENTS)
        }
        positions = await blocker.fetch("SELECT source, last_sequence FROM queue_positions")
        assert len(positions) == REPLICAS
        assert sorted(row["last_sequence"] for row in positions) == sorted(depths)
