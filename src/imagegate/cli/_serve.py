"""``imagegate serve``: settings from arguments, then the server."""

from __future__ import annotations

import argparse
from pathlib import Path

from imagegate.api import ApiSettings
from imagegate.logs import configure_logging
from imagegate.server import ServerSettings, SettingsError, serve
from imagegate.tracking import TrackerSettings, validate_environment_name

_DEFAULT_PLAIN_LISTEN = "127.0.0.1:8080"
_DEFAULT_TLS_LISTEN = "0.0.0.0:8443"


def run_serve(arguments: argparse.Namespace) -> None:
    """Build ServerSettings from the command line and serve until stopped."""
    tls = arguments.tls_cert is not None
    host, port = parse_listen(
        arguments.listen or (_DEFAULT_TLS_LISTEN if tls else _DEFAULT_PLAIN_LISTEN)
    )
    validate_environment_name(arguments.default_logical_env, field="--default-logical-env")
    settings = ServerSettings(
        host=host,
        port=port,
        tls_cert=Path(arguments.tls_cert) if arguments.tls_cert else None,
        tls_key=Path(arguments.tls_key) if arguments.tls_key else None,
        store_url=arguments.store,
        tracker=TrackerSettings(auto_create_environments=arguments.auto_create_environments),
        api=ApiSettings(default_logical_environment=arguments.default_logical_env),
    ).validate()
    configure_logging(arguments.log_level)
    serve(settings)


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) as a (host, port) pair."""
    host, separator, port = text.rpartition(":")
    if not separator or not host or not port.isdigit():
        raise SettingsError(f"--listen {text!r} must be HOST:PORT, e.g. 127.0.0.1:8080")
    return host.strip("[]"), int(port)
