"""Inputs crafted to break decoding or the store get a 4xx with a reason, never a 500."""

from __future__ import annotations

import base64

import pytest

from support.live import LiveServer

DEEP = b"[" * 1000 + b"]" * 1000


@pytest.mark.parametrize("path", ["/api/v1/deployments", "/api/v1/environments"])
async def test_deeply_nested_json_is_a_400(live_server: LiveServer, token: str, path: str) -> None:
    body = b'{"name": ' + DEEP + b"}"
    answer = await live_server.call(
        "POST", path, token=token, data=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status == 400, answer.body
    assert answer.body["error"]["code"] == "invalid_json"
    assert "nested too deeply" in answer.body["error"]["message"]


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("provenance", b'{"labels": {"a": ' + DEEP + b"}}"),
        ("scans", b'{"matches": ' + DEEP + b', "source": {}, "descriptor": {}}'),
    ],
)
async def test_deeply_nested_evidence_is_a_422(
    live_server: LiveServer, token: str, kind: str, body: bytes
) -> None:
    path = f"/api/v1/evidence/sha256:{'a' * 64}/{kind}"
    answer = await live_server.call(
        "POST", path, token=token, data=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status == 422, answer.body
    assert "nested too deeply" in answer.body["error"]["message"]


async def test_a_lone_surrogate_in_text_is_a_422(live_server: LiveServer, token: str) -> None:
    answer = await live_server.call(
        "POST",
        "/api/v1/environments",
        token=token,
        data=b'{"name": "k8s-east", "description": "\\ud800"}',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 422, answer.body
    assert answer.body["error"]["field"] == "description"
    assert "not valid Unicode" in answer.body["error"]["message"]
    listed = await live_server.call("GET", "/api/v1/environments", token=token)
    assert "k8s-east" not in [e["name"] for e in listed.body["items"]]


@pytest.mark.parametrize("number", ["99999999999999999999999", "0", "-5"])
async def test_a_cursor_beyond_any_record_id_is_a_422(
    live_server: LiveServer, token: str, number: str
) -> None:
    cursor = base64.urlsafe_b64encode(f"v1:{number}".encode()).decode().rstrip("=")
    answer = await live_server.call(
        "GET", "/api/v1/deployments", token=token, params={"cursor": cursor}
    )
    assert answer.status == 422, answer.body
    assert answer.body["error"]["field"] == "cursor"


async def test_non_utf8_bytes_in_the_authorization_header_are_a_401(
    live_server: LiveServer,
) -> None:
    answer = await live_server.call(
        "GET",
        "/api/v1/deployments",
        headers={"Authorization": "Bearer igk_000000000000_\xff\xfe"},
    )
    assert answer.status == 401, answer.body
    assert answer.body["error"]["message"] == "the API key is not valid"


@pytest.mark.parametrize("webhook", ["/validate", "/mutate"])
@pytest.mark.parametrize("kind", ["ConfigMap", "Deployment"])
async def test_a_deeply_nested_review_is_a_400(
    live_server: LiveServer, webhook: str, kind: str
) -> None:
    review = (
        b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": '
        b'{"uid": "u", "kind": {"group": "", "version": "v1", "kind": "' + kind.encode() + b'"},'
        b' "operation": "CREATE", "object": {"spec": ' + DEEP + b"}}}"
    )
    answer = await live_server.call(
        "POST", webhook, data=review, headers={"Content-Type": "application/json"}
    )
    assert answer.status == 400, answer.body
    assert "nested too deeply" in answer.body["error"]["message"]
