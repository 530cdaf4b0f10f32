"""The corpus of a seed, and its shape."""

from __future__ import annotations

import random
import statistics

from benchmarks.webhook.corpus._reviews import reviews_of
from benchmarks.webhook.corpus._schema import FORMAT_VERSION, UID_PLACEHOLDER, Corpus, Json, Review
from benchmarks.webhook.corpus._workloads import random_workload


def build_corpus(*, seed: int, workloads: int) -> Corpus:
    """The corpus for ``seed``: ``workloads`` workloads and the reviews they cause."""
    rng = random.Random(seed)
    reviews: list[Review] = []
    used: set[tuple[str, str]] = set()
    for _ in range(workloads):
        workload = random_workload(rng, used)
        reviews.extend(reviews_of(rng, workload))
    rng.shuffle(reviews)
    return Corpus(
        format=FORMAT_VERSION,
        seed=seed,
        workloads=workloads,
        uid_placeholder=UID_PLACEHOLDER,
        reviews=reviews,
    )


def summary(corpus: Corpus) -> Json:
    """Shape of the corpus: counts by kind and operation, body sizes, deployment names."""
    sizes = sorted(len(review.body) for review in corpus.reviews)
    by_kind: dict[str, int] = {}
    for review in corpus.reviews:
        label = f"{review.kind} {review.operation}"
        by_kind[label] = by_kind.get(label, 0) + 1
    recording = [review for review in corpus.reviews if review.records]
    return {
        "seed": corpus.seed,
        "workloads": corpus.workloads,
        "reviews": len(corpus.reviews),
        "by_kind_and_operation": dict(sorted(by_kind.items())),
        "body_bytes": {
            "min": sizes[0],
            "p50": sizes[len(sizes) // 2],
            "p90": sizes[int(len(sizes) * 0.9)],
            "max": sizes[-1],
            "mean": round(statistics.fmean(sizes)),
        },
        "reviews_that_record": len(recording),
        "records_per_pass": sum(len(review.records) for review in recording),
        "distinct_deployment_names": len({n for r in corpus.reviews for n in r.records}),
    }
