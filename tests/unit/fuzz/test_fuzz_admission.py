"""Property-based fuzzing of admission: whatever arrives as a review, the answer is a
valid AdmissionReview or a MalformedReviewError (a 400 with a reason), never another
exception; and no tag-only image is ever allowed where the enforce policy denies it.

Bounded (settings below) so that the suite stays fast; docs/testing.md has the counts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagegate.admission import (
    AdmissionService,
    AdmissionSettings,
    EnvironmentMapping,
    MalformedReviewError,
)
from imagegate.metrics import Metrics
from imagegate.policy import Mode, PolicySource, baseline_policy
from imagegate.tracking import RecordRequest

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,  # the same inputs every run: CI fails on a change, not on luck
    suppress_health_check=[HealthCheck.too_slow],
)
KINDS = [
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
    "ConfigMap",
]
DIGEST = "sha256:" + "a" * 64
GROUPS = {"Pod": "", "ConfigMap": "", "Job": "batch", "CronJob": "batch"}


class Sink:
    def __init__(self) -> None:
        self.appended: list[RecordRequest] = []

    def hold(self, requests: Sequence[RecordRequest]) -> bool:
        return False

    async def append(self, requests: Sequence[RecordRequest]) -> None:
        self.appended.extend(requests)


def service(sink: Sink, mode: Mode = Mode.ENFORCE) -> AdmissionService:
    return AdmissionService(
        settings=AdmissionSettings(
            cluster="fuzz",
            environments=EnvironmentMapping(default="production"),
            require_digest=mode,
            namespace_labels=False,
        ),
        sink=sink,
        metrics=Metrics(),
        policies=PolicySource(None, baseline=baseline_policy(mode)),
    )


# Any JSON value, including the awkward ones: deep nesting, huge numbers, odd text.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=30,
)
images = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["nginx", "nginx:1.27", f"nginx@{DIGEST}", "GHCR.IO/Acme/Web:1", ""]),
)
containers = st.lists(
    st.fixed_dictionaries(
        {"name": st.text(max_size=12), "image": images},
        optional={"restartPolicy": st.sampled_from(["Always", "Never", 5]), "extra": json_values},
    ),
    max_size=3,
)
pod_specs = st.fixed_dictionaries(
    {"containers": containers},
    optional={
        "initContainers": containers,
        "nodeSelector": st.dictionaries(st.text(max_size=20), st.text(max_size=10), max_size=2),
        "volumes": st.lists(
            st.fixed_dictionaries({"name": st.text(max_size=8), "image": json_values}), max_size=2
        ),
        "affinity": json_values,
    },
)


def wrapped(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    if kind == "Pod":
        return {"spec": spec}
    if kind == "CronJob":
        return {"spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}}
    return {"spec": {"template": {"spec": spec}}}


@st.composite
def reviews(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(KINDS))
    body = wrapped(kind, draw(pod_specs))
    body["metadata"] = draw(
        st.fixed_dictionaries(
            {"name": st.text(max_size=20), "namespace": st.text(max_size=20)},
            optional={"ownerReferences": json_values, "labels": json_values},
        )
    )
    request: dict[str, Any] = {
        "uid": draw(st.text(max_size=36)),
        "kind": {
            "group": "" if kind in ("Pod", "ConfigMap") else "apps",
            "version": "v1",
            "kind": kind,
        },
        "operation": draw(st.sampled_from(["CREATE", "UPDATE", "DELETE", "CONNECT", "X"])),
        "namespace": draw(st.text(max_size=20)),
        "object": body,
    }
    if draw(st.booleans()):
        request["oldObject"] = draw(json_values)
    if draw(st.booleans()):
        request["dryRun"] = draw(st.sampled_from([True, False, "yes", None]))
    return {
        "apiVersion": draw(
            st.sampled_from(["admission.k8s.io/v1", "admission.k8s.io/v1beta1", "v9"])
        ),
        "kind": draw(st.sampled_from(["AdmissionReview", "Other"])),
        "request": request,
    }


def answer(body: bytes) -> dict[str, Any] | None:
    """The decoded response, or None when the review was refused as malformed."""
    try:
        encoded = asyncio.run(service(Sink()).validate(body))
    except MalformedReviewError as error:
        refused = error
    else:
        decoded: dict[str, Any] = json.loads(encoded)
        return decoded
    assert refused.reason  # a 400 says why
    assert str(refused)
    return None


@FUZZ
@given(reviews())
def test_any_review_is_answered_or_refused_with_a_reason(review: dict[str, Any]) -> None:
    decoded = answer(json.dumps(review).encode())
    if decoded is not None:
        assert decoded["kind"] == "AdmissionReview"
        assert isinstance(decoded["response"]["allowed"], bool)
        assert decoded["response"]["uid"] == review["request"]["uid"]


@FUZZ
@given(st.binary(max_size=300) | json_values.map(lambda value: json.dumps(value).encode()))
def test_any_bytes_are_answered_or_refused_with_a_reason(body: bytes) -> None:
    answer(body)


@FUZZ
@given(
    kind=st.sampled_from([k for k in KINDS if k != "ConfigMap"]),
    tag=st.from_regex(r"[a-z0-9]{1,8}(/[a-z0-9]{1,8})?:[A-Za-z0-9_.-]{1,10}", fullmatch=True),
    name=st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
)
def test_a_tag_only_image_is_never_allowed_under_enforce(kind: str, tag: str, name: str) -> None:
    review = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "u",
            "kind": {"group": GROUPS.get(kind, "apps"), "version": "v1", "kind": kind},
            "operation": "CREATE",
            "namespace": "shop",
            "object": {
                "metadata": {"name": name, "namespace": "shop"},
                **wrapped(kind, {"containers": [{"name": "app", "image": tag}]}),
            },
        },
    }
    sink = Sink()
    decoded = json.loads(asyncio.run(service(sink).validate(json.dumps(review).encode())))
    assert decoded["response"]["allowed"] is False
    assert sink.appended == []
