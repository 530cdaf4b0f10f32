"""Running the server process: TLS, listening socket, signals, structured access logs."""

from __future__ import annotations

import ssl

import structlog
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from imagegate.server._app import build_app
from imagegate.server._settings import ServerSettings

log = structlog.get_logger("imagegate.server")


class StructuredAccessLogger(AbstractAccessLogger):
    """One JSON line per request; never the query string or headers (they may hold secrets)."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        log.info(
            "http_request",
            method=request.method,
            path=request.path,
            status=response.status,
            duration_ms=round(time * 1000, 3),
            remote=request.remote,
        )


def server_ssl_context(settings: ServerSettings) -> ssl.SSLContext | None:
    """TLS 1.2+ server context from the configured files, or None for plain HTTP."""
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.tls_cert, settings.tls_key)
    return context


def serve(settings: ServerSettings) -> None:
    """Serve until SIGINT/SIGTERM, then finish in-flight requests and close the store."""
    settings.validate()
    app = build_app(settings)
    scheme = "https" if settings.tls else "http"
    log.info(
        "server_starting",
        url=f"{scheme}://{settings.host}:{settings.port}",
        store=_redacted(settings.store_url),
    )
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        ssl_context=server_ssl_context(settings),
        access_log_class=StructuredAccessLogger,
        shutdown_timeout=settings.shutdown_timeout_s,
        print=None,
    )
    log.info("server_stopped")


def _redacted(url: str) -> str:
    # Store URLs may carry a password (postgresql://user:secret@host/db).
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"
