"""The aiohttp server: the only place that wires the parts of imagegate together."""

from imagegate.server._app import (
    METRICS,
    NAMESPACES,
    READINESS,
    RECORDER,
    SETTINGS,
    SPOOL,
    build_app,
    healthz,
)
from imagegate.server._readiness import Readiness
from imagegate.server._run import reloading_tls, serve, watch_certificates
from imagegate.server._settings import ServerSettings, SettingsError, is_loopback

__all__ = [
    "METRICS",
    "NAMESPACES",
    "READINESS",
    "RECORDER",
    "SETTINGS",
    "SPOOL",
    "Readiness",
    "ServerSettings",
    "SettingsError",
    "build_app",
    "healthz",
    "is_loopback",
    "reloading_tls",
    "serve",
    "watch_certificates",
]
