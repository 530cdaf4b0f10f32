"""What the benchmark asks imagegate, outside the load: metrics, API keys, its store and spool."""

from __future__ import annotations

import re
import sqlite3
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import msgspec

from benchmarks.webhook.servers import CLUSTER, inherited_env

_SETTLE_TIMEOUT_S = 120.0
_SAMPLE = re.compile(r"^(imagegate_[a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$")


def scrape_metrics(base_url: str, context: ssl.SSLContext) -> dict[str, float]:
    """imagegate's own counters, summed over labels except records_written's outcome and
    the admission decision."""
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=5, context=context) as page:
        text = page.read().decode()
    values: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None or match.group(1).endswith("_created"):
            continue
        name, labels, value = match.group(1), match.group(2) or "", float(match.group(3))
        if name.endswith(("_bucket", "_sum", "_count")):
            continue
        if name == "imagegate_records_written_total":
            name = f"{name}{labels}"
        elif name == "imagegate_admission_requests_total":
            decision = re.search(r'decision="([a-z]+)"', labels)
            name = f"{name}{{decision={decision.group(1) if decision else '?'}}}"
        values[name] = values.get(name, 0.0) + value
    return values


def wait_spool_drained(base_url: str, context: ssl.SSLContext) -> None:
    """Until imagegate's spool is empty: its recorder has caught up with admission."""
    # The gauge is set by the recorder between batches; two empty readings in a row
    # rule out one taken just before the last append was picked up.
    deadline = time.monotonic() + _SETTLE_TIMEOUT_S
    empty_readings = 0
    while time.monotonic() < deadline:
        depth = scrape_metrics(base_url, context).get("imagegate_spool_depth")
        empty_readings = empty_readings + 1 if depth == 0 else 0
        if empty_readings == 2:
            return
        time.sleep(0.05)
    raise TimeoutError(f"imagegate's spool did not drain within {_SETTLE_TIMEOUT_S} s")


def create_api_key(store: Path, *, scope: str, name: str) -> str:
    """A new API key on ``store`` (``imagegate apikey create``), as the docs create one."""
    completed = _cli(store, "apikey", "create", "--scope", scope, "--name", name)
    return completed.strip()


def deployments(store: Path, *, history: bool) -> list[dict[str, Any]]:
    """``imagegate deployment list --env bench`` on ``store``, as JSON."""
    arguments = ["deployment", "list", "--env", CLUSTER, "-o", "json"]
    if history:
        arguments.append("--history")
    records: list[dict[str, Any]] = msgspec.json.decode(_cli(store, *arguments))
    return records


def spool_left(spool: Path) -> tuple[int, int]:
    """Requests still waiting in the spool, and those parked (refused by the store)."""
    connection = sqlite3.connect(f"file:{spool}?mode=ro", uri=True)
    try:
        spooled = connection.execute("SELECT count(*) FROM spooled").fetchone()[0]
        parked = connection.execute("SELECT count(*) FROM parked").fetchone()[0]
    finally:
        connection.close()
    return int(spooled), int(parked)


def _cli(store: Path, *arguments: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-m", "imagegate", "--store", f"sqlite:///{store}", *arguments],
        capture_output=True,
        check=True,
        timeout=120,
        env=inherited_env(),
        text=True,
    )
    return completed.stdout
