"""The corpus file: its reviews, each with the answer a correct webhook gives."""

from __future__ import annotations

from typing import Any

import msgspec

UID_PLACEHOLDER = "@@uid@@"

FORMAT_VERSION = 1

Json = dict[str, Any]


class Review(msgspec.Struct, frozen=True):
    """One AdmissionReview of the corpus and what a correct webhook answers."""

    kind: str
    """Kind of the object under review (Deployment, Pod, ...)."""
    operation: str
    allowed: bool
    """The answer expected: every image is pinned by digest, so always true."""
    records: list[str]
    """Deployment names imagegate records because of this review (default template)."""
    body: msgspec.Raw
    """The AdmissionReview as sent, with ``request.uid`` set to ``UID_PLACEHOLDER``."""


class Corpus(msgspec.Struct, frozen=True):
    """The file ``python -m benchmarks.webhook.corpus`` writes and the load generator reads."""

    format: int
    seed: int
    workloads: int
    uid_placeholder: str
    reviews: list[Review]
