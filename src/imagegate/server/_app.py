"""The aiohttp application: routes, middlewares and the lifecycle of its parts."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from imagegate.api import (
    API_SETTINGS,
    AUTHENTICATOR,
    TRACKER,
    Authenticator,
    add_api_routes,
    json_errors,
)
from imagegate.server._settings import ServerSettings
from imagegate.store import open_store
from imagegate.tracking import Tracker

SETTINGS = web.AppKey("settings", ServerSettings)

# aiohttp refuses larger bodies before a handler runs; handlers set tighter limits.
_CLIENT_MAX_SIZE = 4 * 1024 * 1024


def build_app(settings: ServerSettings) -> web.Application:
    """The application; the store opens on startup and closes on shutdown."""
    app = web.Application(middlewares=[json_errors], client_max_size=_CLIENT_MAX_SIZE)
    app[SETTINGS] = settings
    app[API_SETTINGS] = settings.api
    app.cleanup_ctx.append(_store_context)
    app.router.add_get("/healthz", healthz)
    add_api_routes(app)
    return app


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process serves requests."""
    return web.json_response({"status": "ok"})


async def _store_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    store = await open_store(settings.store_url)
    try:
        app[TRACKER] = Tracker(store, settings=settings.tracker)
        app[AUTHENTICATOR] = Authenticator(store, cache_ttl_s=settings.api.api_key_cache_ttl_s)
        yield
    finally:
        await store.close()
