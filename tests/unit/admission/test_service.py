"""AdmissionService: the decision with its IO (namespace labels, spool, metrics) around it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from imagegate.admission import (
    DEFAULT_ENVIRONMENT_LABEL,
    AdmissionContext,
    AdmissionService,
    AdmissionSettings,
    EnvironmentMapping,
    MalformedReviewError,
    decide,
    workload_of,
)
from imagegate.metrics import Metrics
from imagegate.policy import Mode, PolicySource, baseline_policy
from imagegate.tracking import RecordRequest, Status, StoreUnavailableError
from unit.admission.reviews import (
    Review,
    as_delete,
    as_update,
    encode,
    load,
    request_of,
    with_api_version,
    with_dry_run,
    with_images,
    with_request,
)

NOW = datetime(2024, 3, 14, 9, 26, 53, tzinfo=UTC)
TAGGED_CHECKOUT = "registry.example.com/shop/checkout:1.14.2"
CHECKOUT_NAMES = ["shop/checkout/checkout", "shop/checkout/wait-for-db", "shop/checkout/envoy"]
# Generous: these bound a hang, they do not measure time.
PATIENCE_S = 10.0


class MemorySink:
    """Keeps appended record requests in memory; may wait for a gate or fail."""

    def __init__(
        self, *, gate: asyncio.Event | None = None, error: Exception | None = None
    ) -> None:
        self.appended: list[list[RecordRequest]] = []
        self.calls = 0
        self._gate = gate
        self._error = error

    def hold(self, requests: Sequence[RecordRequest]) -> bool:
        return False  # holds nothing back: every request is appended

    async def append(self, requests: Sequence[RecordRequest]) -> None:
        self.calls += 1
        if self._gate is not None:
            await self._gate.wait()
        if self._error is not None:
            raise self._error
        self.appended.append(list(requests))


class FixedLabels:
    """Namespace labels from a dict; None for namespaces it does not know."""

    def __init__(self, labels: Mapping[str, Mapping[str, str]]) -> None:
        self._labels = labels
        self.asked: list[str] = []

    async def labels(self, namespace: str) -> Mapping[str, str] | None:
        self.asked.append(namespace)
        return self._labels.get(namespace)


class BrokenLabels:
    """A namespace lookup that always fails, like an unreachable API server."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def labels(self, namespace: str) -> Mapping[str, str] | None:
        self.asked.append(namespace)
        raise ConnectionError("dial tcp 10.96.0.1:443: connect: connection refused")


def settings(*, mode: Mode = Mode.ENFORCE, spool_bound_s: float = PATIENCE_S) -> AdmissionSettings:
    return AdmissionSettings(
        cluster="prod-eu-1",
        environments=EnvironmentMapping(namespaces={"shop": "staging"}, default="production"),
        require_digest=mode,
        spool_bound_s=spool_bound_s,
        namespace_labels=False,
    )


def make_service(
    sink: MemorySink,
    *,
    mode: Mode = Mode.ENFORCE,
    namespaces: FixedLabels | BrokenLabels | None = None,
    spool_bound_s: float = PATIENCE_S,
) -> tuple[AdmissionService, Metrics]:
    metrics = Metrics()
    service = AdmissionService(
        settings=settings(mode=mode, spool_bound_s=spool_bound_s),
        sink=sink,
        metrics=metrics,
        policies=PolicySource(None, baseline=baseline_policy(mode)),
        namespaces=namespaces,
        clock=lambda: NOW,
    )
    return service, metrics


