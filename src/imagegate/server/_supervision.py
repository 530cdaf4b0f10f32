"""Background tasks that never die silently: a failure is logged at once, counted, and
the task is started again with backoff.

A task that ended on an unexpected exception used to be noticed only at shutdown
(when its result was awaited): a policy watch that stopped this way left /readyz
ready while new policies never took effect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import structlog

from imagegate._backoff import Backoff
from imagegate.metrics import Metrics

log = structlog.get_logger("imagegate.server")

_RESTART_INITIAL_S = 1.0
_RESTART_MAX_S = 60.0


def supervised(
    start: Callable[[], Coroutine[Any, Any, None]],
    *,
    name: str,
    metrics: Metrics,
    restart_initial_s: float = _RESTART_INITIAL_S,
) -> asyncio.Task[None]:
    """A task running ``start()``, started again (1 s, doubling to 60 s) whenever it fails."""

    async def run() -> None:
        backoff = Backoff(restart_initial_s, max(restart_initial_s, _RESTART_MAX_S))
        while True:
            try:
                await start()
            except Exception:
                metrics.background_failures.labels(task=name).inc()
                log.exception("background_task_failed", task=name, restart_in_s=backoff.next_s)
            else:
                log.error("background_task_ended", task=name, restart_in_s=backoff.next_s)
            # Restart pacing: a task that fails at once must not spin.
            await backoff.wait()

    return asyncio.create_task(run(), name=name)
