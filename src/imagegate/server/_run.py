"""Running the server process: TLS, listening socket, signals, structured access logs."""

from __future__ import annotations

import asyncio
import errno
import gc
from collections.abc import AsyncIterator, Callable

import structlog
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

try:
    import uvloop
except ImportError:  # a dependency, except where it does not build (Windows, PyPy)
    uvloop = None  # type: ignore[assignment]

from imagegate._tasks import stop
from imagegate.server._app import METRICS, build_app
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


def reloading_tls(settings: ServerSettings) -> ReloadingTLSContext | None:
    """TLS 1.2+ from the configured files, reloaded when they change; None for plain HTTP."""
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    callers = settings.admission.callers
    return ReloadingTLSContext(
        settings.tls_cert,
        settings.tls_key,
        client_ca_file=callers.ca_file if callers is not None else None,
    )


def watch_certificates(
    tls: ReloadingTLSContext, interval_s: float
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context that reloads rotated certificate files while the app runs."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        metrics = app[METRICS]
        task = asyncio.create_task(
            tls.watch(interval_s, on_failure=metrics.tls_reload_failures.inc),
            name="imagegate-tls-watch",
        )
        try:
            yield
        finally:
            await stop(task)

    return context


def new_event_loop(choice: str) -> tuple[asyncio.AbstractEventLoop, str]:
    """A new event loop as chosen (``auto``: uvloop when installed), and its name."""
    if choice == "uvloop" and uvloop is None:
        raise SettingsError("--event-loop uvloop: the uvloop package is not installed")
    if choice in ("auto", "uvloop") and uvloop is not None:
        return uvloop.new_event_loop(), "uvloop"
    return asyncio.new_event_loop(), "asyncio"


def serve(settings: ServerSettings) -> None:
    """Serve until SIGINT/SIGTERM, then finish in-flight requests and close the store."""
    settings.validate()
    loop, loop_name = new_event_loop(settings.event_loop)
    asyncio.set_event_loop(loop)
    app = build_app(settings)
    app.on_startup.append(_freeze_startup_objects)
    tls = reloading_tls(settings)
    if tls is not None:
        app.cleanup_ctx.append(watch_certificates(tls, settings.tls_reload_interval_s))
    scheme = "https" if settings.tls else "http"
    log.info(
        "server_starting",
        url=f"{scheme}://{settings.host}:{settings.port}",
        store=redacted_url(settings.store_url),
        event_loop=loop_name,
    )
    try:
        web.run_app(
            app,
            host=settings.host,
            port=settings.port,
            ssl_context=tls.context if tls is not None else None,
            access_log_class=StructuredAccessLogger,
            shutdown_timeout=settings.shutdown_timeout_s,
            print=None,
            loop=loop,
        )
    except OSError as error:
        if error.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise
        raise SettingsError(
            f"cannot listen on {settings.host}:{settings.port}: {error.strerror}"
        ) from None
    log.info("server_stopped")


async def _freeze_startup_objects(app: web.Application) -> None:
    # Modules, settings and compiled policies live as long as the process; moved out of
    # the collector's reach, they no longer make each full collection a pause of tens
    # of milliseconds in the middle of admissions.
    gc.collect()
    gc.freeze()
