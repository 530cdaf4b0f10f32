"""The one bounded reader of files, pipes and request bodies: exactly the limit is
read, one byte more is refused, and the limit is written as people write it."""

from __future__ import annotations

import io

import pytest

from imagegate._bounded import TooLargeError, read_at_most, size_text


def test_exactly_the_limit_is_read_whole() -> None:
    assert read_at_most(io.BytesIO(b"x" * 1024), 1024) == b"x" * 1024


def test_one_byte_past_the_limit_is_refused_without_reading_the_rest() -> None:
    stream = io.BytesIO(b"x" * 10_000)
    with pytest.raises(TooLargeError, match="is larger than 1 KiB") as refused:
        read_at_most(stream, 1024)
    assert refused.value.limit == 1024
    assert stream.tell() == 1025, "it stops at the first byte too many"


@pytest.mark.parametrize(
    ("count", "text"),
    [(64 * 1024, "64 KiB"), (16 * 1024 * 1024, "16 MiB"), (1536, "1.5 KiB"), (512, "0.5 KiB")],
)
def test_limits_are_written_in_kib_or_mib(count: int, text: str) -> None:
    assert size_text(count) == text
