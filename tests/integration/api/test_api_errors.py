"""Every bad request gets a clear JSON error, and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from imagegate.auth import Scope
from imagegate.store import SqliteStore
from imagegate.tracking import utc_now
from support.live import LiveServer, TokenFactory

DIGEST = "sha256:" + "a" * 64
GOOD_FULL = {
    "environment": "deployed",
    "logical_environment": "staging",
    "deployment_name": "api-server",
    "reference": f"ghcr.io/acme/api@{DIGEST}",
}


async def assert_nothing_recorded(server: LiveServer, token: str) -> None:
    listing = await server.call(
        "GET", "/api/v1/deployments", token=token, params={"history": "true"}
    )
    assert listing.body["items"] == []


@pytest.mark.parametrize(
    ("body", "status", "code", "field", "message_part"),
    [
        pytest.param(
            {"image": {"url": "ghcr.io/acme/api:v1"}},
            422,
            "digest_required",
            "image.url",
            "a tag is mutable",
            id="tag-only-simple",
        ),
        pytest.param(
            GOOD_FULL | {"reference": "ghcr.io/acme/api:latest"},
            422,
            "digest_required",
            "reference",
            "needs the image digest",
            id="tag-only-full",
        ),
        pytest.param(
            {"image": {"url": 42}},
            422,
            "invalid_field",
            "image.url",
            "Expected `str`",
            id="wrong-type",
        ),
        pytest.param(
            {"image": {}},
            422,
            "invalid_field",
            "image.url",
            "missing required field `url`",
            id="missing-url",
        ),
        pytest.param(
            {"image": {"url": f"a@{DIGEST}"}, "enviroment": {"name": "x"}},
            422,
            "invalid_field",
            "enviroment",
            "unknown field `enviroment`",
            id="misspelt-field",
        ),
        pytest.param(
            GOOD_FULL | {"kind": "VM_IMAGE"},
            422,
            "invalid_field",
            "kind",
            "Invalid enum value",
            id="unknown-kind",
        ),
        pytest.param(
            GOOD_FULL | {"status": "superseded"},
            422,
            "invalid_field",
            "status",
            "Invalid enum value",
            id="status-superseded",
        ),
        pytest.param(
            GOOD_FULL | {"environment": "k8s-nowhere"},
            422,
            "unknown_environment",
            "environment",
            "does not exist",
            id="unknown-environment",
        ),
        pytest.param(
            GOOD_FULL | {"environment": "Bad Name"},
            422,
            "invalid_name",
            "environment",
            "lower-case letters",
            id="bad-environment-name",
        ),
        pytest.param(
            GOOD_FULL | {"reference": "ghcr.io/acme/api@sha256:abc"},
            422,
            "invalid_reference",
            "reference",
            "exactly 64 hex digits",
            id="short-digest",
        ),
        pytest.param(
            {k: v for k, v in GOOD_FULL.items() if k != "reference"},
            422,
            "invalid_field",
            "reference",
            "name the artifact",
            id="no-artifact",
        ),
        pytest.param(
            GOOD_FULL | {"repository": "ghcr.io/acme/api", "digest": DIGEST},
            422,
            "invalid_field",
            "reference",
            "not both",
            id="reference-and-repository",
        ),
        pytest.param(
            {k: v for k, v in GOOD_FULL.items() if k != "reference"} | {"digest": DIGEST},
            422,
            "invalid_field",
            "repository",
            "'repository' is missing",
            id="digest-without-repository",
        ),
        pytest.param(
            {k: v for k, v in GOOD_FULL.items() if k != "reference"}
            | {"repository": "ghcr.io/acme/api", "digest": DIGEST, "tag": "-bad"},
            422,
            "invalid_reference",
            "tag",
            "tag '-bad'",
            id="bad-tag",
        ),
        pytest.param(
            GOOD_FULL | {"platform": {"os": "linux", "architecture": "arm 64"}},
            422,
            "invalid_field",
            "platform.architecture",
            "letters, digits",
            id="bad-architecture",
        ),
        pytest.param(
            {"image": {"url": f"a@{DIGEST}"}, "environment": {"name": "k8s-nowhere"}},
            422,
            "unknown_environment",
            "environment.name",
            "environment 'k8s-nowhere' does not exist",
            id="simple-unknown-environment",
        ),
        pytest.param(
            {"image": {"url": f"a@{DIGEST}", "name": "bad name"}},
            422,
            "invalid_name",
            "image.name",
            "image.name 'bad name' must be",
            id="simple-bad-name",
        ),
        pytest.param(
            {"image": {"url": f"a@{DIGEST}"}, "platform": {"variant": "v8 "}},
            422,
            "invalid_field",
            "platform.variant",
            "platform variant 'v8 '",
            id="bad-variant",
        ),
        pytest.param(
            {"image": {"url": f"a@{DIGEST}"}, "colour": "blue"},
            422,
            "invalid_field",
            "colour",
            "unknown field `colour`",
            id="top-level-unknown-field",
        ),
        pytest.param(
            {"environment": "deployed", "logical_environment": "staging"},
            422,
            "invalid_field",
            "deployment_name",
            "missing required field `deployment_name`",
            id="top-level-missing-field",
        ),
        pytest.param(
            [GOOD_FULL],
            422,
            "invalid_field",
            None,
            "must be a JSON object, not list",
            id="array-body",
        ),
    ],
)
async def test_invalid_record_requests(
    live_server: LiveServer,
    token: str,
    body: Any,
    status: int,
    code: str,
    field: str | None,
    message_part: str,
) -> None:
    answer = await live_server.call("POST", "/api/v1/deployments", token=token, json=body)
    assert answer.status == status, answer.body
    error = answer.body["error"]
    assert error["code"] == code
    assert error.get("field") == field
    assert message_part in error["message"]
    await assert_nothing_recorded(live_server, token)


async def test_bad_json(live_server: LiveServer, token: str) -> None:
    answer = await live_server.call(
        "POST",
        "/api/v1/deployments",
        token=token,
        data=b'{"image": ',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 400
    assert answer.body["error"]["code"] == "invalid_json"
    assert answer.body["error"]["message"].startswith("the request body is not valid JSON")


async def test_empty_body(live_server: LiveServer, token: str) -> None:
    answer = await live_server.call(
        "POST",
        "/api/v1/deployments",
        token=token,
        data=b"",
        headers={"Content-Type": "application/json"},
    )
    assert (answer.status, answer.body["error"]["code"]) == (400, "empty_body")


async def test_wrong_content_type(live_server: LiveServer, token: str) -> None:
    answer = await live_server.call(
        "POST",
        "/api/v1/deployments",
        token=token,
        data=b"image=nginx",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status == 415
    assert "Content-Type: application/json" in answer.body["error"]["message"]


async def test_oversize_body_is_refused(live_server: LiveServer, token: str) -> None:
    # The fixture's server accepts 16 KiB; send more, in a body that is valid JSON.
    body = {"image": {"url": f"a@{DIGEST}", "name": "x" * 20_000}}
    answer = await live_server.call("POST", "/api/v1/deployments", token=token, json=body)
    assert answer.status == 413
    assert answer.body["error"] == {
        "code": "body_too_large",
        "message": "the request body is larger than 16384 bytes",
    }
    await assert_nothing_recorded(live_server, token)


async def test_oversize_chunked_body_is_refused(live_server: LiveServer, token: str) -> None:
    async def chunks() -> Any:
        for _ in range(10):
            yield b" " * 4096

    answer = await live_server.call(
        "POST",
        "/api/v1/deployments",
        token=token,
        data=chunks(),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 413


@pytest.mark.parametrize(
    ("params", "field", "message_part"),
    [
        ({"limit": "0"}, "limit", "limit must be 1 to 1000"),
        ({"limit": "lots"}, "limit", "whole number"),
        ({"history": "maybe"}, "history", "true or false"),
        ({"status": "gone"}, "status", "deployed, superseded, decommissioned"),
        ({"kind": "VM"}, "kind", "CONTAINER_IMAGE, HELM_CHART"),
        ({"cursor": "not-a-cursor"}, "cursor", "not one this API returned"),
        ({"cursor": ""}, "cursor", "not one this API returned"),
        ({"cursor": "djE6MQ!!"}, "cursor", "not one this API returned"),
        ({"enviroment": "x"}, "enviroment", "unknown query parameter"),
    ],
)
async def test_invalid_listing_parameters(
    live_server: LiveServer, token: str, params: dict[str, str], field: str, message_part: str
) -> None:
    answer = await live_server.call("GET", "/api/v1/deployments", token=token, params=params)
    assert answer.status == 422, answer.body
    assert answer.body["error"]["field"] == field
    assert message_part in answer.body["error"]["message"]


@pytest.mark.parametrize(
    ("authorization", "message_part"),
    [
        (None, "send an API key as 'Authorization: Bearer <token>'"),
        ("Basic dXNlcjpwYXNz", "must be 'Bearer <token>'"),
        ("Bearer not-a-token", "the API key is not valid"),
        ("Bearer igk_000000000000_secret", "the API key is not valid"),
    ],
)
async def test_missing_or_bad_key(
    live_server: LiveServer, authorization: str | None, message_part: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for method, path in (("GET", "/api/v1/deployments"), ("POST", "/api/v1/environments")):
        answer = await live_server.call(method, path, headers=headers, json={"name": "x"})
        assert answer.status == 401
        assert answer.headers["WWW-Authenticate"] == 'Bearer realm="imagegate"'
        assert answer.body["error"]["code"] == "unauthenticated"
        assert message_part in answer.body["error"]["message"]


async def test_wrong_secret_for_a_real_key(live_server: LiveServer, token: str) -> None:
    forged = token[: token.rindex("_") + 1] + "x" * 43
    answer = await live_server.call("GET", "/api/v1/deployments", token=forged)
    assert answer.status == 401


async def test_revoked_key(live_server: LiveServer, token: str) -> None:
    assert (await live_server.call("GET", "/api/v1/deployments", token=token)).status == 200
    key_id = token.split("_")[1]
    store = await SqliteStore.open(live_server.store_path)
    try:
        assert await store.revoke_api_key(key_id, now=utc_now())
    finally:
        await store.close()
    answer = await live_server.call("GET", "/api/v1/deployments", token=token)
    assert answer.status == 401


async def test_scopes(live_server: LiveServer, make_token: TokenFactory) -> None:
    reader = await make_token(Scope.READ)
    writer = await make_token(Scope.WRITE)

    refused = await live_server.call("POST", "/api/v1/deployments", token=reader, json=GOOD_FULL)
    assert refused.status == 403
    assert refused.body["error"]["code"] == "insufficient_scope"
    assert "lacks the 'write' scope" in refused.body["error"]["message"]

    assert (await live_server.call("GET", "/api/v1/deployments", token=reader)).status == 200
    recorded = await live_server.call("POST", "/api/v1/deployments", token=writer, json=GOOD_FULL)
    assert recorded.status == 201
    listing = await live_server.call("GET", "/api/v1/deployments", token=writer)
    assert listing.status == 403
    assert "lacks the 'read' scope" in listing.body["error"]["message"]


async def test_unknown_route_and_method(live_server: LiveServer, token: str) -> None:
    missing = await live_server.call("GET", "/api/v1/nothing", token=token)
    assert (missing.status, missing.body["error"]["code"]) == (404, "not_found")
    wrong_method = await live_server.call("DELETE", "/api/v1/deployments", token=token)
    assert (wrong_method.status, wrong_method.body["error"]["code"]) == (
        405,
        "method_not_allowed",
    )


async def test_decommission_mismatch_names_the_digest(live_server: LiveServer, token: str) -> None:
    recorded = await live_server.call("POST", "/api/v1/deployments", token=token, json=GOOD_FULL)
    assert recorded.status == 201
    other = "sha256:" + "b" * 64
    body = {k: v for k, v in GOOD_FULL.items() if k != "reference"} | {
        "repository": "ghcr.io/acme/api",
        "digest": other,
        "status": "decommissioned",
    }
    answer = await live_server.call("POST", "/api/v1/deployments", token=token, json=body)
    assert answer.status == 409
    assert answer.body["error"]["code"] == "artifact_mismatch"
    assert answer.body["error"]["field"] == "digest"
    assert (
        f"the deployed artifact under this key is ghcr.io/acme/api@{DIGEST}"
        in (answer.body["error"]["message"])
    )


async def test_ipv6_registry_repository_is_a_valid_default_name(
    live_server: LiveServer, token: str
) -> None:
    body = {"image": {"url": f"[::1]:5000/app@{DIGEST}"}}
    answer = await live_server.call("POST", "/api/v1/deployments", token=token, json=body)
    assert answer.status == 201, answer.body
    assert answer.body["record"]["deployment_name"] == "[::1]:5000/app"
