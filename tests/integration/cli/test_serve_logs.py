"""``imagegate serve`` logs JSON lines on stderr."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from support.processes import free_port


def test_serve_logs_json_lines(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "imagegate",
            "serve",
            "--listen",
            f"127.0.0.1:{free_port()}",
            "--store",
            f"sqlite:///{tmp_path / 'db'}",
            "--spool",
            str(tmp_path / "spool.db"),
            "--no-namespace-labels",
            "--cluster-name",
            "k8s-logs",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        first = json.loads(process.stderr.readline())
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        if process.stderr is not None:
            process.stderr.close()
    assert first["event"] == "server_starting"
    assert first["level"] == "info"
    assert first["timestamp"].endswith("Z")
    assert first["url"].startswith("http://127.0.0.1:")
    assert first["event_loop"] == "uvloop", "installed with imagegate, and chosen by default"
