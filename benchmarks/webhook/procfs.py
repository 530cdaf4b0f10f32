"""What ``/proc`` says about processes and the machine: CPU time, memory, event loop."""

from __future__ import annotations

import os
import time
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """User plus system CPU seconds of process ``pid`` (all its threads)."""
    with open(f"/proc/{pid}/stat", "rb") as stat:
        text = stat.read()
    # The command name may hold spaces and parentheses; fields follow the last ')'.
    fields = text[text.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def status_mib(pid: int, field: str) -> float:
    """A memory field of ``/proc/PID/status`` (``VmRSS``, ``VmHWM``) in MiB; 0 if absent."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def machine_cpu_s() -> tuple[float, float]:
    """CPU seconds of all CPUs since boot: in user or system mode, and stolen."""
    with open("/proc/stat", "rb") as stat:
        # "cpu  user nice system idle iowait irq softirq steal guest guest_nice"
        ticks = [int(value) for value in stat.readline().split()[1:9]]
    return (ticks[0] + ticks[1] + ticks[2]) / _CLOCK_TICKS, ticks[7] / _CLOCK_TICKS


def busy_cores(seconds: float) -> float:
    """Cores kept busy (user, system or stolen) on the whole machine over ``seconds``."""
    busy, steal = machine_cpu_s()
    time.sleep(seconds)
    busy_after, steal_after = machine_cpu_s()
    return (busy_after - busy + steal_after - steal) / seconds


def event_loop_of(pid: int) -> str:
    """``uvloop`` when process ``pid`` has uvloop's extension loaded, else ``asyncio``.

    Read from its memory maps, so it tells what the process runs, not what it was
    asked to: a server that imports uvloop but keeps asyncio's loop is rare enough
    not to matter here."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return "unknown"
    return "uvloop" if "/uvloop/loop." in maps else "asyncio"
