"""The real imagegate server over TLS on loopback, with a CA generated for it."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from imagegate.admission import AdmissionSettings, EnvironmentMapping
from imagegate.policy import Mode
from imagegate.server import TLS, ServerSettings, build_app
from imagegate.tls import generate_certificates, write_certificates
from imagegate.tracking import utc_now

CLUSTER = "k8s-test"


def webhook_settings(
    tmp_path: Path, *, mode: Mode = Mode.ENFORCE, store_options: str = ""
) -> ServerSettings:
    """Settings of a test webhook: files in ``tmp_path``, no cluster to ask for labels."""
    return ServerSettings(
        store_url=f"sqlite:///{tmp_path / 'imagegate.db'}{store_options}",
        admission=AdmissionSettings(
            cluster=CLUSTER,
            environments=EnvironmentMapping(namespaces={"shop-dev": "development"}),
            require_digest=mode,
            spool_path=tmp_path / "spool.db",
            namespace_labels=False,
        ),
    )


@dataclass
class Webhook:
    """A running server, how to reach it, and the app (to look at its parts)."""

    url: str
    app: web.Application
    runner: web.AppRunner
    session: aiohttp.ClientSession
    ca_file: Path
    stopped: bool = False

    async def stop(self) -> None:
        """Shut the server down as SIGTERM would (cleanup contexts run); idempotent."""
        if not self.stopped:
            self.stopped = True
            await self.runner.cleanup()

    async def post(self, path: str, document: Any) -> tuple[int, Any]:
        async with self.session.post(self.url + path, json=document) as response:
            return response.status, await response.json()

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(self.url + path) as response:
            return response.status, await response.text()


def certificates(directory: Path) -> tuple[Path, Path, Path]:
    """(ca.crt, tls.crt, tls.key) for localhost and 127.0.0.1, written to ``directory``."""
    generated = generate_certificates(
        dns_names=["localhost"], ip_addresses=["127.0.0.1"], now=utc_now()
    )
    paths = write_certificates(generated, directory)
    return paths.ca_cert, paths.tls_cert, paths.tls_key


@asynccontextmanager
async def running_webhook(settings: ServerSettings, certs_dir: Path) -> AsyncIterator[Webhook]:
    """Serve ``settings`` over TLS with a fresh certificate; a client that trusts only its CA."""
    ca_file, cert, key = certificates(certs_dir)
    app = build_app(replace(settings, tls_cert=cert, tls_key=key))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    # As ``serve`` does: the TLS context is a part of the app, built when it starts.
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=app[TLS].context)
    await site.start()
    port = runner.addresses[0][1]
    client_tls = ssl.create_default_context(cafile=ca_file)
    webhook: Webhook | None = None
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client_tls)) as session:
            webhook = Webhook(
                url=f"https://localhost:{port}",
                app=app,
                runner=runner,
                session=session,
                ca_file=ca_file,
            )
            yield webhook
    finally:
        # A test may have stopped the server already, to restart it.
        if webhook is not None:
            await webhook.stop()
        else:
            await runner.cleanup()
