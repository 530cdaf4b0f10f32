"""Choosing and opening a store from a URL such as ``sqlite:///var/lib/imagegate/db``."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from imagegate.store.sqlite import DEFAULT_BUSY_TIMEOUT_S, SqliteStore

DEFAULT_STORE_URL = "sqlite:///imagegate.db"
"""An ``imagegate.db`` file in the working directory: no other server needed."""

_SQLITE_OPTIONS = frozenset({"busy_timeout_ms"})


class StoreUrlError(ValueError):
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


async def open_store(url: str) -> SqliteStore:
    """Open the store named by ``url``."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        location = parse_sqlite_url(url)
        return await SqliteStore.open(location.path, busy_timeout_s=location.busy_timeout_s)
    raise StoreUrlError(f"unsupported store URL {url!r}: use sqlite:///path/to/file.db")
