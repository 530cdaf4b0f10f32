"""The AdmissionReview wire protocol (admission.k8s.io v1 and v1beta1)."""

from __future__ import annotations

import base64
from typing import Any

import msgspec

from imagegate.admission._errors import MalformedReviewError

API_VERSIONS = frozenset({"admission.k8s.io/v1", "admission.k8s.io/v1beta1"})


class GroupVersionKind(msgspec.Struct):
    group: str = ""
    version: str = ""
    kind: str = ""


class AdmissionRequest(msgspec.Struct, rename="camel"):
    """The parts of ``request`` that imagegate reads; the objects stay raw until needed."""

    uid: str
    kind: GroupVersionKind
    operation: str
    name: str = ""
    namespace: str = ""
    sub_resource: str = ""
    # Raw, not Raw | None: msgspec cannot decode an object into that union. An absent
    # or null object is an empty Raw or b"null"; see ``raw_object``.
    object: msgspec.Raw = msgspec.Raw()
    old_object: msgspec.Raw = msgspec.Raw()
    dry_run: bool | None = None


class AdmissionReview(msgspec.Struct, rename="camel"):
    api_version: str = ""
    kind: str = ""
    request: AdmissionRequest | None = None


_DECODER = msgspec.json.Decoder(AdmissionReview)


def raw_object(raw: msgspec.Raw) -> bytes | None:
    """The JSON of an object of the request, or None when it is absent or null."""
    data = bytes(raw)
    return None if not data or data == b"null" else data


def decode_review(body: bytes) -> tuple[str, AdmissionRequest]:
    """The apiVersion and request of an AdmissionReview; MalformedReviewError otherwise."""
    try:
        review = _DECODER.decode(body)
    except msgspec.ValidationError as error:
        raise MalformedReviewError(
            f"not a valid AdmissionReview: {error}", reason="invalid_review"
        ) from None
    except msgspec.DecodeError as error:
        raise MalformedReviewError(
            f"the request body is not JSON: {error}", reason="not_json"
        ) from None
    except RecursionError:
        raise MalformedReviewError(
            "the request body is not JSON imagegate reads: it is nested too deeply",
            reason="not_json",
        ) from None
    if review.kind != "AdmissionReview" or review.api_version not in API_VERSIONS:
        raise MalformedReviewError(
            "expected kind AdmissionReview with apiVersion admission.k8s.io/v1 or v1beta1, "
            f"got kind {review.kind!r} apiVersion {review.api_version!r}",
            reason="not_a_review",
        )
    if review.request is None:
        raise MalformedReviewError("the AdmissionReview has no request", reason="no_request")
    if not review.request.uid:
        raise MalformedReviewError("request.uid is empty", reason="no_uid")
    return review.api_version, review.request


def encode_response(
    *,
    api_version: str,
    uid: str,
    allowed: bool,
    code: int = 200,
    message: str | None = None,
    warnings: tuple[str, ...] = (),
    patch: bytes | None = None,
) -> bytes:
    """The AdmissionReview answer, in the apiVersion the request used."""
    response: dict[str, Any] = {"uid": uid, "allowed": allowed}
    if message is not None or code != 200:
        status: dict[str, Any] = {"code": code}
        if message is not None:
            status["message"] = message
        if not allowed:
            status["reason"] = "Forbidden"
        response["status"] = status
    if warnings:
        response["warnings"] = list(warnings)
    if patch is not None:
        response["patchType"] = "JSONPatch"
        response["patch"] = base64.b64encode(patch).decode()
    return msgspec.json.encode(
        {"apiVersion": api_version, "kind": "AdmissionReview", "response": response}
    )
