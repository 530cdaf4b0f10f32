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
