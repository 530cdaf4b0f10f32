"""What ``imagegate serve`` writes to stderr: JSON lines only, and never a credential,
even when aiohttp itself reports a request it could not parse (it quotes the header)."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from pathlib import Path

from support.processes import run_cli, server_process


def raw_request(url: str, header_line: bytes) -> bytes:
    """Send one HTTP/1.1 request with ``header_line`` as is; the answer's bytes."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            b"GET /api/v1/deployments HTTP/1.1\r\nHost: x\r\n" + header_line + b"\r\n"
            b"Connection: close\r\n\r\n"
        )
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
        return answer


def test_a_token_never_reaches_the_log_and_every_line_is_json(tmp_path: Path) -> None:
    store = tmp_path / "server.db"
    token = run_cli(["apikey", "create", "--scope", "read"], store=store).stdout.strip()
    log = tmp_path / "serve.log"
    with server_process(store, "--log-level", "debug", log=log) as url:
        refused = raw_request(url, b"Authorization: Bearer " + token.encode() + b"\x7f")
        assert refused.split(b" ")[1] == b"400", refused[:80]
        raw_request(url, b"Authorization: Bearer " + token.encode() + b"\xff\xfe")
        urllib.request.urlopen(
            urllib.request.Request(
                f"{url}/api/v1/deployments", headers={"Authorization": f"Bearer {token}"}
            ),
            timeout=10,
        )
        time.sleep(0.5)  # aiohttp logs a refused request after answering it
    text = log.read_text(errors="replace")
    secret = token.rsplit("_", 1)[1]
    assert secret not in text
    assert token not in text
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines
    for line in lines:
        json.loads(line)  # every line is JSON, aiohttp's own included
