"""The aiohttp server: the only place that wires the parts of imagegate together."""

from imagegate.server._app import SETTINGS, build_app, healthz
from imagegate.server._run import serve, server_ssl_context
from imagegate.server._settings import ServerSettings, SettingsError, is_loopback

__all__ = [
    "SETTINGS",
    "ServerSettings",
    "SettingsError",
    "build_app",
    "healthz",
    "is_loopback",
    "serve",
    "server_ssl_context",
]
