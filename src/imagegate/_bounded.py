"""Reading with a bound (operators' files and pipes, request bodies), so that
``/dev/zero``, a mistaken multi-gigabyte file or an endless upload is an error rather
than an exhausted memory."""

from __future__ import annotations

from typing import BinaryIO

from aiohttp import web

from imagegate.errors import InvalidInputError


class TooLargeError(InvalidInputError):
    """More than ``limit`` bytes were offered."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"is larger than {size_text(limit)}")
        self.limit = limit


def read_at_most(stream: BinaryIO, limit: int) -> bytes:
    """All of ``stream``, or TooLargeError as soon as it holds more than ``limit`` bytes."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise TooLargeError(limit)
    return data


def size_text(count: int) -> str:
    """``64 MiB``, ``64 KiB``: a byte count as people write limits."""
    mebibytes, kibibytes = count / (1024 * 1024), count / 1024
    return f"{mebibytes:g} MiB" if mebibytes >= 1 else f"{kibibytes:g} KiB"


_BODY_CHUNK = 256 * 1024


async def read_body_at_most(request: web.BaseRequest, limit: int) -> bytes:
    """A request's body, refused (TooLargeError) past ``limit`` bytes without reading it
    all: at once when Content-Length says so, else as soon as the chunks add up."""
    if request.content_length is not None and request.content_length > limit:
        raise TooLargeError(limit)
    body = bytearray()
    while chunk := await request.content.read(_BODY_CHUNK):
        body += chunk
        if len(body) > limit:
            raise TooLargeError(limit)
    return bytes(body)
