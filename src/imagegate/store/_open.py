"""Choosing and opening a store from a URL such as ``sqlite:///var/lib/imagegate/db``
or ``postgresql://imagegate@db.internal:5432/imagegate``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

from imagegate.errors import InvalidInputError
from imagegate.store.postgres import (
    DEFAULT_MAX_SIZE,
    DEFAULT_MIN_SIZE,
    DEFAULT_STATEMENT_TIMEOUT_MS,
    PostgresStore,
)
from imagegate.store.sqlite import DEFAULT_BUSY_TIMEOUT_S, SqliteStore

DEFAULT_STORE_URL = "sqlite:///imagegate.db"
"""An ``imagegate.db`` file in the working directory: no other server needed."""

_SQLITE_OPTIONS = frozenset({"busy_timeout_ms"})
_POSTGRES_SCHEMES = frozenset({"postgresql", "postgres"})
_POSTGRES_OPTIONS = ("min_size", "max_size", "statement_timeout_ms")
_PASSWORD_PARAMETER = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


class StoreUrlError(InvalidInputError):
    """A store URL that names no supported store."""


@dataclass(frozen=True, slots=True)
class SqliteLocation:
    """Where and how to open an embedded store."""

    path: str
    busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S


def parse_sqlite_url(url: str) -> SqliteLocation:
    """``sqlite:///rel/path`` or ``sqlite:////abs/path``, with ``?busy_timeout_ms=N``."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        raise StoreUrlError(f"not a sqlite URL: {url!r}")
    if parts.netloc or parts.fragment:
        raise StoreUrlError(
            f"store URL {url!r}: write sqlite:///relative/path or sqlite:////absolute/path"
        )
    # urlsplit keeps the leading slash of the path: "sqlite:///a.db" -> "/a.db".
    path = parts.path[1:]
    if not path:
        raise StoreUrlError(f"store URL {url!r} names no file")
    options = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(options) - _SQLITE_OPTIONS)
    if unknown:
        raise StoreUrlError(
            f"store URL {url!r}: unknown option {unknown[0]!r}; known: busy_timeout_ms"
        )
    busy_timeout_s = DEFAULT_BUSY_TIMEOUT_S
    if "busy_timeout_ms" in options:
        value = options["busy_timeout_ms"][-1]
        if not value.isdigit():
            raise StoreUrlError(f"store URL {url!r}: busy_timeout_ms must be a whole number")
        busy_timeout_s = int(value) / 1000
    return SqliteLocation(path=path, busy_timeout_s=busy_timeout_s)


@dataclass(frozen=True, slots=True)
class PostgresLocation:
    """Which PostgreSQL database, and the pool imagegate keeps to it."""

    dsn: str
    """The URL without imagegate's own options: libpq's (``sslmode``, ...) stay."""
    min_size: int = DEFAULT_MIN_SIZE
    max_size: int = DEFAULT_MAX_SIZE
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS


def parse_postgres_url(url: str) -> PostgresLocation:
    """``postgresql://user:pass@host:port/db?min_size=1&max_size=10&statement_timeout_ms=5000``.

    Other query parameters (``sslmode``, ``sslrootcert``, ``target_session_attrs``, ...)
    are passed on to the driver as libpq would read them.
    """
    try:
        parts = urlsplit(url)
        port = parts.port  # checks the range: libpq would fail on it later, less clearly
    except ValueError as error:
        raise StoreUrlError(f"store URL {redacted_url(url)!r}: {error}") from None
    if parts.scheme not in _POSTGRES_SCHEMES:
        raise StoreUrlError(f"not a postgresql URL: {redacted_url(url)!r}")
    if port == 0:
        raise StoreUrlError(f"store URL {redacted_url(url)!r}: port 0 is no server's port")
    if parts.fragment:
        raise StoreUrlError(f"store URL {redacted_url(url)!r}: a fragment means nothing here")
    ours: dict[str, int] = {}
    theirs: list[tuple[str, str]] = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name not in _POSTGRES_OPTIONS:
            theirs.append((name, value))
        elif not value.isdigit():
            raise StoreUrlError(f"store URL {redacted_url(url)!r}: {name} must be a whole number")
        else:
            ours[name] = int(value)
    location = PostgresLocation(
        dsn=urlunsplit(parts._replace(query=urlencode(theirs))),
        min_size=ours.get("min_size", DEFAULT_MIN_SIZE),
        max_size=ours.get("max_size", DEFAULT_MAX_SIZE),
        statement_timeout_ms=ours.get("statement_timeout_ms", DEFAULT_STATEMENT_TIMEOUT_MS),
    )
    if not location.max_size >= 1 or location.min_size > location.max_size:
        raise StoreUrlError(
            f"store URL {redacted_url(url)!r}: need 0 <= min_size <= max_size and max_size >= 1"
        )
    return location


def redacted_url(url: str) -> str:
    """``url`` with its password replaced, as a userinfo part or a ``password`` query
    parameter (libpq reads both): URLs end up in logs and errors. Text only, so it
    works on URLs that urlsplit refuses too."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    credentials, at, location = rest.rpartition("@")
    user, colon, _ = credentials.partition(":")
    if at and colon:
        rest = f"{user}:***@{location}"
    return scheme + separator + _PASSWORD_PARAMETER.sub(r"\1***", rest)


async def open_store(url: str, *, create: bool = True) -> SqliteStore | PostgresStore:
    """Open the store named by ``url``; without ``create``, an embedded store that does not
    exist yet is a ``StoreMissingError`` (a PostgreSQL database is always created by its
    operator)."""
    try:
        scheme = urlsplit(url).scheme
    except ValueError as error:
        raise StoreUrlError(f"store URL {redacted_url(url)!r}: {error}") from None
    if scheme == "sqlite":
        location = parse_sqlite_url(url)
        return await SqliteStore.open(
            location.path, busy_timeout_s=location.busy_timeout_s, create=create
        )
    if scheme in _POSTGRES_SCHEMES:
        pg = parse_postgres_url(url)
        return await PostgresStore.open(
            pg.dsn,
            min_size=pg.min_size,
            max_size=pg.max_size,
            statement_timeout_ms=pg.statement_timeout_ms,
        )
    raise StoreUrlError(
        f"unsupported store URL {redacted_url(url)!r}: use sqlite:///path/to/file.db "
        "or postgresql://user@host:5432/database"
    )
