"""Reading request bodies with a size bound and a declared JSON content type."""

from __future__ import annotations

from http import HTTPStatus

from aiohttp import web

from imagegate.api._errors import ApiError

_READ_CHUNK = 64 * 1024


async def read_json_body(request: web.Request, *, limit: int) -> bytes:
    """The body of a JSON request, refused past ``limit`` bytes without reading it all."""
    content_type = request.content_type
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise ApiError(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            f"send JSON with 'Content-Type: application/json', not {content_type!r}",
        )
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    body = bytearray()
    while chunk := await request.content.read(_READ_CHUNK):
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    if not body:
        raise ApiError(HTTPStatus.BAD_REQUEST, "empty_body", "the request body is empty")
    return bytes(body)


def _too_large(limit: int) -> ApiError:
    return ApiError(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        "body_too_large",
        f"the request body is larger than {limit} bytes",
    )
