"""Stopping background tasks on shutdown: ended for sure, failures not hidden, and the
caller's own cancellation never swallowed."""

from __future__ import annotations

import asyncio

import pytest

from imagegate._tasks import stop


async def forever() -> None:
    await asyncio.Event().wait()


async def test_running_tasks_are_cancelled_and_awaited() -> None:
    tasks = [asyncio.create_task(forever()) for _ in range(3)]
    await asyncio.sleep(0)
    await stop(*tasks)
    assert all(task.cancelled() for task in tasks)


async def test_a_task_that_failed_raises_its_error() -> None:
    async def fail() -> None:
        raise RuntimeError("the watch broke")

    failed = asyncio.create_task(fail())
    running = asyncio.create_task(forever())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="the watch broke"):
        await stop(running, failed)
    assert running.cancelled()


async def test_the_callers_cancellation_goes_on() -> None:
    slow_to_stop = asyncio.Event()

    async def lingering() -> None:
        try:
            await forever()
        finally:
            await slow_to_stop.wait()  # cleans up for a while after its cancellation

    inner = asyncio.create_task(lingering())
    await asyncio.sleep(0)
    outer = asyncio.create_task(stop(inner))
    await asyncio.sleep(0)
    outer.cancel()
    await asyncio.sleep(0)
    slow_to_stop.set()
    # Around an await of the task, suppress(CancelledError) would take this one for the
    # task's and return as if nothing had happened.
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(outer, timeout=5)
    assert inner.cancelled()
