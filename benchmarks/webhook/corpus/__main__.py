"""A deterministic corpus of realistic AdmissionReview v1 requests for the benchmark.

``python -m benchmarks.webhook.corpus --out corpus.json [--seed N] [--workloads N]
[--summary]``: writes the corpus, and with ``--summary`` prints its shape as JSON.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import msgspec

from benchmarks.webhook.corpus._build import build_corpus, summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.webhook.corpus",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("--seed", type=int, default=20240521, help="random seed (20240521)")
    parser.add_argument(
        "--workloads", type=int, default=150, help="workloads in the modelled cluster (150)"
    )
    parser.add_argument("--out", type=Path, required=True, help="corpus file to write (JSON)")
    parser.add_argument(
        "--summary", action="store_true", help="print the corpus summary as JSON on stdout"
    )
    arguments = parser.parse_args(argv)
    if arguments.workloads < 1:
        parser.error("--workloads must be at least 1")
    corpus = build_corpus(seed=arguments.seed, workloads=arguments.workloads)
    arguments.out.write_bytes(msgspec.json.encode(corpus))
    if arguments.summary:
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(summary(corpus))).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
