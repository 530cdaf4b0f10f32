"""Ending background tasks, as every long-lived part of imagegate must on shutdown."""

from __future__ import annotations

import asyncio
from typing import Any


async def stop(*tasks: asyncio.Task[Any]) -> None:
    """Cancel ``tasks`` and wait for them to end.

    A task that failed (rather than being cancelled) raises its error here, so a
    shutdown does not hide it. Unlike ``suppress(CancelledError)`` around an await,
    this never swallows a cancellation of the caller itself.
    """
    for task in tasks:
        task.cancel()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, asyncio.CancelledError):
            raise outcome
