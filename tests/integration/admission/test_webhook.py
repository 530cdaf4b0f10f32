"""The admission webhook over real TLS: answers, records, metrics, readiness."""

from __future__ import annotations

import json
import ssl
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from imagegate.api import TRACKER
from imagegate.policy import Mode
from imagegate.server import RECORDER
from imagegate.tracking import DeploymentQuery, DeploymentRecord, Status
from support.reviews import review
from support.webhook import CLUSTER, Webhook, certificates, running_webhook, webhook_settings

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
WEB_V1 = f"ghcr.io/acme/web:1.0@{D1}"
WEB_V2 = f"ghcr.io/acme/web:2.0@{D2}"
SIDECAR = f"docker.io/envoyproxy/envoy:v1.31@{D1}"


async def records(webhook: Webhook, **filters: Any) -> list[DeploymentRecord]:
    """Every record, once the recorder has written what admission spooled."""
    await webhook.app[RECORDER].drain()
    page = await webhook.app[TRACKER].list_deployments(
        DeploymentQuery(history=True, limit=1000, **filters)
    )
    return list(page.records)


async def test_admitted_deployment_is_recorded(webhook: Webhook) -> None:
    status, answer = await webhook.post(
        "/validate", review("Deployment", "web", "shop", [WEB_V1, SIDECAR])
    )
    assert status == 200
    assert answer["apiVersion"] == "admission.k8s.io/v1"
    assert answer["kind"] == "AdmissionReview"
    assert answer["response"]["allowed"] is True

    recorded = await records(webhook)
    assert sorted((r.key.deployment_name, r.artifact.reference) for r in recorded) == [
        ("shop/web/c0", WEB_V1),
        ("shop/web/c1", SIDECAR),
    ]
    for record in recorded:
        assert (record.key.environment, record.key.logical_environment) == (CLUSTER, "production")
        assert record.status is Status.DEPLOYED
        assert str(record.platform) == "linux/amd64"


async def test_namespace_map_sets_the_logical_environment(webhook: Webhook) -> None:
    await webhook.post("/validate", review("StatefulSet", "db", "shop-dev", [WEB_V1]))
    (record,) = await records(webhook)
    assert record.key.logical_environment == "development"


async def test_update_supersedes_and_delete_decommissions(webhook: Webhook) -> None:
    await webhook.post("/validate", review("Deployment", "web", "shop", [WEB_V1]))
    await webhook.post(
        "/validate",
        review("Deployment", "web", "shop", [WEB_V2], operation="UPDATE", old_images=[WEB_V1]),
    )
    history = await records(webhook)
    assert [(r.artifact.digest, r.status) for r in history] == [
        (D2, Status.DEPLOYED),
        (D1, Status.SUPERSEDED),
    ]
    status, answer = await webhook.post(
        "/validate", review("Deployment", "web", "shop", operation="DELETE", old_images=[WEB_V2])
    )
    assert (status, answer["response"]["allowed"]) == (200, True)
    history = await records(webhook)
    assert [r.status for r in history] == [Status.DECOMMISSIONED, Status.SUPERSEDED]


async def test_dry_run_records_nothing(webhook: Webhook) -> None:
    status, answer = await webhook.post(
        "/validate", review("Deployment", "web", "shop", [WEB_V1], dry_run=True)
    )
    assert (status, answer["response"]["allowed"]) == (200, True)
    assert await records(webhook) == []


async def test_tag_only_image_is_denied_with_the_reason(webhook: Webhook) -> None:
    status, answer = await webhook.post(
        "/validate", review("Deployment", "web", "shop", ["nginx:1.27"])
    )
    assert status == 200
    response = answer["response"]
    assert response["allowed"] is False
    assert response["status"]["code"] == 403
    message = response["status"]["message"]
    assert message.startswith("imagegate denied Deployment shop/web: 1 policy violation: ")
    assert "[default/digest-pinned] container 'c0' image 'nginx:1.27'" in message
    assert "crane digest docker.io/library/nginx:1.27" in message
    assert await records(webhook) == []


async def test_audit_mode_warns_and_records_what_it_can(tmp_path: Path) -> None:
    settings = webhook_settings(tmp_path, mode=Mode.AUDIT)
    async with running_webhook(settings, tmp_path / "certs") as webhook:
        status, answer = await webhook.post(
            "/validate", review("Deployment", "web", "shop", ["nginx:1.27", WEB_V1])
        )
        assert status == 200
        response = answer["response"]
        assert response["allowed"] is True
        (warning,) = response["warnings"]
        assert warning.startswith("imagegate (audit): [default/digest-pinned] container 'c0'")
        assert [r.key.deployment_name for r in await records(webhook)] == ["shop/web/c1"]
        _, metrics = await webhook.get("/metrics")
        assert 'imagegate_unrecorded_images_total{reason="no digest"} 1.0' in metrics


