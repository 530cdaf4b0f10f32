"""The floor: the least an aiohttp TLS admission webhook can do, to compare imagegate with.

Run as ``python -m benchmarks.webhook.floor --listen 127.0.0.1:PORT --tls-cert F --tls-key F``
from the repository. ``POST /validate`` reads the whole body, parses it as an
AdmissionReview and answers "allowed", echoing the request's uid; ``GET /healthz``
answers once the server listens. Same aiohttp, same TLS settings (TLS 1.2+, the
default server context) as ``imagegate serve``, and the same event loop: uvloop
when it is installed (``--loop``); no access log, no middleware.
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
from collections.abc import Callable, Sequence

import msgspec
from aiohttp import web

from benchmarks.webhook.loops import CHOICES, loop_factory

# Same limit as imagegate's AdmissionSettings.max_body_bytes.
_MAX_BODY_BYTES = 8 * 1024 * 1024


class _Request(msgspec.Struct):
    uid: str


class _Review(msgspec.Struct, rename="camel"):
    api_version: str = "admission.k8s.io/v1"
    request: _Request | None = None


_DECODER = msgspec.json.Decoder(_Review)


def _parse_msgspec(body: bytes) -> tuple[str, str]:
    # Typed decoding reads every byte but builds only the fields declared: the
    # cheapest parse that still rejects invalid JSON.
    review = _DECODER.decode(body)
    if review.request is None:
        raise ValueError("no request")
    return review.api_version, review.request.uid


def _parse_json(body: bytes) -> tuple[str, str]:
    review = json.loads(body)
    return str(review.get("apiVersion", "admission.k8s.io/v1")), str(review["request"]["uid"])


_PARSERS: dict[str, Callable[[bytes], tuple[str, str]]] = {
    "msgspec": _parse_msgspec,
    "json": _parse_json,
}


def build_app(parser: Callable[[bytes], tuple[str, str]]) -> web.Application:
    """The floor application, parsing reviews with ``parser``."""

    async def validate(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            api_version, uid = parser(body)
        except (ValueError, KeyError, TypeError, msgspec.DecodeError) as error:
            return web.json_response({"error": str(error)}, status=400)
        answer = {
            "apiVersion": api_version,
            "kind": "AdmissionReview",
            "response": {"uid": uid, "allowed": True},
        }
        return web.Response(body=msgspec.json.encode(answer), content_type="application/json")

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application(client_max_size=_MAX_BODY_BYTES)
    app.router.add_post("/validate", validate)
    app.router.add_get("/healthz", healthz)
    return app


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """A server context as imagegate builds it (see imagegate.tls.ReloadingTLSContext)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Bare aiohttp TLS webhook that allows everything.")
    parser.add_argument("--listen", required=True, metavar="HOST:PORT")
    parser.add_argument("--tls-cert", required=True, metavar="FILE")
    parser.add_argument("--tls-key", required=True, metavar="FILE")
    parser.add_argument(
        "--parser",
        choices=sorted(_PARSERS),
        default="msgspec",
        help="how the body is parsed (msgspec: typed decode of the uid, as cheap as it gets)",
    )
    parser.add_argument(
        "--loop", choices=CHOICES, default="auto", help="event loop (auto: uvloop if installed)"
    )
    arguments = parser.parse_args(argv)
    host, _, port = arguments.listen.rpartition(":")
    if not host or not port.isdigit():
        parser.error(f"--listen {arguments.listen!r} must be HOST:PORT")
    web.run_app(
        build_app(_PARSERS[arguments.parser]),
        host=host.strip("[]"),
        port=int(port),
        ssl_context=tls_context(arguments.tls_cert, arguments.tls_key),
        access_log=None,
        print=None,
        loop=loop_factory(arguments.loop)(),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