def count(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def requests_total(
    metrics: Metrics, webhook: str, operation: str, kind: str, decision: str
) -> float:
    return count(
        metrics,
        "imagegate_admission_requests_total",
        webhook=webhook,
        operation=operation,
        kind=kind,
        decision=decision,
    )


def response(answer: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(answer)
    assert document["kind"] == "AdmissionReview"
    result: dict[str, Any] = document["response"]
    return result


async def validate(service: AdmissionService, review: Review) -> dict[str, Any]:
    answer = await asyncio.wait_for(service.validate(encode(review)), PATIENCE_S)
    return response(answer)


def names(batch: list[RecordRequest]) -> list[str]:
    return [record.key.deployment_name for record in batch]


@pytest.mark.parametrize(
    ("review", "records"),
    [
        pytest.param(load("deployment"), 3, id="create"),
        pytest.param(load("daemonset"), 2, id="create-two-platforms"),
        pytest.param(load("pod-of-replicaset"), 3, id="owned-pod-create"),
        pytest.param(as_update(load("statefulset")), 2, id="top-level-update"),
        pytest.param(load("deployment-delete"), 3, id="delete"),
        pytest.param(with_dry_run(load("deployment")), 0, id="dry-run"),
        pytest.param(with_images(load("deployment"), {"checkout": "nginx"}), 0, id="denied"),
        pytest.param(as_update(load("replicaset-of-deployment")), 0, id="owned-update"),
        pytest.param(as_delete(load("pod-of-replicaset")), 0, id="owned-delete"),
        pytest.param(load("pod-of-job"), 0, id="pod-of-job"),
        pytest.param(load("configmap"), 0, id="unhandled-kind"),
        pytest.param(load("pod-exec"), 0, id="connect"),
        pytest.param(load("deployment-status"), 0, id="status"),
    ],
)
async def test_records_are_appended_exactly_when_decide_says(review: Review, records: int) -> None:
    sink = MemorySink()
    service, _ = make_service(sink)
    request = request_of(review)
    environment, _ = settings().environments.resolve(request.namespace, None)
    expected = decide(
        request=request,
        workload=workload_of(request, default_platform=settings().default_platform),
        context=AdmissionContext(
            cluster="prod-eu-1",
            logical_environment=environment,
            name_template=settings().name_template,
            default_platform=settings().default_platform,
            policies=PolicySource(None, baseline=baseline_policy(Mode.ENFORCE)).policies,
            now=NOW,
        ),
    ).records

    await validate(service, review)
    await service.close()

    assert len(expected) == records
    assert sink.appended == ([list(expected)] if expected else [])
    assert sink.calls == (1 if expected else 0)


async def test_an_admitted_workload_is_answered_and_recorded() -> None:
    sink = MemorySink()
    service, metrics = make_service(sink)

    answer = await validate(service, load("deployment"))

    assert answer == {"uid": "b9e2c1a4-7f3d-4a8e-9c1b-2d3e4f5a6b7c", "allowed": True}
    (batch,) = sink.appended
    assert names(batch) == CHECKOUT_NAMES
    assert {record.key.logical_environment for record in batch} == {"staging"}
    assert {record.key.environment for record in batch} == {"prod-eu-1"}
    assert {record.observed_at for record in batch} == {NOW}
    assert {record.status for record in batch} == {Status.DEPLOYED}
    assert requests_total(metrics, "validate", "CREATE", "Deployment", "allow") == 1
    assert count(metrics, "imagegate_admission_duration_seconds_count", webhook="validate") == 1


async def test_the_answer_uses_the_api_version_of_the_request() -> None:
    service, _ = make_service(MemorySink())
    review = with_api_version(load("pod"), "admission.k8s.io/v1beta1")

    answer = json.loads(await service.validate(encode(review)))

    assert answer["apiVersion"] == "admission.k8s.io/v1beta1"
    assert answer["response"]["uid"] == "1b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e"


async def test_a_denial_is_answered_with_allowed_false_and_nothing_recorded() -> None:
    sink = MemorySink()
    service, metrics = make_service(sink)

    answer = await validate(service, with_images(load("deployment"), {"checkout": TAGGED_CHECKOUT}))

    assert answer["allowed"] is False
    assert answer["uid"] == "b9e2c1a4-7f3d-4a8e-9c1b-2d3e4f5a6b7c"
    assert answer["status"]["code"] == 403
    assert answer["status"]["reason"] == "Forbidden"
    assert answer["status"]["message"].startswith(
        "imagegate denied Deployment shop/checkout: 1 policy violation: [default/digest-pinned] "
        f"container 'checkout' image '{TAGGED_CHECKOUT}': "
    )
    assert sink.calls == 0
    assert requests_total(metrics, "validate", "CREATE", "Deployment", "deny") == 1
    assert requests_total(metrics, "validate", "CREATE", "Deployment", "allow") == 0
    assert (
        count(metrics, "imagegate_policy_violations_total", rule="digest-pinned", mode="enforce")
        == 1
    )


async def test_audit_warns_records_the_pinned_and_counts_the_unrecorded() -> None:
    sink = MemorySink()
    service, metrics = make_service(sink, mode=Mode.AUDIT)
    review = with_images(load("deployment"), {"checkout": TAGGED_CHECKOUT, "envoy": "Bad Image"})

    answer = await validate(service, review)

    assert answer["allowed"] is True
    assert len(answer["warnings"]) == 2
    assert answer["warnings"][0].startswith("imagegate (audit): [default/digest-pinned] ")
    assert "status" not in answer
    (batch,) = sink.appended
    assert names(batch) == ["shop/checkout/wait-for-db"]
    assert requests_total(metrics, "validate", "CREATE", "Deployment", "warn") == 1
    assert (
        count(metrics, "imagegate_policy_violations_total", rule="digest-pinned", mode="audit") == 2
    )
    assert count(metrics, "imagegate_unrecorded_images_total", reason="no digest") == 1
    assert (
        count(metrics, "imagegate_unrecorded_images_total", reason="invalid image reference") == 1
    )


async def test_request_counts_are_by_webhook_operation_kind_and_decision() -> None:
    service, metrics = make_service(MemorySink())

    for review in (
        load("deployment"),
        load("deployment"),
        load("deployment-delete"),
        load("pod-exec"),
        load("configmap"),
        as_update(load("pod-of-statefulset")),
    ):
        await validate(service, review)
    await service.close()

    assert requests_total(metrics, "validate", "CREATE", "Deployment", "allow") == 2
    assert requests_total(metrics, "validate", "DELETE", "Deployment", "allow") == 1
    assert requests_total(metrics, "validate", "CONNECT", "PodExecOptions", "allow") == 1
    assert requests_total(metrics, "validate", "CREATE", "ConfigMap", "allow") == 1
    assert requests_total(metrics, "validate", "UPDATE", "Pod", "allow") == 1
    assert count(metrics, "imagegate_admission_duration_seconds_count", webhook="validate") == 6
    assert count(metrics, "imagegate_spool_slow_appends_total") == 0


async def test_namespace_labels_decide_the_logical_environment() -> None:
    sink = MemorySink()
    labels = FixedLabels({"shop": {DEFAULT_ENVIRONMENT_LABEL: "qa", "team": "shop"}})
    service, metrics = make_service(sink, namespaces=labels)

    await validate(service, load("deployment"))

    assert labels.asked == ["shop"]
    (batch,) = sink.appended
    assert {record.key.logical_environment for record in batch} == {"qa"}
    assert count(metrics, "imagegate_namespace_lookup_fallbacks_total") == 0


async def test_a_namespace_without_the_label_uses_the_map() -> None:
    sink = MemorySink()
    service, metrics = make_service(sink, namespaces=FixedLabels({"shop": {"team": "shop"}}))

    await validate(service, load("deployment"))

    assert {record.key.logical_environment for record in sink.appended[0]} == {"staging"}
    assert count(metrics, "imagegate_namespace_lookup_fallbacks_total") == 0


async def test_an_unknown_namespace_falls_back_to_the_default_without_a_failure() -> None:
    sink = MemorySink()
    labels = FixedLabels({})
    service, metrics = make_service(sink, namespaces=labels)

    await validate(service, load("job"))

    assert labels.asked == ["payments"]
    assert {record.key.logical_environment for record in sink.appended[0]} == {"production"}
    # A namespace that does not exist is an answer, not a failed lookup.
    assert count(metrics, "imagegate_namespace_lookup_fallbacks_total") == 0


async def test_a_failing_lookup_falls_back_to_the_default_and_is_counted() -> None:
    sink = MemorySink()
    labels = BrokenLabels()
    service, metrics = make_service(sink, namespaces=labels)

    answer = await validate(service, load("job"))

    assert answer["allowed"] is True
    assert labels.asked == ["payments"]
    assert {record.key.logical_environment for record in sink.appended[0]} == {"production"}
    assert count(metrics, "imagegate_namespace_lookup_fallbacks_total") == 1


async def test_a_failing_lookup_falls_back_to_the_namespace_map() -> None:
    sink = MemorySink()
    service, _ = make_service(sink, namespaces=BrokenLabels())

    answer = await validate(service, load("deployment"))

    assert answer["allowed"] is True
    assert {record.key.logical_environment for record in sink.appended[0]} == {"staging"}


async def test_without_a_resolver_nothing_is_counted_as_a_fallback() -> None:
    sink = MemorySink()
    service, metrics = make_service(sink, namespaces=None)

    await validate(service, load("job"))

    assert {record.key.logical_environment for record in sink.appended[0]} == {"production"}
    assert count(metrics, "imagegate_namespace_lookup_fallbacks_total") == 0


@pytest.mark.parametrize(
    "review",
    [
        pytest.param(load("configmap"), id="unhandled-kind"),
        pytest.param(load("deployment-status"), id="status-subresource"),
        pytest.param(load("pod-exec"), id="connect"),
    ],
)
async def test_untouched_requests_do_not_look_labels_up(review: Review) -> None:
    labels = FixedLabels({})
    service, metrics = make_service(MemorySink(), namespaces=labels)

    await validate(service, review)

    assert labels.asked == []
    assert count(metrics, "imagegate_namespace_lookup_fallbacks_total") == 0


async def test_ephemeral_container_records_use_the_namespace_environment() -> None:
    sink = MemorySink()
    labels = FixedLabels({"payments": {DEFAULT_ENVIRONMENT_LABEL: "qa"}})
    service, _ = make_service(sink, namespaces=labels)

    await validate(service, load("pod-ephemeralcontainers"))

    (batch,) = sink.appended
    assert len(batch) == 4
    assert {record.key.logical_environment for record in batch} == {"qa"}
    assert labels.asked == ["payments"]


async def test_a_slow_append_does_not_hold_the_answer() -> None:
    gate = asyncio.Event()
    sink = MemorySink(gate=gate)
    service, metrics = make_service(sink, spool_bound_s=0.01)

    answer = await validate(service, load("deployment"))

    assert answer["allowed"] is True
    assert sink.calls == 1
    assert sink.appended == []
    assert count(metrics, "imagegate_spool_slow_appends_total") == 1

    gate.set()
    await asyncio.wait_for(service.close(), PATIENCE_S)

    (batch,) = sink.appended
    assert names(batch) == CHECKOUT_NAMES
    assert count(metrics, "imagegate_unrecorded_images_total", reason="spool_failed") == 0


async def test_an_unavailable_spool_still_answers_and_counts_every_record() -> None:
    sink = MemorySink(error=StoreUnavailableError("the spool is closed"))
    service, metrics = make_service(sink)

    answer = await validate(service, load("deployment"))

    assert answer["allowed"] is True
    assert sink.calls == 1
    assert count(metrics, "imagegate_unrecorded_images_total", reason="spool_failed") == 3


async def test_a_slow_append_that_fails_counts_every_record() -> None:
    gate = asyncio.Event()
    sink = MemorySink(gate=gate, error=StoreUnavailableError("disk I/O error"))
    service, metrics = make_service(sink, spool_bound_s=0.01)

    answer = await validate(service, load("deployment"))
    assert answer["allowed"] is True
    gate.set()
    await asyncio.wait_for(service.close(), PATIENCE_S)

    assert count(metrics, "imagegate_unrecorded_images_total", reason="spool_failed") == 3


async def test_close_without_pending_appends_returns() -> None:
    service, _ = make_service(MemorySink())

    await asyncio.wait_for(service.close(), PATIENCE_S)


@pytest.mark.parametrize(
    "review",
    [
        pytest.param(load("deployment"), id="create"),
        pytest.param(with_images(load("deployment"), {"checkout": "nginx"}), id="tag-only"),
        pytest.param(load("deployment-delete"), id="delete"),
        pytest.param(with_api_version(load("pod"), "admission.k8s.io/v1beta1"), id="v1beta1"),
    ],
)
async def test_mutate_allows_without_a_patch(review: Review) -> None:
    sink = MemorySink()
    labels = FixedLabels({})
    service, metrics = make_service(sink, namespaces=labels)

    document = json.loads(await asyncio.wait_for(service.mutate(encode(review)), PATIENCE_S))

    assert document["apiVersion"] == review["apiVersion"]
    assert document["response"] == {"uid": review["request"]["uid"], "allowed": True}
    assert sink.calls == 0
    assert labels.asked == []
    operation, kind = review["request"]["operation"], review["request"]["kind"]["kind"]
    assert requests_total(metrics, "mutate", operation, kind, "allow") == 1
    assert count(metrics, "imagegate_admission_duration_seconds_count", webhook="mutate") == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(b"{", "not_json", id="not-json"),
        pytest.param(encode(with_request(load("deployment"), uid="")), "no_uid", id="empty-uid"),
        pytest.param(
            encode(with_request(load("deployment"), object=None)), "no_object", id="no-object"
        ),
        pytest.param(
            encode(with_request(load("deployment"), operation="PATCH")),
            "unknown_operation",
            id="unknown-operation",
        ),
    ],
)
async def test_a_malformed_review_raises_and_is_neither_recorded_nor_counted(
    body: bytes, reason: str
) -> None:
    sink = MemorySink()
    service, metrics = make_service(sink)

    with pytest.raises(MalformedReviewError) as caught:
        await service.validate(body)

    assert caught.value.reason == reason
    assert sink.calls == 0
    assert count(metrics, "imagegate_admission_duration_seconds_count", webhook="validate") == 0
