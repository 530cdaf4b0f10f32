"""A description of the machine and software a run measured, for the results."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import ssl
import subprocess
from pathlib import Path
from typing import Any

from benchmarks.common.paths import REPO_DIR

_PACKAGES = ("aiohttp", "msgspec", "uvloop", "kopf")


def describe(work: Path) -> dict[str, Any]:
    """CPU, memory, kernel, Python and package versions, revision, temp file system."""
    return {
        "cpu_model": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "memory_gib": round(_meminfo_kib("MemTotal") / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        **{package: _version(package) for package in _PACKAGES},
        "openssl": ssl.OPENSSL_VERSION,
        "imagegate_revision": _git_revision(),
        "temp_filesystem": _filesystem(work),
    }


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _meminfo_kib(field: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def _git_revision() -> str:
    try:
        revision = _git("rev-parse", "--short=12", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{revision}+dirty" if dirty else revision


def _git(*arguments: str) -> str:
    return subprocess.run(
        ["git", *arguments], cwd=REPO_DIR, capture_output=True, text=True, check=True, timeout=10
    ).stdout.strip()


def _filesystem(path: Path) -> str:
    # imagegate's spool fsyncs every admission batch, so where the temp dir lives matters.
    best = ("", "unknown", "unknown")
    for line in Path("/proc/mounts").read_text().splitlines():
        device, mount_point, fs_type, *_ = line.split()
        inside = str(path).startswith(mount_point.rstrip("/") + "/") or str(path) == mount_point
        if inside and len(mount_point) > len(best[0]):
            best = (mount_point, fs_type, device)
    return f"{best[1]} on {best[2]} (mounted at {best[0]})"
