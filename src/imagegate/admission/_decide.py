"""The admission decision: a pure function of the request, its context and policy.

No IO here: the namespace's logical environment is looked up before, and the
records this returns are written after, by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from http import HTTPStatus
from typing import Any

import msgspec

from imagegate.admission._errors import MalformedReviewError
from imagegate.admission._naming import DeploymentNameTemplate
from imagegate.admission._records import (
    RecordTarget,
    decommissioned,
    deployed_records,
    record_keys,
)
from imagegate.admission._review import AdmissionRequest, raw_object
from imagegate.facts import Evidence, ImageFacts
from imagegate.policy import (
    CompiledPolicy,
    Deployed,
    Evaluation,
    Excepted,
    ImageSubject,
    Mode,
    Target,
    Unavailable,
    Violation,
    evaluate,
)
from imagegate.tracking import Origin, Platform, RecordRequest
from imagegate.workloads import (
    ExtractedWorkload,
    InvalidObjectError,
    extract_workload,
    handles,
)

# kube-apiserver truncates a warning past 256 characters and drops warnings past
# 4 KiB in total; stay under both so that what the user reads is ours, not cut.
MAX_WARNING_LENGTH = 256
MAX_WARNINGS_SIZE = 4096
# Subresources that change which images run, and so are judged like the pod itself.
_JUDGED_SUBRESOURCES = frozenset({"", "ephemeralcontainers"})
# Controllers whose pods come and go by design: their pods are judged, not recorded;
# the controller's own object is (e.g. a Job, or the CronJob that owns it).
_SHORT_LIVED_OWNERS = frozenset({"Job"})


@dataclass(frozen=True, slots=True)
class ContainerFacts:
    """Facts looked up for one container before deciding; ``None``: not needed."""

    registry: ImageFacts | Unavailable | None = None
    evidence: Evidence | Unavailable | None = None
    deployed: Deployed | Unavailable | None = None


@dataclass(frozen=True, slots=True)
class AdmissionContext:
    """What the decision needs beyond the request: settings and looked-up facts."""

    cluster: str
    """The environment admitted workloads are recorded in."""
    logical_environment: str
    """Of the request's namespace, as looked up by the caller."""
    name_template: DeploymentNameTemplate
    default_platform: Platform
    policies: tuple[CompiledPolicy, ...]
    """Every policy in force; the decision applies those whose match selects the target."""
    now: datetime
    namespace_labels: Mapping[str, str] | None = None
    """``None`` when not known (lookup off or failed): label-matched policies then apply."""
    facts: Mapping[str, ContainerFacts] = field(default_factory=dict)
    """By container name."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one AdmissionReview, and what to record because of it."""

    allowed: bool
    code: int = HTTPStatus.OK
    message: str | None = None
    warnings: tuple[str, ...] = ()
    records: tuple[RecordRequest, ...] = ()
    workload: ExtractedWorkload | None = None
    violations: tuple[Violation, ...] = ()
    excepted: tuple[Excepted, ...] = ()
    """Violations waived by a policy exception (logged, not enforced)."""
    unrecorded: tuple[tuple[str, str], ...] = field(default=())
    """(container, reason) of admitted containers that cannot be recorded."""
    judged: bool = False
    """False when the request was allowed untouched (other kind, subresource, CONNECT)."""


ALLOW_UNTOUCHED = Decision(allowed=True)
_NO_FACTS = ContainerFacts()

JsonPatch = dict[str, Any]
"""One RFC 6902 operation."""


def is_judged(request: AdmissionRequest) -> bool:
    """Whether ``request`` changes which images run (else it is allowed untouched)."""
    return (
        request.operation != "CONNECT"
        and request.sub_resource in _JUDGED_SUBRESOURCES
        and handles(request.kind.group, request.kind.kind)
    )


def workload_of(
    request: AdmissionRequest, *, default_platform: Platform
) -> ExtractedWorkload | None:
    """The workload a judged request is about (None: allowed untouched).

    CREATE and UPDATE read ``object``, DELETE reads ``oldObject``.
    """
    if not is_judged(request):
        return None
    if request.operation == "DELETE":
        return _extract(request, request.old_object, "oldObject", default_platform)
    if request.operation not in ("CREATE", "UPDATE"):
        raise MalformedReviewError(
            f"unknown operation {request.operation!r}", reason="unknown_operation"
        )
    return _extract(request, request.object, "object", default_platform)


def target_of(workload: ExtractedWorkload, context: AdmissionContext) -> Target:
    """Where ``workload`` is being admitted, for matching policies."""
    return Target(
        environment=context.cluster,
        logical_environment=context.logical_environment,
        namespace=workload.identity.namespace,
        namespace_labels=context.namespace_labels,
    )


def evaluation_of(workload: ExtractedWorkload, context: AdmissionContext) -> Evaluation:
    """The policies' verdict on every container of ``workload``."""
    subjects = []
    for container in workload.containers:
        facts = context.facts.get(container.name, _NO_FACTS)
        subjects.append(
            ImageSubject(
                container=container,
                platforms=workload.platforms,
                now=context.now,
                registry=facts.registry,
                evidence=facts.evidence,
                deployed=facts.deployed,
            )
        )
    return evaluate(
        policies=context.policies, target=target_of(workload, context), subjects=subjects
    )


