"""What the two stores share: statements as values, and the dialect they differ by.

The store logic (``_records``, ``_api_keys``, ``_evidence``) is written once, as
generators that yield ``Query`` values and are sent back what the database answered;
each store drives them over its own driver (sqlite3 on a thread, asyncpg on the event
loop). So the logic does no IO, and a database differs only by its ``Dialect``: how
parameters are written, what a time is, and how a writer locks.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from imagegate.tracking import DeploymentKey

T = TypeVar("T")


class Fetch(enum.Enum):
    """What a statement's caller wants back."""

    NOTHING = "nothing"
    ONE = "one"
    """The first row, or None."""
    ALL = "all"


@dataclass(frozen=True, slots=True)
class Query:
    """One statement, with ``?`` for each parameter."""

    sql: str
    params: tuple[Any, ...] = ()
    fetch: Fetch = Fetch.NOTHING


Row = Sequence[Any]
"""A row: its columns by position (a tuple from sqlite3, a Record from asyncpg)."""

Steps = Generator[Query, Any, T]
"""Store logic: yields statements, is sent each one's answer, returns its result."""


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one database spells what the store logic needs."""

    name: str
    greatest: str
    """The function of the largest of its arguments (``MAX`` in SQLite)."""
    for_update: str
    """What makes a SELECT lock the rows it reads, if the database has row locks."""
    deployed_by_repository: str
    """An index hint for the deployed records of a repository (SQLite's planner lacks
    statistics to find it)."""
    time: Callable[[datetime], Any]
    """A time as a parameter."""
    read_time: Callable[[Any], datetime]
    """A time as a column comes back."""
    key_locks: Callable[[Sequence[DeploymentKey]], list[Query]] = field(default=lambda _: [])
    """Statements that lock deployment keys to the transaction, always in one order; none
    where a write transaction holds the whole database already."""


def numbered(sql: str) -> str:
    """``sql`` with ``?`` placeholders written ``$1``, ``$2``… (PostgreSQL's form)."""
    counter = iter(range(1, sql.count("?") + 1))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)
