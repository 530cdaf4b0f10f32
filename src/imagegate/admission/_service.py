"""Admission with its IO around the pure decision: lookups before, recording after."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

import msgspec
import structlog

from imagegate.admission._decide import (
    AdmissionContext,
    Decision,
    decide,
    deployment_keys,
    pin_patch,
    target_of,
    workload_of,
)
from imagegate.admission._facts import FactsGatherer
from imagegate.admission._review import AdmissionRequest, decode_review, encode_response
from imagegate.admission._settings import AdmissionSettings
from imagegate.metrics import Metrics
from imagegate.policy import CompiledPolicy, Need, matching, needs_of
from imagegate.tracking import RecordRequest, StoreUnavailableError, utc_now
from imagegate.workloads import ExtractedWorkload

log = structlog.get_logger("imagegate.admission")


class NamespaceLabels(Protocol):
    """Where namespace labels come from (the Kubernetes API, through a cache)."""

    async def labels(self, namespace: str) -> Mapping[str, str] | None: ...


class PolicySet(Protocol):
    """The policies in force now (they may be reloaded between requests)."""

    @property
    def policies(self) -> tuple[CompiledPolicy, ...]: ...


class RecordSink(Protocol):
    """Where admitted deployments go (the durable spool, behind a HeartbeatThrottle)."""

    def hold(self, requests: Sequence[RecordRequest]) -> bool:
        """Keep ``requests`` without waiting when that is safe; False: ``append`` them."""
        ...

    async def append(self, requests: Sequence[RecordRequest]) -> None: ...


class AdmissionService:
    """Answers AdmissionReviews for the validating and mutating webhooks."""

    def __init__(
        self,
        *,
        settings: AdmissionSettings,
        sink: RecordSink,
        metrics: Metrics,
        policies: PolicySet,
        namespaces: NamespaceLabels | None = None,
        facts: FactsGatherer | None = None,
        clock: Callable[[], datetime] = utc_now,
        records_at_admission: bool = True,
    ) -> None:
        """``records_at_admission`` False: a cluster watch records what the API server
        persists, so admission only decides (what it admits may never be stored)."""
        self._settings = settings
        self._records_at_admission = records_at_admission
        self._sink = sink
        self._metrics = metrics
        self._policies = policies
        self._namespaces = namespaces
        self._facts = facts
        self._clock = clock
        self._background: set[asyncio.Future[None]] = set()

    async def validate(self, body: bytes) -> bytes:
        """Judge and record; MalformedReviewError for a request that is not a review."""
        started = time.perf_counter()
        api_version, request = decode_review(body)
        workload = workload_of(request, default_platform=self._settings.default_platform)
        context = await self._context(workload, mutating=False)
        decision = decide(request=request, workload=workload, context=context)
        spooled = (
            self._records_at_admission
            and bool(decision.records)
            and await self._record(decision.records)
        )
        response = encode_response(
            api_version=api_version,
            uid=request.uid,
            allowed=decision.allowed,
            code=decision.code,
            message=decision.message,
            warnings=decision.warnings,
        )
        self._observe("validate", request, decision, started, spooled=spooled)
        return response

    async def mutate(self, body: bytes) -> bytes:
        """Allow, with a JSONPatch pinning tags to digests where a pin-tags policy asks."""
        started = time.perf_counter()
        api_version, request = decode_review(body)
        workload = None
        if request.operation in ("CREATE", "UPDATE"):
            workload = workload_of(request, default_platform=self._settings.default_platform)
        context = await self._context(workload, mutating=True)
        patch = pin_patch(workload=workload, context=context)
        self._metrics.admission_requests.labels(
            webhook="mutate",
            operation=request.operation,
            kind=request.kind.kind,
            decision="patch" if patch else "allow",
        ).inc()
        self._metrics.admission_duration.labels(webhook="mutate").observe(
            time.perf_counter() - started
        )
        if patch:
            log.info(
                "admission_patch",
                uid=request.uid,
                namespace=request.namespace,
                kind=request.kind.kind,
                patch=patch,
            )
        return encode_response(
            api_version=api_version,
            uid=request.uid,
            allowed=True,
            patch=msgspec.json.encode(patch) if patch else None,
        )

    async def close(self) -> None:
        """Wait for spool appends still running after their admission was answered."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def _context(
        self, workload: ExtractedWorkload | None, *, mutating: bool
    ) -> AdmissionContext:
        settings = self._settings
        policies = self._policies.policies
        if mutating and not any(rule.mutates for policy in policies for rule in policy.rules):
            workload = None  # nothing can patch: skip every lookup
        labels: Mapping[str, str] | None = None
        logical_environment = settings.environments.default
        if workload is not None:
            labels = await self._namespace_labels(workload.identity.namespace)
            logical_environment, _ = settings.environments.resolve(
                workload.identity.namespace, labels
            )
        context = AdmissionContext(
            cluster=settings.cluster,
            logical_environment=logical_environment,
            name_template=settings.name_template,
            default_platform=settings.default_platform,
            policies=policies,
            now=self._clock(),
            namespace_labels=labels,
        )
        if workload is None or self._facts is None:
            return context
        applicable = matching(context.policies, target_of(workload, context))
        if mutating:
            wanted = any(rule.mutates for policy in applicable for rule in policy.rules)
            needs = frozenset({Need.REGISTRY}) if wanted else frozenset()
        else:
            needs = needs_of(applicable)
        if not needs:
            return context
        facts = await self._facts.gather(
            workload.containers,
            needs,
            deployed_under=deployment_keys(workload, context),
            namespace=workload.identity.namespace,
            pull_secrets=workload.pull_secrets,
        )
        return replace(context, facts=facts)

    async def _namespace_labels(self, namespace: str) -> Mapping[str, str] | None:
        if self._namespaces is None or not namespace:
            return None
        try:
            return await self._namespaces.labels(namespace)
        except Exception as error:  # noqa: BLE001 - any lookup failure falls back
            self._metrics.namespace_fallbacks.inc()
            log.warning("namespace_lookup_failed", namespace=namespace, error=str(error))
            return None

    async def _record(self, records: tuple[RecordRequest, ...]) -> bool:
        """Hand ``records`` to the sink; False when it held them as a repeat of what
        it has spooled already (a heartbeat), True when they are written."""
        if self._sink.hold(records):
            return False
        append = asyncio.ensure_future(self._sink.append(records))
        started = time.perf_counter()
        try:
            # shield: if the bound passes, the append goes on and completes later;
            # the admission is answered now rather than held by a slow disk.
            await asyncio.wait_for(asyncio.shield(append), self._settings.spool_bound_s)
            self._metrics.spool_wait.observe(time.perf_counter() - started)
        except TimeoutError:
            self._metrics.spool_slow_appends.inc()
            log.warning("spool_append_slow", records=len(records))
            self._background.add(append)
            append.add_done_callback(
                lambda task: self._finish_background(task, records=len(records))
            )
        except StoreUnavailableError as error:
            self._metrics.unrecorded_images.labels(reason="spool_failed").inc(len(records))
            log.exception("spool_append_failed", error=str(error), records=len(records))
        return True

    def _finish_background(self, task: asyncio.Future[None], *, records: int) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._metrics.unrecorded_images.labels(reason="spool_failed").inc(records)
            log.error("spool_append_failed", error=str(task.exception()))

    def _observe(
        self,
        webhook: str,
        request: AdmissionRequest,
        decision: Decision,
        started: float,
        *,
        spooled: bool = False,
    ) -> None:
        elapsed = time.perf_counter() - started
        verdict = "allow" if decision.allowed else "deny"
        if decision.allowed and decision.warnings:
            verdict = "warn"
        metrics = self._metrics
        metrics.admission_requests.labels(
            webhook=webhook, operation=request.operation, kind=request.kind.kind, decision=verdict
        ).inc()
        metrics.admission_duration.labels(webhook=webhook).observe(elapsed)
        for violation in decision.violations:
            metrics.policy_violations.labels(rule=violation.rule, mode=violation.mode.value).inc()
        for waived in decision.excepted:
            metrics.policy_violations.labels(rule=waived.violation.rule, mode="excepted").inc()
        for _container, reason in decision.unrecorded:
            metrics.unrecorded_images.labels(reason=reason).inc()
        if not decision.judged:
            return
        # An allowed admission with nothing to say is routine: one line per pod of every
        # rollout would bury the denials, warnings and exceptions an operator looks for.
        # One that writes history (not a repeat held as a heartbeat) is not: every
        # change of the records must leave a line at the default level.
        routine = decision.allowed and not (
            spooled
            or decision.warnings
            or decision.violations
            or decision.excepted
            or decision.unrecorded
        )
        if routine and not log.is_enabled_for(logging.DEBUG):
            return
        workload = decision.workload
        (log.debug if routine else log.info)(
            "admission",
            uid=request.uid,
            operation=request.operation,
            namespace=request.namespace,
            kind=request.kind.kind,
            name=workload.object_name if workload else request.name,
            workload=f"{workload.identity.kind}/{workload.identity.name}" if workload else None,
            images=[c.image for c in workload.containers] if workload else [],
            decision=verdict,
            violations=[v.describe() for v in decision.violations],
            excepted=[
                f"{w.violation.describe()} (excepted: {w.reason})" for w in decision.excepted
            ],
            records=len(decision.records),
            recorded=[r.key.deployment_name for r in decision.records] if spooled else [],
            dry_run=bool(request.dry_run),
            latency_ms=round(elapsed * 1000, 3),
        )
