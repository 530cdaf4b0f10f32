"""The webhook endpoints: AdmissionReview JSON in, AdmissionReview JSON out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any

import msgspec
import structlog
from aiohttp import web

from imagegate.admission._callers import WebhookCallers, caller_refusal
from imagegate.admission._errors import MalformedReviewError
from imagegate.admission._service import AdmissionService
from imagegate.metrics import Metrics

ADMISSION = web.AppKey("admission", AdmissionService)
ADMISSION_METRICS = web.AppKey("admission_metrics", Metrics)
MAX_REVIEW_BYTES = web.AppKey("max_review_bytes", int)
WEBHOOK_CALLERS: web.AppKey[WebhookCallers | None] = web.AppKey("webhook_callers")

log = structlog.get_logger("imagegate.admission")

_READ_CHUNK = 256 * 1024


def add_admission_routes(app: web.Application) -> None:
    """Register /validate and /mutate; their service comes from ``app[ADMISSION]``."""
    app.router.add_post("/validate", _endpoint(lambda service: service.validate))
    app.router.add_post("/mutate", _endpoint(lambda service: service.mutate))


def _endpoint(
    choose: Callable[[AdmissionService], Callable[[bytes], Awaitable[bytes]]],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        refusal = caller_refusal(request.app.get(WEBHOOK_CALLERS), _peer_certificate(request))
        if refusal is not None:
            request.app[ADMISSION_METRICS].admission_errors.labels(
                reason="unauthorized_caller"
            ).inc()
            # Nothing is judged or recorded; a forged review is worth an operator's look.
            log.warning(
                "webhook_caller_refused", path=request.path, remote=request.remote, reason=refusal
            )
            return _error(HTTPStatus.FORBIDDEN, "unauthorized_caller", refusal)
        try:
            body = await _read_review(request, limit=request.app[MAX_REVIEW_BYTES])
            answer = await choose(request.app[ADMISSION])(body)
        except MalformedReviewError as error:
            request.app[ADMISSION_METRICS].admission_errors.labels(reason=error.reason).inc()
            # Not a denial: a malformed request is the caller's bug, answered 400.
            return _error(HTTPStatus.BAD_REQUEST, error.reason, error.message)
        return web.Response(body=answer, content_type="application/json")

    return handle


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
    if request.content_length is not None and request.content_length > limit:
        raise MalformedReviewError(
            f"the AdmissionReview is larger than {limit} bytes", reason="too_large"
        )
    body = bytearray()
    while chunk := await request.content.read(_READ_CHUNK):
        body += chunk
        if len(body) > limit:
            raise MalformedReviewError(
                f"the AdmissionReview is larger than {limit} bytes", reason="too_large"
            )
    if not body:
        raise MalformedReviewError("the request body is empty", reason="empty")
    return bytes(body)
