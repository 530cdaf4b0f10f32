"""The API's answer to every error: a JSON body with a code, never a stack trace."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http import HTTPStatus

import structlog
from aiohttp import web

from imagegate.api._errors import error_response, response_for

log = structlog.get_logger("imagegate.api")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every error into a JSON body with a code, never a stack trace."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code = error.reason.lower().replace(" ", "_")
        answer = error_response(HTTPStatus(error.status), code, error.reason)
        if isinstance(error, web.HTTPMethodNotAllowed):
            # RFC 9110: a 405 says which methods the resource does allow.
            answer.headers["Allow"] = ", ".join(sorted(error.allowed_methods))
        return answer
    except Exception as error:
        response = response_for(error)
        if response is not None:
            return response
        # A bug: log it with its traceback, answer without one.
        log.exception("unhandled_error", method=request.method, path=request.path)
        return error_response(
            HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "internal error; see server logs"
        )
