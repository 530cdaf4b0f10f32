"""Running the server process: one event loop, the listening socket, signals, access logs."""

from __future__ import annotations

import asyncio
import errno
import gc
import signal

import structlog
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

try:
    import uvloop
except ImportError:  # a dependency, except where it does not build (Windows, PyPy)
    uvloop = None  # type: ignore[assignment]

from imagegate.server._app import build_app
from imagegate.server._keys import TLS
from imagegate.server._settings import ServerSettings, SettingsError
from imagegate.store import redacted_url
from imagegate.tls import ReloadingTLSContext

log = structlog.get_logger("imagegate.server")


# Admissions log a richer line of their own; probes and scrapes would drown the rest.
_QUIET_PATHS = frozenset({"/validate", "/mutate", "/healthz", "/readyz", "/metrics"})


class StructuredAccessLogger(AbstractAccessLogger):
    """One JSON line per request; never the query string or headers (they may hold secrets)."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        if request.path in _QUIET_PATHS and response.status < 400:
            return
        log.info(
            "http_request",
            method=request.method,
            path=request.path,
            status=response.status,
            duration_ms=round(time * 1000, 3),
            remote=request.remote,
        )


def new_event_loop(choice: str) -> tuple[asyncio.AbstractEventLoop, str]:
    """A new event loop as chosen (``auto``: uvloop when installed), and its name."""
    if choice == "uvloop" and uvloop is None:
        raise SettingsError("--event-loop uvloop: the uvloop package is not installed")
    if choice in ("auto", "uvloop") and uvloop is not None:
        return uvloop.new_event_loop(), "uvloop"
    return asyncio.new_event_loop(), "asyncio"


def serve(settings: ServerSettings) -> None:
    """Serve until SIGINT/SIGTERM, then finish in-flight requests and close every part.

    One event loop from start to end: the parts open (certificates settled first,
    then the TLS context from their files, store, spool, ...) before the socket
    listens, so nothing is served half set up, and they close in one cleanup.
    """
    settings.validate()
    loop, loop_name = new_event_loop(settings.event_loop)
    with asyncio.Runner(loop_factory=lambda: loop) as runner:
        runner.run(_serve_until_signalled(settings, loop_name))
    log.info("server_stopped")


async def _serve_until_signalled(settings: ServerSettings, loop_name: str) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stopping.set)
    await serve_until(stopping, settings, loop_name=loop_name)


async def serve_until(
    stopping: asyncio.Event, settings: ServerSettings, *, loop_name: str = "asyncio"
) -> None:
    """Open every part, listen, serve until ``stopping`` is set, then close it all."""
    scheme = "https" if settings.tls else "http"
    log.info(
        "server_starting",
        url=f"{scheme}://{settings.host}:{settings.port}",
        store=redacted_url(settings.store_url),
        event_loop=loop_name,
    )
    app = build_app(settings)
    app.on_startup.append(_freeze_startup_objects)
    runner = web.AppRunner(
        app,
        access_log_class=StructuredAccessLogger,
        shutdown_timeout=settings.shutdown_timeout_s,
    )
    try:
        await runner.setup()
    except BaseException:
        # The parts that did open (a store, a spool) close before the error is reported.
        await app.cleanup()
        raise
    try:
        await _listen(runner, settings, app.get(TLS))
        log.info("server_listening", addresses=[str(site.name) for site in runner.sites])
        await stopping.wait()
        log.info("server_stopping")
    finally:
        await runner.cleanup()


async def _listen(
    runner: web.AppRunner, settings: ServerSettings, tls: ReloadingTLSContext | None
) -> None:
    site = web.TCPSite(
        runner, settings.host, settings.port, ssl_context=tls.context if tls is not None else None
    )
    try:
        await site.start()
    except OSError as error:
        if error.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise
        raise SettingsError(
            f"cannot listen on {settings.host}:{settings.port}: {error.strerror}"
        ) from None


async def _freeze_startup_objects(app: web.Application) -> None:
    # Modules, settings and compiled policies live as long as the process; moved out of
    # the collector's reach, they no longer make each full collection a pause of tens
    # of milliseconds in the middle of admissions.
    gc.collect()
    gc.freeze()
