"""Admission with its IO around the pure decision: lookups before, recording after."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

import structlog

from imagegate.admission._decide import AdmissionContext, Decision, decide, is_judged
from imagegate.admission._review import AdmissionRequest, decode_review, encode_response
from imagegate.admission._settings import AdmissionSettings
from imagegate.metrics import Metrics
from imagegate.tracking import RecordRequest, StoreUnavailableError, utc_now

log = structlog.get_logger("imagegate.admission")


class NamespaceLabels(Protocol):
    """Where namespace labels come from (the Kubernetes API, through a cache)."""

    async def labels(self, namespace: str) -> Mapping[str, str] | None: ...


class RecordSink(Protocol):
    """Where admitted deployments go (the durable spool)."""

    async def append(self, requests: list[RecordRequest]) -> None: ...


class AdmissionService:
    """Answers AdmissionReviews for the validating and mutating webhooks."""

    def __init__(
        self,
        *,
        settings: AdmissionSettings,
        sink: RecordSink,
        metrics: Metrics,
        namespaces: NamespaceLabels | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._settings = settings
        self._sink = sink
        self._metrics = metrics
        self._namespaces = namespaces
        self._clock = clock
        self._background: set[asyncio.Future[None]] = set()

    async def validate(self, body: bytes) -> bytes:
        """Judge and record; MalformedReviewError for a request that is not a review."""
        started = time.perf_counter()
        api_version, request = decode_review(body)
        decision = await self._decide(request)
        if decision.records:
            await self._record(decision.records)
        response = encode_response(
            api_version=api_version,
            uid=request.uid,
            allowed=decision.allowed,
            code=decision.code,
            message=decision.message,
            warnings=decision.warnings,
        )
        self._observe("validate", request, decision, started)
        return response

    async def mutate(self, body: bytes) -> bytes:
        """Allow without a patch: no policy mutates objects yet."""
        started = time.perf_counter()
        api_version, request = decode_review(body)
        self._metrics.admission_requests.labels(
            webhook="mutate", operation=request.operation, kind=request.kind.kind, decision="allow"
        ).inc()
        self._metrics.admission_duration.labels(webhook="mutate").observe(
            time.perf_counter() - started
        )
        return encode_response(api_version=api_version, uid=request.uid, allowed=True)

    async def close(self) -> None:
        """Wait for spool appends still running after their admission was answered."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    async def _decide(self, request: AdmissionRequest) -> Decision:
        logical_environment = self._settings.environments.default
        if is_judged(request):
            logical_environment = await self._logical_environment(request.namespace)
        settings = self._settings
        context = AdmissionContext(
            cluster=settings.cluster,
            logical_environment=logical_environment,
            name_template=settings.name_template,
            default_platform=settings.default_platform,
            policy=settings.policy,
            now=self._clock(),
        )
        return decide(request=request, context=context)

    async def _logical_environment(self, namespace: str) -> str:
        labels = None
        if self._namespaces is not None and namespace:
            try:
                labels = await self._namespaces.labels(namespace)
            except Exception as error:  # noqa: BLE001 - any lookup failure falls back
                self._metrics.namespace_fallbacks.inc()
                log.warning("namespace_lookup_failed", namespace=namespace, error=str(error))
        environment, _source = self._settings.environments.resolve(namespace, labels)
        return environment

    async def _record(self, records: tuple[RecordRequest, ...]) -> None:
        append = asyncio.ensure_future(self._sink.append(list(records)))
        try:
            # shield: if the bound passes, the append goes on and completes later;
            # the admission is answered now rather than held by a slow disk.
            await asyncio.wait_for(asyncio.shield(append), self._settings.spool_bound_s)
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

    def _finish_background(self, task: asyncio.Future[None], *, records: int) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._metrics.unrecorded_images.labels(reason="spool_failed").inc(records)
            log.error("spool_append_failed", error=str(task.exception()))

    def _observe(
        self, webhook: str, request: AdmissionRequest, decision: Decision, started: float
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
        for _container, reason in decision.unrecorded:
            metrics.unrecorded_images.labels(reason=reason).inc()
        if not decision.judged:
            return
        workload = decision.workload
        log.info(
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
            records=len(decision.records),
            dry_run=bool(request.dry_run),
            latency_ms=round(elapsed * 1000, 3),
        )
