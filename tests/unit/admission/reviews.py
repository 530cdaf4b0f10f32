"""AdmissionReview fixtures (tests/fixtures/admission) and small tweaks of them.

Each fixture is an AdmissionReview as kube-apiserver sends it. Tests load one and
change only what they are about (operation, dryRun, images, …); every tweak
returns a new review and leaves its argument alone.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from imagegate.admission import AdmissionRequest, decode_review

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "admission"

Review = dict[str, Any]
JSONObject = dict[str, Any]

# Every image the fixtures run, as written in them.
TOOLBOX = (
    "registry.example.com/platform/toolbox:2.3.1"
    "@sha256:dd221319b058fd80bf9028981e5d9e892d6102c48eec8b71b97863739a176874"
)
BUSYBOX = "busybox:1.36@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91"
BUSYBOX_LEGACY_HOST = (
    "index.docker.io/library/busybox:1.36"
    "@sha256:9d75f0d7c398df565d7ac04c6819b62d6d8f9560f5eb4672596ecd8f7e96ae91"
)
LOG_SHIPPER = (
    "ghcr.io/acme/log-shipper:v0.9.4"
    "@sha256:e7562220aee1d6e38c5633d241fdb4c1716fb104b37b1ab2abd0b7a2254ac0b2"
)
CHECKOUT = (
    "registry.example.com/shop/checkout:1.14.2"
    "@sha256:c7761e58969f7edd498186641b2021e8477e1bcd230de4cf3435242da4a40d14"
)
ENVOY = (
    "envoyproxy/envoy:v1.30.1"
    "@sha256:84532b306f259587c364bd7301e0813963d5b84fd27c9338f0862dab8f0499d7"
)
POSTGRES = "postgres:16.2@sha256:a942b37ccfaf5a813b1432caa209a43b9d144e47ad0de1549c289c253e556cd5"
POSTGRES_EXPORTER = (
    "quay.io/prometheuscommunity/postgres-exporter:v0.15.0"
    "@sha256:2b3945b585e5ba13538e6b245d2683f40091160d071c63f379fd414a54a1cdfd"
)
NODE_EXPORTER = (
    "quay.io/prometheus/node-exporter:v1.7.0"
    "@sha256:2303824a4e3dc61fe3195d1a6e978029d4774876cc9aba9d2c60ef85eb96a845"
)
MIGRATIONS = (
    "registry.example.com/payments/migrations"
    "@sha256:d58efc4ec1ab298538e0f804b5064e9c84d411029ecb611875f48f9710558ae3"
)
REPORT = (
    "registry.example.com/finance/report:2024.03"
    "@sha256:845e91831319e89c4d656bdb80c278ac09a7230d61e5dfd2e1b1fbb436ac8917"
)
FRONTEND = (
    "registry.example.com:5000/legacy/frontend:3.1"
    "@sha256:1cf387c012cd2d02f1923e589f86df4a4802427057dbc90f47b87f04d29d54bc"
)
WORKER = (
    "registry.example.com/batch/worker:5.0.0"
    "@sha256:87eba76e7f3164534045ba922e7770fb58bbd14ad732bbf5ba6f11cc56989e6e"
)
DEBUGGER = "busybox@sha256:4be4f24fdcb85773698b5eb269ab5a1299c20b2912c0591d41a1fea1e0cd74e0"


def load(name: str) -> Review:
    """The fixture ``<name>.json``, freshly read (so tests may change it)."""
    document: Review = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return document


def encode(review: Review) -> bytes:
    """The review as the request body kube-apiserver would POST."""
    return json.dumps(review).encode()


def request_of(review: Review) -> AdmissionRequest:
    """The decoded ``request`` of ``review``."""
    return decode_review(encode(review))[1]


def object_of(review: Review, field: str = "object") -> JSONObject:
    """``request.object`` (or ``oldObject``) of ``review``."""
    obj: JSONObject = review["request"][field]
    return obj


def object_bytes(name: str, field: str = "object") -> bytes:
    """The JSON of ``request.object`` (or ``oldObject``) of the fixture ``name``."""
    return json.dumps(object_of(load(name), field)).encode()


def pod_spec(obj: JSONObject) -> JSONObject:
    """The pod spec inside an object of any workload kind."""
    kind = obj["kind"]
    spec: JSONObject
    if kind == "Pod":
        spec = obj["spec"]
    elif kind == "PodTemplate":
        spec = obj["template"]["spec"]
    elif kind == "CronJob":
        spec = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    else:
        spec = obj["spec"]["template"]["spec"]
    return spec


def with_request(review: Review, **fields: Any) -> Review:
    """``review`` with request fields replaced (a value of ``...`` removes the field)."""
    changed = copy.deepcopy(review)
    for field, value in fields.items():
        if value is ...:
            changed["request"].pop(field, None)
        else:
            changed["request"][field] = value
    return changed


def with_operation(review: Review, operation: str) -> Review:
    return with_request(review, operation=operation)


def with_dry_run(review: Review, dry_run: bool = True) -> Review:
    return with_request(review, dryRun=dry_run)


def with_api_version(review: Review, api_version: str) -> Review:
    changed = copy.deepcopy(review)
    changed["apiVersion"] = api_version
    return changed


def with_images(review: Review, images: Mapping[str, str], field: str = "object") -> Review:
    """``review`` whose containers (of any type) named in ``images`` run those images."""
    changed = copy.deepcopy(review)
    spec = pod_spec(object_of(changed, field))
    found = set()
    for list_name in ("containers", "initContainers", "ephemeralContainers"):
        for container in spec.get(list_name, []):
            if container["name"] in images:
                container["image"] = images[container["name"]]
                found.add(container["name"])
    missing = set(images) - found
    if missing:
        raise KeyError(f"no containers {sorted(missing)} in the fixture")
    return changed


def with_pod_spec(review: Review, field: str = "object", **changes: Any) -> Review:
    """``review`` with keys of the pod spec replaced (``...`` removes one)."""
    changed = copy.deepcopy(review)
    spec = pod_spec(object_of(changed, field))
    for key, value in changes.items():
        if value is ...:
            spec.pop(key, None)
        else:
            spec[key] = value
    return changed


def with_metadata(review: Review, field: str = "object", **changes: Any) -> Review:
    """``review`` with keys of the object's metadata replaced (``...`` removes one)."""
    changed = copy.deepcopy(review)
    metadata = object_of(changed, field)["metadata"]
    for key, value in changes.items():
        if value is ...:
            metadata.pop(key, None)
        else:
            metadata[key] = value
    return changed


def as_update(review: Review) -> Review:
    """``review`` (a CREATE) as an UPDATE that leaves the object as it was."""
    return with_request(review, operation="UPDATE", oldObject=object_of(review))


def as_delete(review: Review) -> Review:
    """``review`` (a CREATE) as the DELETE of its object, as kube-apiserver sends it."""
    return with_request(
        review,
        operation="DELETE",
        object=None,
        oldObject=object_of(review),
        options={"kind": "DeleteOptions", "apiVersion": "meta.k8s.io/v1"},
    )
