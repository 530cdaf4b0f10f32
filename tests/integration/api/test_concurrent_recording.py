"""Concurrent HTTP recordings of one key leave exactly one deployed record."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter

from support.live import LiveServer

REQUESTS = 120
DIGESTS = [f"sha256:{number:064x}" for number in range(1, 7)]


async def test_concurrent_posts_to_one_key(live_server: LiveServer, token: str) -> None:
    async def post(index: int) -> str:
        body = {
            "environment": "deployed",
            "logical_environment": "production",
            "deployment_name": "api-server",
            "reference": f"ghcr.io/acme/api@{DIGESTS[index % len(DIGESTS)]}",
        }
        answer = await live_server.call("POST", "/api/v1/deployments", token=token, json=body)
        assert answer.status in (200, 201), answer.body
        outcome: str = answer.body["outcome"]
        return outcome

    outcomes = Counter(await asyncio.gather(*(post(index) for index in range(REQUESTS))))
    history = await live_server.call(
        "GET", "/api/v1/deployments", token=token, params={"history": "true", "limit": "1000"}
    )
    records = history.body["items"]
    assert [r["status"] for r in records].count("deployed") == 1
    # Every row was created by exactly one call; all other calls were heartbeats.
    assert outcomes["created"] == 1
    assert outcomes["created"] + outcomes["superseded"] == len(records)
    assert outcomes["refreshed"] == REQUESTS - len(records)
    # The history is one chain, newest first.
    for newer, older in itertools.pairwise(records):
        assert older["status"] == "superseded"
        assert older["superseded_by"] == newer["id"]
        assert older["artifact"]["digest"] != newer["artifact"]["digest"]
