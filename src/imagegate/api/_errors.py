"""HTTP API errors, and the one place where every error becomes an HTTP response."""

from __future__ import annotations

from http import HTTPStatus

import msgspec
from aiohttp import web

from imagegate._decoding_errors import locate
from imagegate.api._wire import ErrorDetail, ErrorOut
from imagegate.errors import (
    ConflictError,
    ImagegateError,
    InternalError,
    InvalidInputError,
    NotFoundError,
    RefusedError,
    UnavailableError,
)


class ApiError(RefusedError):
    """An error of the HTTP layer itself, with its own status: authentication (401,
    403), content type (415), size (413), a body that is not JSON (400), a route's
    resource that does not exist (404)."""

    def __init__(
        self, status: HTTPStatus, code: str, message: str, *, field: str | None = None
    ) -> None:
        super().__init__(message, field=field)
        self.status = status
        self.code = code


def error_response(
    status: HTTPStatus, code: str, message: str, *, field: str | None = None
) -> web.Response:
    """A JSON error body ``{"error": {"code", "message", "field"}}``."""
    body = msgspec.json.encode(ErrorOut(error=ErrorDetail(code=code, message=message, field=field)))
    headers = {"WWW-Authenticate": 'Bearer realm="imagegate"'} if status == 401 else None
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


# The first kind an error is decides (a StoreUnavailableError is a store error too).
_STATUS_OF_KIND: tuple[tuple[type[ImagegateError], HTTPStatus], ...] = (
    (InvalidInputError, HTTPStatus.UNPROCESSABLE_ENTITY),
    (NotFoundError, HTTPStatus.NOT_FOUND),
    (ConflictError, HTTPStatus.CONFLICT),
    (UnavailableError, HTTPStatus.SERVICE_UNAVAILABLE),
    (InternalError, HTTPStatus.INTERNAL_SERVER_ERROR),
)

# What a client is told of a failure that is not its own (the logs say more), by code.
_FAILURE_MESSAGES = {
    "store_unavailable": "the record store is unavailable; retry later",
    "store_error": "the record store failed",
}
_FAILURES = {
    HTTPStatus.SERVICE_UNAVAILABLE: "a part the server needs is unavailable; retry later",
    HTTPStatus.INTERNAL_SERVER_ERROR: "internal error; see server logs",
}


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
    if not isinstance(error, ImagegateError):
        return None
    status = next(
        (status for kind, status in _STATUS_OF_KIND if isinstance(error, kind)),
        HTTPStatus.INTERNAL_SERVER_ERROR,
    )
    if status in _FAILURES:
        message = _FAILURE_MESSAGES.get(error.code, _FAILURES[status])
        return error_response(status, error.code, message)
    return error_response(status, error.code, error.message, field=error.field)
