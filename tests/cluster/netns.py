"""A network namespace of the tests' own, which the whole cluster lives in.

Nothing the cluster does reaches the host's network: the node's interface is a
bridge with no ports, pods hang off another bridge inside, and the host only
talks to it by entering the namespace. Processes are started in it with
``nsenter --net=`` on the file ``ip netns add`` makes (not ``ip netns exec``, which
remounts /sys and hides the cgroup mounts from kubelet); Python code that must
talk to it (readiness probes) runs on one thread that has entered it with
``setns(2)``, since a network namespace belongs to a thread, not a process.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

_CLONE_NEWNET = 0x40000000
_NETNS_DIR = Path("/run/netns")
PREFIX = "imagegate-e2e-"

T = TypeVar("T")


class NamespaceError(RuntimeError):
    """The namespace could not be made or entered; the message says which step."""


def run(command: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a host command, failing with its output when ``check`` and it fails."""
    completed = subprocess.run(
        list(command), capture_output=True, text=True, timeout=60, check=False
    )
    if check and completed.returncode != 0:
        raise NamespaceError(
            f"{' '.join(command)} failed ({completed.returncode}): "
            f"{completed.stderr.strip()}{completed.stdout.strip()}"
        )
    return completed


@dataclass
class NetworkNamespace:
    """``ip netns add NAME`` with one bridge as the node's interface."""

    name: str
    node_ip: str
    prefix_length: int = 24
    _executor: ThreadPoolExecutor | None = field(default=None, init=False)

    @property
    def path(self) -> Path:
        return _NETNS_DIR / self.name

    def nsenter(self) -> list[str]:
        """The prefix that runs a command inside the namespace."""
        return ["nsenter", f"--net={self.path}"]

    def create(self) -> None:
        run(["ip", "netns", "add", self.name])
        ip = ["ip", "-n", self.name]
        run([*ip, "link", "set", "lo", "up"])
        run([*ip, "link", "add", "node0", "type", "bridge"])
        run([*ip, "addr", "add", f"{self.node_ip}/{self.prefix_length}", "dev", "node0"])
        run([*ip, "link", "set", "node0", "up"])
        # Service ClusterIPs must be routable before kube-proxy rewrites them; the
        # bridge has no ports, so whatever is not rewritten goes nowhere.
        run([*ip, "route", "add", "default", "dev", "node0"])
        run([*self.nsenter(), "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])

    def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on a thread inside the namespace and return its result."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix=self.name, initializer=self._enter
            )
        return self._executor.submit(function).result()

    def delete(self) -> None:
        """Kill what still runs in the namespace, then remove it."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        kill_processes_in(self.name)
        run(["ip", "netns", "delete", self.name], check=False)

    def _enter(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        descriptor = os.open(self.path, os.O_RDONLY)
        try:
            if libc.setns(descriptor, _CLONE_NEWNET) != 0:
                error = ctypes.get_errno()
                raise NamespaceError(f"setns({self.path}): {os.strerror(error)}")
        finally:
            os.close(descriptor)


def kill_processes_in(name: str) -> None:
    """SIGKILL every process whose network namespace is ``name``."""
    pids = run(["ip", "netns", "pids", name], check=False).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), 9)
        except (ProcessLookupError, ValueError):
            continue


def remove_stale_namespaces() -> None:
    """Namespaces an earlier run left behind (it was killed before its teardown)."""
    if not _NETNS_DIR.is_dir():
        return
    for entry in _NETNS_DIR.iterdir():
        if not entry.name.startswith(PREFIX):
            continue
        owner = entry.name.removeprefix(PREFIX)
        if owner.isdigit() and Path(f"/proc/{owner}").exists():
            continue  # a run still going on
        kill_processes_in(entry.name)
        run(["ip", "netns", "delete", entry.name], check=False)