def decide(
    *, request: AdmissionRequest, workload: ExtractedWorkload | None, context: AdmissionContext
) -> Decision:
    """Allow or deny ``request``, and the record requests an allowed one causes."""
    if workload is None:
        return ALLOW_UNTOUCHED
    if request.operation == "DELETE":
        return _decide_delete(request, workload, context)
    evaluation = evaluation_of(workload, context)
    violations = evaluation.violations
    enforced = [v for v in violations if v.mode is Mode.ENFORCE]
    audited = [v for v in violations if v.mode is Mode.AUDIT]
    if enforced:
        return Decision(
            allowed=False,
            code=HTTPStatus.FORBIDDEN,
            message=_denial_message(workload, enforced),
            warnings=_warnings(audited),
            workload=workload,
            violations=violations,
            excepted=evaluation.excepted,
            judged=True,
        )
    records, unrecorded = _records(request, workload, context)
    return Decision(
        allowed=True,
        warnings=_warnings(audited),
        records=records,
        workload=workload,
        violations=violations,
        excepted=evaluation.excepted,
        unrecorded=unrecorded,
        judged=True,
    )


def pin_patch(*, workload: ExtractedWorkload | None, context: AdmissionContext) -> list[JsonPatch]:
    """JSONPatch operations that pin tags to digests where a pin-tags rule asks for it.

    Only ``image`` fields change, each to ``<image as written>@<digest>``; images
    that already have a digest are left alone, so reinvocation patches nothing.
    """
    if workload is None:
        return []
    # Only pin-tags rules matter here; judging the others is /validate's work.
    mutating = tuple(
        replace(policy, rules=tuple(rule for rule in policy.rules if rule.mutates))
        for policy in context.policies
    )
    pin = evaluation_of(workload, replace(context, policies=mutating)).pin
    patch: list[JsonPatch] = []
    for container in workload.containers:
        reference = container.reference
        if container.name not in pin or reference is None or reference.digest is not None:
            continue
        facts = context.facts.get(container.name, _NO_FACTS).registry
        if isinstance(facts, ImageFacts):
            pinned = f"{container.image}@{facts.digest}"
            patch.append({"op": "replace", "path": container.path, "value": pinned})
    return patch


def _decide_delete(
    request: AdmissionRequest, workload: ExtractedWorkload, context: AdmissionContext
) -> Decision:
    if workload.identity.owned or request.dry_run:
        # A Pod of a ReplicaSet going away says nothing about the Deployment's life.
        return Decision(allowed=True, workload=workload, judged=True)
    records = tuple(
        decommissioned(key, now=context.now, origin=Origin.ADMISSION)
        for key, _platform, _container in record_keys(workload, record_target(context))
    )
    return Decision(allowed=True, records=records, workload=workload, judged=True)


def _records(
    request: AdmissionRequest, workload: ExtractedWorkload, context: AdmissionContext
) -> tuple[tuple[RecordRequest, ...], tuple[tuple[str, str], ...]]:
    if request.dry_run:
        return (), ()
    identity = workload.identity
    if identity.owned and (request.operation == "UPDATE" or identity.kind in _SHORT_LIVED_OWNERS):
        # Updates of owned objects include old ReplicaSets being scaled down: recording
        # their (older) images would supersede the rollout's new one.
        return (), ()
    # A tag the registry resolved: record the image that actually runs.
    resolved = {
        name: facts.registry.digest
        for name, facts in context.facts.items()
        if isinstance(facts.registry, ImageFacts)
    }
    return deployed_records(
        workload,
        record_target(context),
        now=context.now,
        origin=Origin.ADMISSION,
        digests=resolved,
    )


def record_target(context: AdmissionContext) -> RecordTarget:
    """Where the records of an admitted workload go."""
    return RecordTarget(
        cluster=context.cluster,
        logical_environment=context.logical_environment,
        name_template=context.name_template,
    )


def deployment_keys(
    workload: ExtractedWorkload, context: AdmissionContext
) -> dict[str, list[tuple[str, str, str]]]:
    """(environment, logical environment, deployment name) of each container's records."""
    keys: dict[str, list[tuple[str, str, str]]] = {}
    for key, _platform, container in record_keys(workload, record_target(context)):
        keys.setdefault(container, []).append(
            (key.environment, key.logical_environment, key.deployment_name)
        )
    return keys


def _extract(
    request: AdmissionRequest, raw: msgspec.Raw, field_name: str, default_platform: Platform
) -> ExtractedWorkload:
    data = raw_object(raw)
    if data is None:
        raise MalformedReviewError(
            f"request.{field_name} is missing for a {request.operation} of {request.kind.kind}",
            reason="no_object",
        )
    try:
        return extract_workload(
            group=request.kind.group,
            kind=request.kind.kind,
            raw=data,
            request_name=request.name,
            namespace=request.namespace,
            default_platform=default_platform,
        )
    except InvalidObjectError as error:
        raise MalformedReviewError(
            f"request.{field_name}: {error}", reason="invalid_object"
        ) from None


def _denial_message(workload: ExtractedWorkload, violations: Sequence[Violation]) -> str:
    identity = workload.identity
    subject = f"{workload.object_kind} {identity.namespace}/{workload.object_name}".rstrip("/")
    count = f"{len(violations)} policy violation{'s' if len(violations) > 1 else ''}"
    return f"imagegate denied {subject}: {count}: " + "; ".join(v.describe() for v in violations)


def _warnings(violations: Sequence[Violation]) -> tuple[str, ...]:
    warnings: list[str] = []
    size = 0
    for index, violation in enumerate(violations):
        text = f"imagegate (audit): {violation.describe()}"
        if len(text) > MAX_WARNING_LENGTH:
            # The fix is what the user acts on: drop the reason before cutting the fix.
            text = f"imagegate (audit): {violation.describe(with_reason=False)}"
        if len(text) > MAX_WARNING_LENGTH:
            text = text[: MAX_WARNING_LENGTH - 1] + "…"
        remaining = len(violations) - index
        if size + len(text) > MAX_WARNINGS_SIZE - 64:
            warnings.append(f"imagegate (audit): {remaining} more violations; see imagegate logs")
            break
        warnings.append(text)
        size += len(text)
    return tuple(warnings)
