"""A background task that fails is logged at once, counted, and started again."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from imagegate.metrics import Metrics
from imagegate.server._supervision import supervised


async def test_a_failing_task_is_logged_counted_and_restarted() -> None:
    metrics = Metrics()
    runs = 0
    running = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise OverflowError("a value no check foresaw")
        running.set()
        await asyncio.Event().wait()

    with capture_logs() as logs:
        task = supervised(flaky, name="policy-watch", metrics=metrics, restart_initial_s=0.01)
        await asyncio.wait_for(running.wait(), timeout=5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert runs == 2
    (failure,) = [line for line in logs if line["event"] == "background_task_failed"]
    assert (failure["task"], failure["log_level"]) == ("policy-watch", "error")
    assert failure["exc_info"] is True  # the traceback goes to the log
    counted = metrics.registry.get_sample_value(
        "imagegate_background_task_failures_total", {"task": "policy-watch"}
    )
    assert counted == 1.0


async def test_cancelling_a_supervised_task_stops_it() -> None:
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    task = supervised(forever, name="recorder", metrics=Metrics())
    await started.wait()
    task.cancel()
    results = await asyncio.gather(task, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
