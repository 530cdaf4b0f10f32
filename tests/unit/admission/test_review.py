"""The AdmissionReview wire protocol: decoding requests, encoding responses."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from imagegate.admission import MalformedReviewError, decode_review, encode_response
from unit.admission.reviews import (
    encode,
    load,
    object_of,
    with_api_version,
    with_request,
)


@pytest.mark.parametrize("api_version", ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"])
def test_both_api_versions_are_accepted(api_version: str) -> None:
    review = with_api_version(load("deployment"), api_version)

    version, request = decode_review(encode(review))

    assert version == api_version
    assert request.uid == "b9e2c1a4-7f3d-4a8e-9c1b-2d3e4f5a6b7c"
    assert (request.kind.group, request.kind.version, request.kind.kind) == (
        "apps",
        "v1",
        "Deployment",
    )
    assert (request.operation, request.name, request.namespace) == ("CREATE", "checkout", "shop")
    assert request.sub_resource == ""
    assert request.dry_run is False


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        pytest.param("pod-of-replicaset", ("Pod", "CREATE", "", "shop", ""), id="generate-name"),
        pytest.param(
            "pod-ephemeralcontainers",
            ("Pod", "UPDATE", "toolbox", "payments", "ephemeralcontainers"),
            id="ephemeral",
        ),
        pytest.param(
            "deployment-delete", ("Deployment", "DELETE", "checkout", "shop", ""), id="delete"
        ),
        pytest.param(
            "deployment-scale", ("Scale", "UPDATE", "checkout", "shop", "scale"), id="scale"
        ),
        pytest.param(
            "pod-exec", ("PodExecOptions", "CONNECT", "toolbox", "payments", "exec"), id="exec"
        ),
        pytest.param(
            "rollout", ("Rollout", "CREATE", "storefront", "shop", ""), id="custom-resource"
        ),
    ],
)
def test_request_fields_are_read(fixture: str, expected: tuple[str, str, str, str, str]) -> None:
    _, request = decode_review(encode(load(fixture)))

    assert (
        request.kind.kind,
        request.operation,
        request.name,
        request.namespace,
        request.sub_resource,
    ) == expected


def test_objects_stay_raw_json_of_the_object() -> None:
    review = load("deployment-status")

    _, request = decode_review(encode(review))

    assert json.loads(bytes(request.object)) == object_of(review)
    assert json.loads(bytes(request.old_object)) == object_of(review, "oldObject")


def test_dry_run_is_read() -> None:
    review = with_request(load("deployment"), dryRun=True)

    assert decode_review(encode(review))[1].dry_run is True
    assert decode_review(encode(with_request(review, dryRun=...)))[1].dry_run is None


def test_fields_imagegate_does_not_read_may_have_any_shape() -> None:
    review = with_request(
        load("deployment"),
        userInfo={"username": 7, "extra": [1]},
        options="nonsense",
        resource=None,
        futureField={"a": [1, 2]},
    )
    review["futureTopLevel"] = True

    _, request = decode_review(encode(review))

    assert request.uid == "b9e2c1a4-7f3d-4a8e-9c1b-2d3e4f5a6b7c"


def review_body(**changes: Any) -> bytes:
    """The deployment fixture with top-level keys changed (``...`` removes one)."""
    review = load("deployment")
    for key, value in changes.items():
        if value is ...:
            review.pop(key)
        else:
            review[key] = value
    return encode(review)


MALFORMED = [
    pytest.param(b"not json", "not_json", r"^the request body is not JSON: ", id="not-json"),
    pytest.param(b"", "not_json", r"^the request body is not JSON: ", id="empty"),
    pytest.param(
        b'{"apiVersion": "admission.k8s.io/v1", ',
        "not_json",
        r"^the request body is not JSON: ",
        id="truncated",
    ),
    pytest.param(
        b"[1, 2]",
        "invalid_review",
        r"^not a valid AdmissionReview: Expected `object`, got `array`$",
        id="json-array",
    ),
    pytest.param(
        b'"AdmissionReview"',
        "invalid_review",
        r"^not a valid AdmissionReview: Expected `object`, got `str`$",
        id="json-string",
    ),
    pytest.param(
        review_body(kind="ConfigMap"),
        "not_a_review",
        r"^expected kind AdmissionReview with apiVersion admission\.k8s\.io/v1 or v1beta1, "
        r"got kind 'ConfigMap' apiVersion 'admission\.k8s\.io/v1'$",
        id="wrong-kind",
    ),
    pytest.param(
        review_body(kind=...),
        "not_a_review",
        r"got kind '' apiVersion 'admission\.k8s\.io/v1'$",
        id="no-kind",
    ),
    pytest.param(
        review_body(apiVersion="admission.k8s.io/v2"),
        "not_a_review",
        r"got kind 'AdmissionReview' apiVersion 'admission\.k8s\.io/v2'$",
        id="wrong-api-version",
    ),
    pytest.param(
        review_body(apiVersion="v1"),
        "not_a_review",
        r"got kind 'AdmissionReview' apiVersion 'v1'$",
        id="core-api-version",
    ),
    pytest.param(
        review_body(apiVersion=...),
        "not_a_review",
        r"got kind 'AdmissionReview' apiVersion ''$",
        id="no-api-version",
    ),
    pytest.param(
        review_body(request=...),
        "no_request",
        r"^the AdmissionReview has no request$",
        id="no-request",
    ),
    pytest.param(
        review_body(request=None),
        "no_request",
        r"^the AdmissionReview has no request$",
        id="null-request",
    ),
    pytest.param(
        encode(with_request(load("deployment"), uid=...)),
        "invalid_review",
        r"^not a valid AdmissionReview: Object missing required field `uid` - at `\$\.request`$",
        id="no-uid",
    ),
    pytest.param(
        encode(with_request(load("deployment"), uid="")),
        "no_uid",
        r"^request\.uid is empty$",
        id="empty-uid",
    ),
    pytest.param(
        encode(with_request(load("deployment"), uid=42)),
        "invalid_review",
        r"^not a valid AdmissionReview: Expected `str`, got `int` - at `\$\.request\.uid`$",
        id="uid-number",
    ),
    pytest.param(
        encode(with_request(load("deployment"), kind=...)),
        "invalid_review",
        r"^not a valid AdmissionReview: Object missing required field `kind` - at `\$\.request`$",
        id="no-request-kind",
    ),
    pytest.param(
        encode(with_request(load("deployment"), operation=...)),
        "invalid_review",
        r"Object missing required field `operation` - at `\$\.request`$",
        id="no-operation",
    ),
    pytest.param(
        encode(with_request(load("deployment"), dryRun="true")),
        "invalid_review",
        r"Expected `bool \| null`, got `str` - at `\$\.request\.dryRun`$",
        id="dry-run-string",
    ),
    pytest.param(
        encode(with_request(load("deployment"), subResource=["status"])),
        "invalid_review",
        r"Expected `str`, got `array` - at `\$\.request\.subResource`$",
        id="sub-resource-list",
    ),
]


@pytest.mark.parametrize(("body", "reason", "message"), MALFORMED)
def test_malformed_reviews(body: bytes, reason: str, message: str) -> None:
    with pytest.raises(MalformedReviewError) as caught:
        decode_review(body)

    assert caught.value.reason == reason
    assert caught.value.message == str(caught.value)
    assert caught.value.message.count("\n") == 0
    assert caught.value.message.strip() != ""
    assert re.search(message, caught.value.message), caught.value.message


def decoded(answer: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(answer)
    return document


@pytest.mark.parametrize("api_version", ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"])
def test_an_allowed_answer_echoes_api_version_and_uid_and_nothing_else(api_version: str) -> None:
    answer = encode_response(api_version=api_version, uid="u-1", allowed=True)

    assert decoded(answer) == {
        "apiVersion": api_version,
        "kind": "AdmissionReview",
        "response": {"uid": "u-1", "allowed": True},
    }


def test_a_denial_carries_code_message_and_reason() -> None:
    answer = encode_response(
        api_version="admission.k8s.io/v1",
        uid="u-2",
        allowed=False,
        code=403,
        message="imagegate denied Pod shop/web: …",
    )

    assert decoded(answer)["response"] == {
        "uid": "u-2",
        "allowed": False,
        "status": {
            "code": 403,
            "message": "imagegate denied Pod shop/web: …",
            "reason": "Forbidden",
        },
    }


def test_an_allowed_answer_with_a_message_has_a_status_without_reason() -> None:
    answer = encode_response(
        api_version="admission.k8s.io/v1", uid="u", allowed=True, message="admitted, but…"
    )

    assert decoded(answer)["response"]["status"] == {"code": 200, "message": "admitted, but…"}


def test_warnings_are_listed_in_order() -> None:
    answer = encode_response(
        api_version="admission.k8s.io/v1",
        uid="u-3",
        allowed=True,
        warnings=("first", "second"),
    )

    response = decoded(answer)["response"]
    assert response["warnings"] == ["first", "second"]
    assert "status" not in response


def test_a_patch_is_base64_json_patch() -> None:
    patch = b'[{"op": "add", "path": "/metadata/labels/x", "value": "y"}]'

    answer = encode_response(api_version="admission.k8s.io/v1", uid="u", allowed=True, patch=patch)

    response = decoded(answer)["response"]
    assert response["patchType"] == "JSONPatch"
    assert base64.b64decode(response["patch"]) == patch


def test_no_patch_means_no_patch_fields() -> None:
    response = decoded(encode_response(api_version="admission.k8s.io/v1", uid="u", allowed=True))[
        "response"
    ]

    assert "patch" not in response
    assert "patchType" not in response


def test_a_decoded_review_round_trips_into_its_answer() -> None:
    review = with_api_version(load("pod"), "admission.k8s.io/v1beta1")
    version, request = decode_review(encode(review))

    answer = decoded(encode_response(api_version=version, uid=request.uid, allowed=True))

    assert answer["apiVersion"] == "admission.k8s.io/v1beta1"
    assert answer["response"]["uid"] == review["request"]["uid"]
