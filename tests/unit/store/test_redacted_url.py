"""Store URLs reach logs and error messages; their passwords must not."""

from __future__ import annotations

import pytest

from imagegate.store import redacted_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://ig:hunter2@db:5432/x", "postgresql://ig:***@db:5432/x"),
        # A password holding '@' (unescaped, as libpq still reads it) stays hidden whole.
        ("postgresql://ig:hun@ter2@db/x", "postgresql://ig:***@db/x"),
        (
            "postgres://db/x?sslmode=require&password=hunter2&x=1",
            "postgres://db/x?sslmode=require&password=***&x=1",
        ),
        ("postgresql://db/x?PASSWORD=hunter2", "postgresql://db/x?PASSWORD=***"),
        # Broken URLs (urlsplit refuses them) are redacted all the same.
        ("postgresql://ig:hunter2@[::1:5432/db", "postgresql://ig:***@[::1:5432/db"),
        ("postgresql://ig@db/x", "postgresql://ig@db/x"),
        ("sqlite:///var/lib/imagegate/imagegate.db", "sqlite:///var/lib/imagegate/imagegate.db"),
        ("not a url", "not a url"),
    ],
)
def test_a_password_never_shows(url: str, shown: str) -> None:
    assert redacted_url(url) == shown
    assert "hunter2" not in redacted_url(url)
    assert "hun@ter2" not in redacted_url(url)
