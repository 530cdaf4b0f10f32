"""Record stores behind the ``tracking.Store`` protocol, chosen by URL."""

from imagegate.store._open import DEFAULT_STORE_URL, StoreUrlError, open_store
from imagegate.store.sqlite import SqliteStore

__all__ = ["DEFAULT_STORE_URL", "SqliteStore", "StoreUrlError", "open_store"]
