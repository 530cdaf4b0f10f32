"""A bug in a handler answers JSON without a traceback, and is logged."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from aiohttp import web

from imagegate.admission import AdmissionSettings
from imagegate.server import ServerSettings, build_app


async def broken(request: web.Request) -> web.Response:
    raise RuntimeError("secret internals")


async def test_unhandled_error_is_a_json_500(tmp_path: Path) -> None:
    settings = ServerSettings(
        store_url=f"sqlite:///{tmp_path / 'db'}",
        admission=AdmissionSettings(spool_path=tmp_path / "spool.db", namespace_labels=False),
    )
    app = build_app(settings)
    app.router.add_get("/broken", broken)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://{host}:{port}/broken") as response,
        ):
            assert response.status == 500
            assert response.content_type == "application/json"
            body = await response.json()
    finally:
        await runner.cleanup()
    assert body == {
        "error": {"code": "internal_error", "message": "internal error; see server logs"}
    }
    assert "secret internals" not in str(body)
