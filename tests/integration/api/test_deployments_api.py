"""The deployments API over real HTTP on loopback, against a real SQLite file."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from imagegate.server import ServerSettings
from imagegate.tracking import TrackerSettings
from support.live import LiveServer, start_server

V1 = "sha256:" + "1" * 64
V2 = "sha256:" + "2" * 64
V3 = "sha256:" + "3" * 64
API = "ghcr.io/acme/api-server"


def full(environment: str, logical: str, digest: str, **extra: Any) -> dict[str, Any]:
    return {
        "environment": environment,
        "logical_environment": logical,
        "deployment_name": "api-server",
        "kind": "CONTAINER_IMAGE",
        "reference": f"{API}@{digest}",
        **extra,
    }


async def create_environment(server: LiveServer, token: str, name: str) -> None:
    answer = await server.call(
        "POST", "/api/v1/environments", token=token, json={"name": name, "description": name}
    )
    assert answer.status == 201, answer.body


async def active(server: LiveServer, token: str, **filters: str) -> list[dict[str, Any]]:
    answer = await server.call("GET", "/api/v1/deployments", token=token, params=filters)
    assert answer.status == 200, answer.body
    items: list[dict[str, Any]] = answer.body["items"]
    return items


async def test_typical_workflow(live_server: LiveServer, token: str) -> None:
    for name in ("k8s-east", "k8s-west"):
        await create_environment(live_server, token, name)

    staged = await live_server.call(
        "POST", "/api/v1/deployments", token=token, json=full("k8s-east", "staging", V1)
    )
    assert (staged.status, staged.body["outcome"]) == (201, "created")

    promoted = await live_server.call(
        "POST", "/api/v1/deployments", token=token, json=full("k8s-east", "production", V1)
    )
    assert (promoted.status, promoted.body["outcome"]) == (201, "created")

    upgraded = await live_server.call(
        "POST", "/api/v1/deployments", token=token, json=full("k8s-east", "production", V2)
    )
    assert (upgraded.status, upgraded.body["outcome"]) == (201, "superseded")
    assert upgraded.body["superseded"]["id"] == promoted.body["record"]["id"]
    assert upgraded.body["superseded"]["status"] == "superseded"
    assert upgraded.body["superseded"]["superseded_by"] == upgraded.body["record"]["id"]

    production = await active(live_server, token, logical_environment="production")
    assert [r["artifact"]["digest"] for r in production] == [V2]
    staging = await active(live_server, token, logical_environment="staging")
    assert [(r["artifact"]["digest"], r["status"]) for r in staging] == [(V1, "deployed")]

    history = await active(live_server, token, logical_environment="production", history="true")
    assert [(r["artifact"]["digest"], r["status"]) for r in history] == [
        (V2, "deployed"),
        (V1, "superseded"),
    ]

    everything_before = await active(live_server, token, history="true")
    again = await live_server.call(
        "POST", "/api/v1/deployments", token=token, json=full("k8s-east", "production", V2)
    )
    assert (again.status, again.body["outcome"]) == (200, "refreshed")
    assert again.body["record"]["id"] == upgraded.body["record"]["id"]
    assert again.body["record"]["last_seen_at"] > upgraded.body["record"]["last_seen_at"]
    assert again.body["record"]["created_at"] == upgraded.body["record"]["created_at"]
    everything_after = await active(live_server, token, history="true")
    assert len(everything_after) == len(everything_before)

    gone = await live_server.call(
        "POST",
        "/api/v1/deployments",
        token=token,
        json=full("k8s-east", "production", V2, status="decommissioned"),
    )
    assert (gone.status, gone.body["outcome"]) == (200, "decommissioned")
    assert await active(live_server, token, logical_environment="production") == []
    history = await active(live_server, token, logical_environment="production", history="true")
    assert [(r["artifact"]["digest"], r["status"]) for r in history] == [
        (V2, "decommissioned"),
        (V1, "superseded"),
    ]


async def test_simple_payload_defaults(live_server: LiveServer, token: str) -> None:
    answer = await live_server.call(
        "POST", "/api/v1/deployments", token=token, json={"image": {"url": f"{API}:v1@{V1}"}}
    )
    assert answer.status == 201, answer.body
    record = answer.body["record"]
    assert record["environment"] == "deployed"
    assert record["logical_environment"] == "production"
    assert record["deployment_name"] == API
    assert record["platform"] == {"os": "linux", "architecture": "amd64", "variant": None}
    assert record["artifact"] == {
        "repository": API,
        "digest": V1,
        "tag": "v1",
        "reference": f"{API}:v1@{V1}",
    }


async def test_simple_payload_with_everything(live_server: LiveServer, token: str) -> None:
    await create_environment(live_server, token, "k8s-arm")
    body = {
        "image": {"url": f"nginx@{V1}", "name": "edge-proxy"},
        "environment": {"name": "k8s-arm"},
        "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
    }
    answer = await live_server.call("POST", "/api/v1/deployments", token=token, json=body)
    assert answer.status == 201, answer.body
    record = answer.body["record"]
    assert (record["environment"], record["deployment_name"]) == ("k8s-arm", "edge-proxy")
    assert record["artifact"]["repository"] == "docker.io/library/nginx"
    assert record["platform"] == {"os": "linux", "architecture": "arm64", "variant": "v8"}


async def test_an_empty_variant_is_none(live_server: LiveServer, token: str) -> None:
    # OCI image indexes leave the variant out; a pipeline copying one may send "".
    body = {"image": {"url": f"{API}@{V1}"}, "platform": {"architecture": "arm64", "variant": ""}}
    answer = await live_server.call("POST", "/api/v1/deployments", token=token, json=body)
    assert answer.status == 201, answer.body
    assert answer.body["record"]["platform"] == {
        "os": "linux",
        "architecture": "arm64",
        "variant": None,
    }


async def test_simple_payload_needs_unique_names_for_one_repository(
    live_server: LiveServer, token: str
) -> None:
    for name, digest in (("api-blue", V1), ("api-green", V2)):
        answer = await live_server.call(
            "POST",
            "/api/v1/deployments",
            token=token,
            json={"image": {"url": f"{API}@{digest}", "name": name}},
        )
        assert answer.status == 201, answer.body

    unnamed = await live_server.call(
        "POST", "/api/v1/deployments", token=token, json={"image": {"url": f"{API}@{V3}"}}
    )
    assert unnamed.status == 409
    error = unnamed.body["error"]
    assert error["code"] == "ambiguous_deployment"
    assert error["field"] == "image.name"
    assert "unique image.name" in error["message"]
    assert "'api-blue', 'api-green'" in error["message"]
    # Nothing was written by the refused call.
    assert len(await active(live_server, token, history="true")) == 2


async def test_helm_chart_has_no_platform(live_server: LiveServer, token: str) -> None:
    await create_environment(live_server, token, "k8s-east")
    body = {
        "environment": "k8s-east",
        "logical_environment": "staging",
        "deployment_name": "ingress",
        "kind": "HELM_CHART",
        "repository": "ghcr.io/acme/charts/ingress",
        "digest": V1,
        "tag": "4.2.0",
    }
    answer = await live_server.call("POST", "/api/v1/deployments", token=token, json=body)
    assert answer.status == 201, answer.body
    assert answer.body["record"]["platform"] is None
    assert answer.body["record"]["kind"] == "HELM_CHART"
    assert answer.body["record"]["artifact"]["reference"] == (
        f"ghcr.io/acme/charts/ingress:4.2.0@{V1}"
    )


async def test_custom_logical_environment_is_created_on_first_use(
    live_server: LiveServer, token: str
) -> None:
    answer = await live_server.call(
        "POST", "/api/v1/deployments", token=token, json=full("deployed", "qa-eu", V1)
    )
    assert answer.status == 201, answer.body
    listing = await live_server.call("GET", "/api/v1/logical-environments", token=token)
    names = [item["name"] for item in listing.body["items"]]
    assert names == ["development", "production", "qa-eu", "staging"]


async def test_pagination_is_stable(live_server: LiveServer, token: str) -> None:
    for index in range(7):
        body = full("deployed", "staging", V1) | {"deployment_name": f"svc-{index}"}
        answer = await live_server.call("POST", "/api/v1/deployments", token=token, json=body)
        assert answer.status == 201
    seen: list[str] = []
    params = {"limit": "3"}
    while True:
        page = await live_server.call("GET", "/api/v1/deployments", token=token, params=params)
        assert page.status == 200, page.body
        seen += [item["deployment_name"] for item in page.body["items"]]
        if len(seen) == 3:
            # A record arriving mid-listing does not shift the pages already planned.
            late = full("deployed", "staging", V1) | {"deployment_name": "svc-late"}
            await live_server.call("POST", "/api/v1/deployments", token=token, json=late)
        if page.body["next_cursor"] is None:
            break
        params = {"limit": "3", "cursor": page.body["next_cursor"]}
    assert seen == [f"svc-{index}" for index in reversed(range(7))]


async def test_environments(live_server: LiveServer, token: str) -> None:
    await create_environment(live_server, token, "k8s-east")
    described = await live_server.call("GET", "/api/v1/environments/k8s-east", token=token)
    assert described.status == 200
    assert described.body["name"] == "k8s-east"
    assert described.body["description"] == "k8s-east"
    listing = await live_server.call("GET", "/api/v1/environments", token=token)
    # "default" is the cluster's own environment, created at startup for admission records.
    assert [e["name"] for e in listing.body["items"]] == ["default", "deployed", "k8s-east"]

    duplicate = await live_server.call(
        "POST", "/api/v1/environments", token=token, json={"name": "k8s-east"}
    )
    assert duplicate.status == 409
    assert duplicate.body["error"]["code"] == "environment_exists"

    missing = await live_server.call("GET", "/api/v1/environments/k8s-nowhere", token=token)
    assert missing.status == 404
    assert missing.body["error"] == {
        "code": "environment_not_found",
        "message": "environment 'k8s-nowhere' does not exist",
    }


async def test_healthz_needs_no_key(live_server: LiveServer) -> None:
    answer = await live_server.call("GET", "/healthz")
    assert (answer.status, answer.body) == (200, {"status": "ok"})


async def test_decommission_of_another_artifact_is_refused(
    live_server: LiveServer, token: str
) -> None:
    await live_server.call(
        "POST", "/api/v1/deployments", token=token, json=full("deployed", "staging", V1)
    )
    answer = await live_server.call(
        "POST",
        "/api/v1/deployments",
        token=token,
        json=full("deployed", "staging", V2, status="decommissioned"),
    )
    assert answer.status == 409
    assert answer.body["error"]["code"] == "artifact_mismatch"
    assert [r["status"] for r in await active(live_server, token)] == ["deployed"]


async def test_decommission_twice_is_harmless(live_server: LiveServer, token: str) -> None:
    body = full("deployed", "staging", V1)
    await live_server.call("POST", "/api/v1/deployments", token=token, json=body)
    first = await live_server.call(
        "POST", "/api/v1/deployments", token=token, json=body | {"status": "decommissioned"}
    )
    second = await live_server.call(
        "POST", "/api/v1/deployments", token=token, json=body | {"status": "decommissioned"}
    )
    assert first.body["outcome"] == "decommissioned"
    assert (second.status, second.body["outcome"], second.body["record"]) == (
        200,
        "unchanged",
        None,
    )


async def test_unknown_environment_is_created_when_configured(
    server_settings: ServerSettings, live_server: LiveServer, token: str
) -> None:
    refused = await live_server.call(
        "POST", "/api/v1/deployments", token=token, json=full("k8s-new", "staging", V1)
    )
    assert refused.status == 422
    assert refused.body["error"]["code"] == "unknown_environment"
    assert refused.body["error"]["field"] == "environment"

    settings = replace(server_settings, tracker=TrackerSettings(auto_create_environments=True))
    runner, url = await start_server(settings)
    try:
        lenient = LiveServer(
            url=url, store_path=live_server.store_path, session=live_server.session
        )
        answer = await lenient.call(
            "POST", "/api/v1/deployments", token=token, json=full("k8s-new", "staging", V1)
        )
        assert (answer.status, answer.body["outcome"]) == (201, "created")
        described = await lenient.call("GET", "/api/v1/environments/k8s-new", token=token)
        assert described.status == 200
    finally:
        await runner.cleanup()
