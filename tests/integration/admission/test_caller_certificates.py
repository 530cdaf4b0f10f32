"""Only kube-apiserver calls the webhook: with ``--webhook-client-ca``, /validate and
/mutate answer only clients presenting a certificate that CA signed (and with an
allowed common name), over real TLS; the HTTP API on the same port needs none."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from testbed.pki import ClusterPki, make_cluster_pki

from imagegate.admission import WebhookCallers
from imagegate.api import TRACKER
from imagegate.server import RECORDER
from imagegate.tracking import DeploymentQuery, utc_now
from support.reviews import review
from support.webhook import Webhook, running_webhook, webhook_settings

WEB = "ghcr.io/acme/web:1.0@sha256:" + "1" * 64
APISERVER = "e2e-admin"  # the common name make_cluster_pki gives its client certificate


@pytest.fixture
def callers_pki(tmp_path: Path) -> ClusterPki:
    """A CA for webhook callers, its client certificate for kube-apiserver, and one
    for another name (the node's) from the same CA."""
    directory = tmp_path / "callers"
    directory.mkdir()
    return make_cluster_pki(directory, now=utc_now(), node_name="intruder")


@pytest.fixture
async def guarded(tmp_path: Path, callers_pki: ClusterPki) -> AsyncIterator[Webhook]:
    settings = webhook_settings(tmp_path)
    callers = WebhookCallers(ca_file=callers_pki.ca_cert, common_names=frozenset({APISERVER}))
    settings = replace(settings, admission=replace(settings.admission, callers=callers))
    async with running_webhook(settings, tmp_path / "certs") as running:
        yield running


def client_context(webhook: Webhook, cert: Path | None, key: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=webhook.ca_file)
    if cert is not None and key is not None:
        context.load_cert_chain(cert, key)
    return context


async def post_review(
    webhook: Webhook, context: ssl.SSLContext, path: str = "/validate"
) -> tuple[int, dict[str, object]]:
    connector = aiohttp.TCPConnector(ssl=context)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.post(webhook.url + path, json=review("Deployment", "web", "shop", [WEB])) as answer,
    ):
        return answer.status, await answer.json()


async def recorded(webhook: Webhook) -> int:
    await webhook.app[RECORDER].drain()
    page = await webhook.app[TRACKER].list_deployments(DeploymentQuery(history=True, limit=100))
    return len(page.records)


async def test_kube_apiservers_certificate_is_answered_and_its_admission_recorded(
    guarded: Webhook, callers_pki: ClusterPki
) -> None:
    context = client_context(guarded, callers_pki.admin_cert, callers_pki.admin_key)
    status, answer = await post_review(guarded, context)
    assert status == 200
    assert answer["response"]["allowed"] is True  # type: ignore[index]
    assert await recorded(guarded) == 1


@pytest.mark.parametrize("path", ["/validate", "/mutate"])
async def test_a_review_without_a_client_certificate_is_refused_and_records_nothing(
    guarded: Webhook, path: str
) -> None:
    status, answer = await post_review(guarded, client_context(guarded, None, None), path)
    assert status == 403
    assert answer == {
        "error": {
            "code": "unauthorized_caller",
            "message": "a client certificate is required to call the webhook "
            "(kube-apiserver presents one)",
        }
    }
    assert await recorded(guarded) == 0
    _, metrics = await guarded.get("/metrics")
    assert 'imagegate_admission_errors_total{reason="unauthorized_caller"} 1.0' in metrics


async def test_another_name_from_the_same_ca_is_refused(
    guarded: Webhook, callers_pki: ClusterPki
) -> None:
    context = client_context(guarded, callers_pki.node_cert, callers_pki.node_key)
    status, answer = await post_review(guarded, context)
    assert status == 403
    assert answer["error"]["message"] == (  # type: ignore[index]
        "the client certificate's common name (system:node:intruder) is not one allowed "
        "to call the webhook"
    )
    assert await recorded(guarded) == 0


async def test_a_certificate_from_another_ca_fails_the_handshake(
    guarded: Webhook, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    forged = make_cluster_pki(other, now=utc_now())
    context = client_context(guarded, forged.admin_cert, forged.admin_key)
    with pytest.raises(aiohttp.ClientError):
        await post_review(guarded, context)
    assert await recorded(guarded) == 0


async def test_the_http_api_on_the_same_port_needs_no_client_certificate(
    guarded: Webhook,
) -> None:
    status, _ = await guarded.get("/healthz")
    assert status == 200
    async with guarded.session.get(guarded.url + "/api/v1/environments") as answer:
        assert answer.status == 401  # its own bearer keys, not a TLS refusal
