"""Errors of the admission front door."""

from __future__ import annotations

from imagegate.errors import InvalidInputError


class MalformedReviewError(InvalidInputError):
    """A request that is not a well-formed AdmissionReview: answered with HTTP 400.

    Not a denial: kube-apiserver treats it as a webhook failure, and the
    webhook's failurePolicy decides what happens to the object.
    """

    def __init__(self, message: str, *, reason: str = "malformed") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        """Short label for metrics, e.g. ``not_json``, ``too_large``."""
