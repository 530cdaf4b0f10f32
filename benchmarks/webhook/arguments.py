"""The webhook benchmark's command line: every flag, its default, and what it checks."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from benchmarks.common.paths import REPO_DIR, RESULTS_DIR
from benchmarks.webhook.loops import CHOICES
from benchmarks.webhook.servers import ENFORCE, SERVERS

DEFAULT_RESULTS = RESULTS_DIR / "latest.json"
DEFAULT_DOCS = REPO_DIR / "docs" / "benchmarks.md"

_Number = TypeVar("_Number", int, float)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The run's settings from ``argv`` (``sys.argv`` when ``None``), checked."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.webhook",
        description="Benchmark imagegate's /validate against a bare aiohttp floor and kopf.",
    )
    parser.add_argument(
        "--servers",
        default=",".join(SERVERS),
        help=f"comma-separated subset of {','.join(SERVERS)} (all)",
    )
    parser.add_argument(
        "--concurrency", default="1,8,32", help="closed loop: levels in flight (1,8,32; '' none)"
    )
    parser.add_argument("--duration", type=float, default=8.0, help="closed loop: measured s (8)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up s before each run (2)")
    parser.add_argument("--rates", default="500", help="open loop: requests/s (500; '' none)")
    parser.add_argument(
        "--open-duration", type=float, default=10.0, help="open loop: measured s (10)"
    )
    parser.add_argument(
        "--connections", type=int, default=64, help="open loop: keep-alive connections (64)"
    )
    parser.add_argument(
        "--max-outstanding",
        type=int,
        default=256,
        help="open loop: unanswered requests beyond which one due is not sent (256)",
    )
    parser.add_argument(
        "--soak", type=float, default=300.0, help="imagegate-enforce soak, s (300; 0 skips)"
    )
    parser.add_argument("--soak-rate", type=float, default=500.0, help="soak requests/s (500)")
    parser.add_argument(
        "--imagegate-args",
        default="",
        help="extra flags for both imagegate serve processes, e.g. '--heartbeat-interval 5'",
    )
    parser.add_argument(
        "--floor-parser",
        choices=["msgspec", "json"],
        default="msgspec",
        help="how the floor parses reviews (msgspec)",
    )
    parser.add_argument(
        "--floor-loop", choices=CHOICES, default="auto", help="the floor's event loop (auto)"
    )
    parser.add_argument(
        "--e2e-bin",
        default=os.environ.get("IMAGEGATE_E2E_BIN"),
        help="kube-apiserver and etcd for the kopf peer (env IMAGEGATE_E2E_BIN)",
    )
    parser.add_argument("--workloads", type=int, default=150, help="workloads in the corpus (150)")
    parser.add_argument("--seed", type=int, default=20240521, help="corpus seed (20240521)")
    parser.add_argument(
        "--results", type=Path, default=DEFAULT_RESULTS, help=f"JSON results ({DEFAULT_RESULTS})"
    )
    parser.add_argument(
        "--docs", type=Path, default=DEFAULT_DOCS, help="page whose results section to rewrite"
    )
    parser.add_argument("--no-docs", action="store_true", help="leave the docs page alone")
    parser.add_argument(
        "--keep-temp", action="store_true", help="keep the temporary directory (logs, stores)"
    )
    arguments = parser.parse_args(argv)
    arguments.levels = _numbers(parser, "--concurrency", arguments.concurrency, int)
    arguments.rate_list = _numbers(parser, "--rates", arguments.rates, float)
    chosen = [name.strip() for name in arguments.servers.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(SERVERS))
    if unknown or not chosen:
        parser.error(f"--servers: choose among {', '.join(SERVERS)} (got {unknown or 'none'})")
    arguments.server_list = [name for name in SERVERS if name in chosen]
    if min(arguments.duration, arguments.open_duration) <= 0 or arguments.warmup < 0:
        parser.error("--duration and --open-duration must be positive, --warmup not negative")
    if arguments.soak < 0 or arguments.soak_rate <= 0:
        parser.error("--soak must not be negative and --soak-rate must be positive")
    arguments.extra_imagegate_args = shlex.split(arguments.imagegate_args)
    arguments.command_line = shlex.join(sys.argv[1:] if argv is None else list(argv))
    return arguments


def _numbers(
    parser: argparse.ArgumentParser, flag: str, text: str, kind: type[_Number]
) -> list[_Number]:
    try:
        values = [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        parser.error(f"{flag} {text!r}: comma-separated numbers")
    if any(value <= 0 for value in values):
        parser.error(f"{flag}: every value must be positive")
    return values


def estimate_s(arguments: argparse.Namespace) -> float:
    """How long the run will take, about."""
    # About 2 s per run to start the load generator and let the server settle, and 10 s
    # per server to start, prepare and verify it.
    closed = len(arguments.levels) * (arguments.warmup + arguments.duration + 2)
    opened = len(arguments.rate_list) * (arguments.warmup + arguments.open_duration + 2)
    soak = arguments.soak + 10 if ENFORCE in arguments.server_list and arguments.soak else 0
    return float(len(arguments.server_list) * (closed + opened + 10) + soak + 10)