async def test_v1beta1_is_answered_in_v1beta1(webhook: Webhook) -> None:
    document = review("Pod", "debug", "shop", [WEB_V1], api_version="admission.k8s.io/v1beta1")
    _, answer = await webhook.post("/validate", document)
    assert answer["apiVersion"] == "admission.k8s.io/v1beta1"
    assert answer["response"]["uid"] == document["request"]["uid"]


async def test_other_kinds_are_allowed_untouched(webhook: Webhook) -> None:
    document = review("ConfigMap", "settings", "shop", operation="CREATE")
    document["request"]["object"] = {"kind": "ConfigMap", "data": {"spec": "not a pod spec"}}
    status, answer = await webhook.post("/validate", document)
    assert (status, answer["response"]) == (
        200,
        {"uid": document["request"]["uid"], "allowed": True},
    )


async def test_mutate_allows_without_patch(webhook: Webhook) -> None:
    document = review("Deployment", "web", "shop", ["nginx:1.27"])
    status, answer = await webhook.post("/mutate", document)
    assert status == 200
    assert answer["response"] == {"uid": document["request"]["uid"], "allowed": True}
    assert await records(webhook) == []


@pytest.mark.parametrize(
    ("body", "content_type", "reason", "message_part"),
    [
        (b"{not json", "application/json", "not_json", "not JSON"),
        (b"[]", "application/json", "invalid_review", "not a valid AdmissionReview"),
        (
            b'{"apiVersion": "v1", "kind": "Pod"}',
            "application/json",
            "not_a_review",
            "expected kind AdmissionReview",
        ),
        (
            b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}',
            "application/json",
            "no_request",
            "has no request",
        ),
        (
            b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": '
            b'{"kind": {"kind": "Pod"}, "operation": "CREATE"}}',
            "application/json",
            "invalid_review",
            "missing required field `uid`",
        ),
        (b"{}", "text/plain", "wrong_content_type", "not 'text/plain'"),
        (b"", "application/json", "empty", "empty"),
    ],
)
async def test_malformed_requests_get_400(
    webhook: Webhook, body: bytes, content_type: str, reason: str, message_part: str
) -> None:
    async with webhook.session.post(
        webhook.url + "/validate", data=body, headers={"Content-Type": content_type}
    ) as response:
        assert response.status == 400
        error = (await response.json())["error"]
    assert error["code"] == reason
    assert message_part in error["message"]
    _, metrics = await webhook.get("/metrics")
    assert f'imagegate_admission_errors_total{{reason="{reason}"}} 1.0' in metrics


async def test_oversize_review_gets_400(tmp_path: Path) -> None:
    settings = webhook_settings(tmp_path)
    settings = replace(settings, admission=replace(settings.admission, max_body_bytes=4096))
    async with running_webhook(settings, tmp_path / "certs") as webhook:
        document = review("Deployment", "web", "shop", [WEB_V1] * 100)
        status, answer = await webhook.post("/validate", document)
        assert status == 400
        assert answer["error"] == {
            "code": "too_large",
            "message": "the AdmissionReview is larger than 4096 bytes",
        }


async def test_readiness_and_metrics(webhook: Webhook) -> None:
    status, body = await webhook.get("/readyz")
    ready = json.loads(body)
    assert (status, ready["status"], ready["recording"]["source"]) == (200, "ready", "admission")
    # No kubeconfig here: records come from admission, and /readyz says why.
    assert ready["recording"]["reason"].startswith("no cluster connection")
    await webhook.post("/validate", review("Deployment", "web", "shop", [WEB_V1]))
    await webhook.post("/validate", review("Deployment", "bad", "shop", ["nginx:latest"]))
    await records(webhook)
    _, metrics = await webhook.get("/metrics")
    expected = [
        'imagegate_admission_requests_total{decision="allow",kind="Deployment",'
        'operation="CREATE",webhook="validate"} 1.0',
        'imagegate_admission_requests_total{decision="deny",kind="Deployment",'
        'operation="CREATE",webhook="validate"} 1.0',
        'imagegate_policy_violations_total{mode="enforce",rule="digest-pinned"} 1.0',
        'imagegate_records_written_total{outcome="created"} 1.0',
        'imagegate_admission_duration_seconds_count{webhook="validate"} 2.0',
        "imagegate_spool_depth 0.0",
        'imagegate_recording_source{source="admission"} 1.0',
        'imagegate_recording_source{source="cluster"} 0.0',
    ]
    for line in expected:
        assert line in metrics


async def test_the_certificate_chain_is_verified(webhook: Webhook, tmp_path: Path) -> None:
    # A client that trusts another CA refuses the server; one that trusts ours accepts it.
    other_ca, _, _ = certificates(tmp_path / "other")
    strangers = ssl.create_default_context(cafile=other_ca)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=strangers)) as session:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await session.get(webhook.url + "/healthz")
    assert (await webhook.get("/healthz"))[0] == 200
