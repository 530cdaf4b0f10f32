"""Credentials are scrubbed from every log line, wherever in the line they appear."""

from __future__ import annotations

import pytest

from imagegate.logs import redact

TOKEN = "igk_0123456789ab_s3cr3t-Value_x"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Authorization: Bearer {TOKEN}", "Authorization: Bearer [redacted]"),
        (f"'Bearer {TOKEN}\\x7f'", "'Bearer [redacted]\\x7f'"),
        (f"token={TOKEN} end", "token=[redacted] end"),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic [redacted]"),
        ("bearer abc.def", "bearer [redacted]"),
        ("no credentials here", "no credentials here"),
    ],
)
def test_credentials_are_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected
