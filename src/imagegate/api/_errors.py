"""HTTP API errors, and the one place where every error becomes an HTTP response."""

from __future__ import annotations

from http import HTTPStatus

import msgspec
from aiohttp import web

from imagegate._decoding_errors import locate
from imagegate.api._wire import ErrorDetail, ErrorOut
from imagegate.evidence import ScanNotFoundError, ScanRetiredError
from imagegate.tracking import (
    AmbiguousDeploymentError,
    ArtifactMismatchError,
    EnvironmentExistsError,
    StoreError,
    StoreUnavailableError,
    TrackingError,
)


class ApiError(Exception):
    """An error of the HTTP layer itself (auth, content type, size, not found)."""

    def __init__(
        self, status: HTTPStatus, code: str, message: str, *, field: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def error_response(
    status: HTTPStatus, code: str, message: str, *, field: str | None = None
) -> web.Response:
    """A JSON error body ``{"error": {"code", "message", "field"}}``."""
    body = msgspec.json.encode(ErrorOut(error=ErrorDetail(code=code, message=message, field=field)))
    headers = {"WWW-Authenticate": 'Bearer realm="imagegate"'} if status == 401 else None
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


# Most specific first: the first matching class decides.
_STATUS_OF: tuple[tuple[type[Exception], HTTPStatus], ...] = (
    (AmbiguousDeploymentError, HTTPStatus.CONFLICT),
    (ArtifactMismatchError, HTTPStatus.CONFLICT),
    (EnvironmentExistsError, HTTPStatus.CONFLICT),
    (ScanNotFoundError, HTTPStatus.NOT_FOUND),
    (ScanRetiredError, HTTPStatus.CONFLICT),
    (TrackingError, HTTPStatus.UNPROCESSABLE_ENTITY),
)


def response_for(error: Exception) -> web.Response | None:
    """The response an error maps to, or None for an error that is a bug (a 500)."""
    if isinstance(error, ApiError):
        return error_response(error.status, error.code, error.message, field=error.field)
    if isinstance(error, msgspec.ValidationError):
        message, field, at = locate(error)
        if field is not None and field == at:
            message = f"{at}: {message}"  # a wrong value: the message does not name it
        return error_response(
            HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_field", message, field=field
        )
    if isinstance(error, TrackingError):
        status = next(status for kind, status in _STATUS_OF if isinstance(error, kind))
        return error_response(status, error.code, error.message, field=error.field)
    if isinstance(error, StoreUnavailableError):
        return error_response(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "store_unavailable",
            "the record store is unavailable; retry later",
        )
    if isinstance(error, StoreError):
        return error_response(
            HTTPStatus.INTERNAL_SERVER_ERROR, "store_error", "the record store failed"
        )
    return None
