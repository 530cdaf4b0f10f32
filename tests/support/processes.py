"""Real ``imagegate`` processes: the CLI, and a server started and stopped by tests.

``free_port`` is ``testbed.processes``'s, here too so that the tests find every
process helper in one place.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testbed.processes import free_port, stop_process

__all__ = ["Completed", "free_port", "run_cli", "serve_until_refused", "server_process"]

_READY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Completed:
    """What a CLI run printed and returned."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(
    arguments: Sequence[str], *, store: Path | None = None, env: dict[str, str] | None = None
) -> Completed:
    """Run ``imagegate ARGS`` as its own process, as a user would."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("IMAGEGATE_")
    }
    if store is not None:
        environment["IMAGEGATE_STORE"] = f"sqlite:///{store}"
    environment.update(env or {})
    completed = subprocess.run(
        [sys.executable, "-m", "imagegate", *arguments],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )
    return Completed(completed.returncode, completed.stdout, completed.stderr)


def serve_until_refused(
    tmp_path: Path, *flags: str, env: dict[str, str] | None = None
) -> tuple[int, str]:
    """``imagegate serve FLAGS`` on a free port and files in ``tmp_path``, for flags it
    must refuse: (exit code, stderr)."""
    completed = run_cli(
        [
            "serve",
            "--listen",
            f"127.0.0.1:{free_port()}",
            "--spool",
            str(tmp_path / "spool.db"),
            "--no-namespace-labels",
            *flags,
        ],
        store=tmp_path / "imagegate.db",
        env=env,
    )
    return completed.exit_code, completed.stderr


@contextmanager
def server_process(
    store: Path, *extra: str, store_url: str | None = None, log: Path | None = None
) -> Iterator[str]:
    """Run ``imagegate serve`` on a free loopback port; yields its base URL.

    ``store_url`` replaces the SQLite file ``store`` (whose name still names the spool);
    ``log`` takes the server's stderr instead of a pipe nobody reads while it runs.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_file = None if log is None else log.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "imagegate",
            "serve",
            "--listen",
            f"127.0.0.1:{port}",
            "--store",
            store_url or f"sqlite:///{store}",
            "--log-level",
            "warning",
            "--spool",
            str(store.with_suffix(".spool.db")),
            "--no-namespace-labels",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if log_file is None else log_file,
        text=True,
    )
    if log_file is not None:
        log_file.close()  # the server has its own copy
    try:
        _wait_until_healthy(url, process)
        yield url
    finally:
        stop_process(process, timeout_s=20)
        if process.stderr is not None:
            process.stderr.close()


def _wait_until_healthy(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    delay = 0.02
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read() if process.stderr else "(see the log file)"
            raise RuntimeError(f"imagegate serve exited with {process.returncode}: {stderr}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        # Polling is the only signal a separate process gives that it listens.
        time.sleep(delay)
        delay = min(delay * 2, 0.25)
    raise TimeoutError(f"imagegate serve did not answer /healthz at {url} in time")
