"""Choosing and opening a store from a URL such as ``sqlite:///var/lib/imagegate/db``."""

from __future__ import annotations

from urllib.parse import urlsplit

from imagegate.store.sqlite import SqliteStore

DEFAULT_STORE_URL = "sqlite:///imagegate.db"
"""An ``imagegate.db`` file in the working directory: no other server needed."""


class StoreUrlError(ValueError):
    """A store URL that names no supported store."""


def sqlite_path(url: str) -> str:
    """The file path of a ``sqlite:`` URL: ``sqlite:///rel/path`` or ``sqlite:////abs/path``."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        raise StoreUrlError(f"not a sqlite URL: {url!r}")
    if parts.netloc or parts.query or parts.fragment:
        raise StoreUrlError(
            f"store URL {url!r}: write sqlite:///relative/path or sqlite:////absolute/path"
        )
    # urlsplit keeps the leading slash of the path: "sqlite:///a.db" -> "/a.db".
    path = parts.path[1:]
    if not path:
        raise StoreUrlError(f"store URL {url!r} names no file")
    return path


async def open_store(url: str) -> SqliteStore:
    """Open the store named by ``url``."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        return await SqliteStore.open(sqlite_path(url))
    raise StoreUrlError(f"unsupported store URL {url!r}: use sqlite:///path/to/file.db")
