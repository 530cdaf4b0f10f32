"""Record stores behind the ``tracking.Store`` protocol, chosen by URL."""

from imagegate.store._open import DEFAULT_STORE_URL, StoreUrlError, open_store, redacted_url
from imagegate.store._timestamps import format_timestamp
from imagegate.store.postgres import PostgresStore
from imagegate.store.sqlite import SqliteStore

__all__ = [
    "DEFAULT_STORE_URL",
    "PostgresStore",
    "SqliteStore",
    "StoreUrlError",
    "format_timestamp",
    "open_store",
    "redacted_url",
]
