"""What the SQLite store and the SQLite spool share."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def write_transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """One transaction that holds the file's write lock from its start.

    Connections here are in autocommit mode (``isolation_level=None``), where ``with
    connection`` opens no transaction: each statement would commit, and fsync, on its
    own. ``IMMEDIATE`` takes the write lock before the first read, so what is read is
    still true when written, and a batch is one commit.
    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
