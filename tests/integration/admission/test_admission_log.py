"""One structured log line per admission, with what an operator needs and no secrets."""

from __future__ import annotations

import json
from typing import Any

from structlog.testing import capture_logs

from support.reviews import review
from support.webhook import Webhook

IMAGE = "ghcr.io/acme/web:1.0@sha256:" + "1" * 64
SECRET = "hunter2-do-not-log"


async def test_one_line_per_admission_without_secrets(webhook: Webhook) -> None:
    document = review("Deployment", "web", "shop", [IMAGE])
    container: dict[str, Any] = document["request"]["object"]["spec"]["template"]["spec"][
        "containers"
    ][0]
    container["env"] = [{"name": "DB_PASSWORD", "value": SECRET}]
    with capture_logs() as logs:
        status, _ = await webhook.post("/validate", document)
    assert status == 200
    (line,) = [entry for entry in logs if entry["event"] == "admission"]
    assert line["uid"] == document["request"]["uid"]
    assert (line["namespace"], line["kind"], line["name"]) == ("shop", "Deployment", "web")
    assert line["workload"] == "Deployment/web"
    assert line["images"] == [IMAGE]
    assert line["decision"] == "allow"
    assert line["records"] == 1
    assert isinstance(line["latency_ms"], float)
    assert SECRET not in json.dumps(logs, default=str)


async def test_an_admission_that_writes_history_is_logged_at_info_and_a_repeat_is_not(
    webhook: Webhook,
) -> None:
    document = review("Deployment", "web", "shop", [IMAGE])
    with capture_logs() as logs:
        await webhook.post("/validate", document)
        await webhook.post("/validate", review("Deployment", "web", "shop", [IMAGE]))
    lines = [entry for entry in logs if entry["event"] == "admission"]
    first = lines[0]
    repeat = lines[1] if len(lines) > 1 else {}
    assert first["log_level"] == "info"
    assert first["recorded"] == ["shop/web/c0"]
    # The same deployment again, held back as a heartbeat: routine, below info.
    assert repeat.get("log_level", "debug") == "debug"
    assert repeat.get("recorded", []) == []
