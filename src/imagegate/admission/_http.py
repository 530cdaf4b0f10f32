"""The webhook endpoints: AdmissionReview JSON in, AdmissionReview JSON out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any

import msgspec
import structlog
from aiohttp import web

from imagegate._bounded import TooLargeError, read_body_at_most
from imagegate.admission._callers import WebhookCallers, caller_refusal
from imagegate.admission._errors import MalformedReviewError
from imagegate.admission._service import AdmissionService
from imagegate.admission._settings import AdmissionSettings
from imagegate.metrics import Metrics

ADMISSION = web.AppKey("admission", AdmissionService)
"""The service the endpoints hand reviews to; set when the application starts."""

log = structlog.get_logger("imagegate.admission")


def add_admission_routes(
    app: web.Application, settings: AdmissionSettings, metrics: Metrics
) -> None:
    """Register /validate and /mutate; their service comes from ``app[ADMISSION]``.

    The paths are at the root, where every webhook configuration (chart, manifests,
    the certificate manager's patch) points, so they are routes of the server's own
    application rather than a sub-application, which would need a prefix.
    """
    callers, limit = settings.callers, settings.max_body_bytes

    def endpoint(
        choose: Callable[[AdmissionService], Callable[[bytes], Awaitable[bytes]]],
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            return await _answer(request, choose, callers=callers, limit=limit, metrics=metrics)

        return handle

    app.router.add_post("/validate", endpoint(lambda service: service.validate))
    app.router.add_post("/mutate", endpoint(lambda service: service.mutate))


async def _answer(
    request: web.Request,
    choose: Callable[[AdmissionService], Callable[[bytes], Awaitable[bytes]]],
    *,
    callers: WebhookCallers | None,
    limit: int,
    metrics: Metrics,
) -> web.Response:
    """The caller checked, the review read and judged; errors answered as JSON."""
    refusal = caller_refusal(callers, _peer_certificate(request))
    if refusal is not None:
        metrics.admission_errors.labels(reason="unauthorized_caller").inc()
        # Nothing is judged or recorded; a forged review is worth an operator's look.
        log.warning(
            "webhook_caller_refused", path=request.path, remote=request.remote, reason=refusal
        )
        return _error(HTTPStatus.FORBIDDEN, "unauthorized_caller", refusal)
    try:
        body = await _read_review(request, limit=limit)
        answer = await choose(request.app[ADMISSION])(body)
    except MalformedReviewError as error:
        metrics.admission_errors.labels(reason=error.reason).inc()
        # Not a denial: a malformed request is the caller's bug, answered 400.
        return _error(HTTPStatus.BAD_REQUEST, error.reason, error.message)
    return web.Response(body=answer, content_type="application/json")


def _error(status: HTTPStatus, code: str, message: str) -> web.Response:
    return web.Response(
        status=status,
        body=msgspec.json.encode({"error": {"code": code, "message": message}}),
        content_type="application/json",
    )


def _peer_certificate(request: web.Request) -> Mapping[str, Any] | None:
    """The client's certificate, verified in the TLS handshake; None without one."""
    transport = request.transport
    if transport is None:
        return None
    peer: Mapping[str, Any] | None = transport.get_extra_info("peercert")
    return peer


async def _read_review(request: web.Request, *, limit: int) -> bytes:
    if request.content_type != "application/json":
        raise MalformedReviewError(
            f"an AdmissionReview is sent as application/json, not {request.content_type!r}",
            reason="wrong_content_type",
        )
    try:
        body = await read_body_at_most(request, limit)
    except TooLargeError:
        raise MalformedReviewError(
            f"the AdmissionReview is larger than {limit} bytes", reason="too_large"
        ) from None
    if not body:
        raise MalformedReviewError("the request body is empty", reason="empty")
    return body
