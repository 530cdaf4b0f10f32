"""The tests' PostgreSQL server: ``testbed.postgres``, skipped when it cannot run.

``testbed.postgres`` starts a throwaway cluster with Debian's binaries, or uses the
server ``IMAGEGATE_TEST_POSTGRES_URL`` names; each test session gets its own
database on it, and each store a test opens its own schema. Where neither can be
had, the tests that need it are skipped with the reason, or fail when ``CI`` is
set: CI must never pass by skipping.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Awaitable, Callable
from typing import NoReturn, ParamSpec, TypeVar

import pytest
from testbed import postgres
from testbed.postgres import PostgresUnavailable

_P = ParamSpec("_P")
_T = TypeVar("_T")


def _unavailable(message: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _skipped_when_unavailable(function: Callable[_P, Awaitable[_T]]) -> Callable[_P, Awaitable[_T]]:
    @functools.wraps(function)
    async def call(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return await function(*args, **kwargs)
        except PostgresUnavailable as error:
            _unavailable(str(error))

    return call


session_server = _skipped_when_unavailable(postgres.session_server)
"""The server and the database of this test session, started on first use."""
fresh_store_url = _skipped_when_unavailable(postgres.fresh_store_url)
"""The URL of an empty schema of its own in the session database."""
fresh_database_url = _skipped_when_unavailable(postgres.fresh_database_url)
"""The URL of a new, empty database (for what a schema cannot show, e.g. migrations)."""
