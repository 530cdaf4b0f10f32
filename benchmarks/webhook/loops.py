"""Choosing the event loop of a benchmark process: uvloop when importable, as imagegate does."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable

CHOICES = ("auto", "asyncio", "uvloop")


def loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """A factory of new event loops for ``choice`` (``auto``: uvloop if importable)."""
    if choice not in CHOICES:
        raise ValueError(f"event loop {choice!r} is not one of {', '.join(CHOICES)}")
    if choice == "uvloop" or (choice == "auto" and importlib.util.find_spec("uvloop")):
        import uvloop  # noqa: PLC0415  # optional: only where it is installed

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def running_loop_name() -> str:
    """``uvloop`` or ``asyncio``: the event loop running this coroutine's task."""
    module = type(asyncio.get_running_loop()).__module__
    return "uvloop" if module.startswith("uvloop") else "asyncio"
