"""``make bench-reconcile``: the cluster watch reconciling 10,000 workloads.

``python -m benchmarks.reconcile [--workloads N]``; with ``--phase`` it is one
phase's process (the run starts those itself).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common.controlplane import binaries, control_plane
from benchmarks.common.paths import REPO_DIR, RESULTS_DIR
from benchmarks.common.results import write_json
from benchmarks.reconcile.fill import fill
from benchmarks.reconcile.phases import floor_phase, imagegate_phase

RESULTS = RESULTS_DIR / "reconcile.json"


def run_phase(phase: str, kubeconfig: Path, work: Path) -> dict[str, Any]:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.reconcile",
            "--phase",
            phase,
            "--kubeconfig",
            str(kubeconfig),
            "--work",
            str(work),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
        cwd=REPO_DIR,
    )
    if completed.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.reconcile", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--workloads", type=int, default=10_000)
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"results ({RESULTS})")
    parser.add_argument("--phase", choices=["floor", "cold", "warm"])
    parser.add_argument("--kubeconfig", type=Path)
    parser.add_argument("--work", type=Path)
    arguments = parser.parse_args()
    if arguments.phase:
        if arguments.phase == "floor":
            result = asyncio.run(floor_phase(arguments.kubeconfig))
        else:
            result = asyncio.run(imagegate_phase(arguments.kubeconfig, arguments.work))
        result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    bin_dir = binaries(os.environ.get("IMAGEGATE_E2E_BIN"))
    if isinstance(bin_dir, str):
        raise SystemExit(bin_dir)
    with tempfile.TemporaryDirectory(prefix="imagegate-reconcile-") as temporary:
        work = Path(temporary)
        with control_plane(bin_dir, work / "plane") as plane:
            started = time.perf_counter()
            asyncio.run(fill(plane.kubeconfig, arguments.workloads))
            print(
                f"filled {arguments.workloads} Deployments in {time.perf_counter() - started:.1f}s"
            )
            phases = {
                phase: run_phase(phase, plane.kubeconfig, work)
                for phase in ("floor", "cold", "warm")
            }
    floor = phases["floor"]
    report = {
        "workloads": arguments.workloads,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "phases": phases,
        "ratios_to_floor": {
            phase: {
                "time": round(result["seconds"] / floor["seconds"], 2),
                "peak_rss": round(result["peak_rss_mib"] / floor["peak_rss_mib"], 2),
            }
            for phase, result in phases.items()
        },
    }
    write_json(arguments.output, report)
    print("| phase | seconds | peak RSS MiB | time / floor | RSS / floor |")
    print("| --- | --: | --: | --: | --: |")
    for phase, result in phases.items():
        ratio = report["ratios_to_floor"][phase]
        print(
            f"| {phase} | {result['seconds']:.2f} | {result['peak_rss_mib']:.1f} "
            f"| {ratio['time']}x | {ratio['peak_rss']}x |"
        )


if __name__ == "__main__":
    main()
