"""The aiohttp server: the only place that wires the parts of imagegate together."""

from imagegate.server._app import build_app, healthz, reloading_tls
from imagegate.server._keys import METRICS, NAMESPACES, READINESS, RECORDER, SETTINGS, SPOOL, TLS
from imagegate.server._readiness import Readiness
from imagegate.server._run import serve, serve_until
from imagegate.server._settings import ServerSettings, SettingsError, is_loopback

__all__ = [
    "METRICS",
    "NAMESPACES",
    "READINESS",
    "RECORDER",
    "SETTINGS",
    "SPOOL",
    "TLS",
    "Readiness",
    "ServerSettings",
    "SettingsError",
    "build_app",
    "healthz",
    "is_loopback",
    "reloading_tls",
    "serve",
    "serve_until",
]
