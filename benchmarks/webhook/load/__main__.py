"""Load: AdmissionReviews over TLS keep-alive, in a closed loop or at a fixed rate.

``python -m benchmarks.webhook.load --url https://127.0.0.1:PORT/validate --ca-file
ca.crt --corpus corpus.json [--mode closed|open ...]``; the run starts it, a process
of its own for every load (see the package's docstring).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from collections.abc import Sequence
from pathlib import Path

import msgspec

from benchmarks.webhook.load._exchange import load_items
from benchmarks.webhook.load._generator import run_load
from benchmarks.webhook.load._shape import LoadShape
from benchmarks.webhook.loops import CHOICES, loop_factory


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.webhook.load",
        description="AdmissionReview load over TLS keep-alive.",
    )
    parser.add_argument("--url", required=True, help="e.g. https://127.0.0.1:8443/validate")
    parser.add_argument("--ca-file", required=True, type=Path, help="CA that signed the server")
    parser.add_argument(
        "--corpus", required=True, type=Path, help="file written by benchmarks.webhook.corpus"
    )
    parser.add_argument("--mode", choices=["closed", "open"], default="closed", help="(closed)")
    parser.add_argument(
        "--concurrency", type=int, default=8, help="closed loop: requests in flight (8)"
    )
    parser.add_argument("--rate", type=float, default=500.0, help="open loop: requests/s (500)")
    parser.add_argument(
        "--connections", type=int, default=64, help="open loop: keep-alive connections (64)"
    )
    parser.add_argument(
        "--max-outstanding",
        type=int,
        default=256,
        help="open loop: unanswered requests beyond which a due request is not sent (256)",
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring (2)")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds (10)")
    parser.add_argument(
        "--max-requests",
        type=int,
        default=2_000_000,
        help="send at most this many requests, warm-up included (2000000)",
    )
    parser.add_argument(
        "--request-timeout", type=float, default=10.0, help="seconds per request (10)"
    )
    parser.add_argument("--server-pid", type=int, help="measure this process's CPU time too")
    parser.add_argument(
        "--rss-every", type=float, default=0.0, help="sample the server's RSS every N s (off)"
    )
    parser.add_argument("--loop", choices=CHOICES, default="auto", help="event loop (auto)")
    parser.add_argument("--out", type=Path, help="write the JSON report here (default: stdout)")
    arguments = parser.parse_args(argv)
    if arguments.duration <= 0 or arguments.warmup < 0 or arguments.max_requests < 1:
        parser.error("--duration must be > 0, --warmup >= 0 and --max-requests >= 1")
    if min(arguments.concurrency, arguments.connections, arguments.max_outstanding) < 1:
        parser.error("--concurrency, --connections and --max-outstanding must be >= 1")
    if arguments.mode == "open" and arguments.rate <= 0:
        parser.error("--rate must be positive")
    if not arguments.url.startswith("https://127.0.0.1:"):
        parser.error("--url must be https://127.0.0.1:PORT/...: the benchmark stays on loopback")
    shape = LoadShape(
        mode=arguments.mode,
        warmup_s=arguments.warmup,
        duration_s=arguments.duration,
        concurrency=arguments.concurrency,
        rate=arguments.rate,
        connections=arguments.connections,
        max_outstanding=arguments.max_outstanding,
        max_requests=arguments.max_requests,
        request_timeout_s=arguments.request_timeout,
    )
    items = load_items(arguments.corpus)
    # The corpus lives for the whole run; keep the collector from scanning it again and again.
    gc.collect()
    gc.freeze()
    with asyncio.Runner(loop_factory=loop_factory(arguments.loop)) as runner:
        report = runner.run(
            run_load(
                url=arguments.url,
                ca_file=arguments.ca_file,
                items=items,
                shape=shape,
                server_pid=arguments.server_pid,
                rss_every_s=arguments.rss_every,
            )
        )
    encoded = msgspec.json.format(msgspec.json.encode(report)) + b"\n"
    if arguments.out is None:
        sys.stdout.buffer.write(encoded)
    else:
        arguments.out.write_bytes(encoded)
    return 0


if __name__ == "__main__":
    sys.exit(main())
