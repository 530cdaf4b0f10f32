"""Reading request bodies: a size bound, a declared JSON content type, a JSON object."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aiohttp import web

from imagegate._bounded import TooLargeError, read_body_at_most
from imagegate.api._errors import ApiError
from imagegate.tracking import InvalidFieldError


async def read_json_body(request: web.Request, *, limit: int) -> bytes:
    """The body of a JSON request, refused past ``limit`` bytes without reading it all."""
    content_type = request.content_type
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise ApiError(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            f"send JSON with 'Content-Type: application/json', not {content_type!r}",
        )
    try:
        body = await read_body_at_most(request, limit)
    except TooLargeError:
        raise ApiError(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            "body_too_large",
            f"the request body is larger than {limit} bytes",
        ) from None
    if not body:
        raise ApiError(HTTPStatus.BAD_REQUEST, "empty_body", "the request body is empty")
    return body


def decode_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object whose every string UTF-8 can hold."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(
            HTTPStatus.BAD_REQUEST, "invalid_json", f"the request body is not valid JSON: {error}"
        ) from None
    except RecursionError:
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            "invalid_json",
            "the request body is not valid JSON: it is nested too deeply",
        ) from None
    if not isinstance(document, dict):
        raise ApiError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "invalid_field",
            f"the request body must be a JSON object, not {type(document).__name__}",
        )
    invalid = _invalid_text(document, "")
    if invalid is not None:
        # JSON escapes can spell a lone surrogate, which no store (nor UTF-8) can hold.
        raise InvalidFieldError(
            "text is not valid Unicode (a lone surrogate escape such as \\ud800)",
            field=invalid,
        )
    return document


def _invalid_text(value: Any, path: str) -> str | None:
    """The path of the first string (key or value) UTF-8 cannot encode, if any."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "(body)"
        return None
    children: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if _invalid_text(key, child) is not None:
                return child.encode("utf-8", "backslashreplace").decode()
            children.append((child, item))
    elif isinstance(value, list):
        children = [(f"{path}[{index}]", item) for index, item in enumerate(value)]
    for child, item in children:
        found = _invalid_text(item, child)
        if found is not None:
            return found
    return None
