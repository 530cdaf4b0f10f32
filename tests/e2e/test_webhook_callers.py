"""Only kube-apiserver calls the webhook: a control plane of its own, started with an
AdmissionConfiguration whose kubeconfig gives the API server a client certificate for
imagegate's host:port, and imagegate serving with ``--webhook-client-ca``. The API
server's calls are answered; the same review from a client without the certificate
is refused and records nothing."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from testbed.controlplane import ControlPlane, admission_configuration
from testbed.pki import ClusterPki, make_cluster_pki

from e2e.conftest import e2e_bin
from e2e.manifests import deployment
from e2e.webhook import (
    POLICIES,
    WebhookProcess,
    eventually,
    validating_webhook_configuration,
    wait_until_webhook_is_called,
)
from imagegate.tracking import utc_now
from support.reviews import review

IMAGE = "registry.example.com/shop/web:1.0@sha256:" + "c4" * 32
CALLER_NAME = "e2e-admin"  # the common name of make_cluster_pki's client certificate


@dataclass
class Guarded:
    plane: ControlPlane
    webhook: WebhookProcess
    callers: ClusterPki


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guarded]:
    bin_dir = e2e_bin()
    work = tmp_path_factory.mktemp("guarded")
    (work / "callers").mkdir()
    callers = make_cluster_pki(work / "callers", now=utc_now())
    policies = work / "policies.yaml"
    policies.write_text(POLICIES)
    (work / "imagegate").mkdir()
    webhook = WebhookProcess(
        work_dir=work / "imagegate",
        kubeconfig=work / "kubeconfig",  # written by the control plane below
        policies=policies,
        extra_args=(
            "--webhook-client-ca",
            str(callers.ca_cert),
            "--webhook-client-name",
            CALLER_NAME,
        ),
    )
    configuration = admission_configuration(work, f"{webhook.host}:{webhook.port}", callers)
    plane = ControlPlane(
        bin_dir=bin_dir,
        work_dir=work,
        pki=make_cluster_pki(work, now=utc_now()),
        extra_flags=(f"--admission-control-config-file={configuration}",),
    )
    try:
        plane.start()
        webhook.start()
        plane.kubectl("apply", "-f", "-", input_text=validating_webhook_configuration(webhook))
        wait_until_webhook_is_called(plane)
        yield Guarded(plane=plane, webhook=webhook, callers=callers)
    finally:
        webhook.stop()
        plane.stop()


def test_the_api_servers_calls_are_answered_and_recorded(guarded: Guarded) -> None:
    plane = guarded.plane
    plane.kubectl("create", "namespace", "guarded")
    plane.kubectl("apply", "-f", "-", input_text=deployment("web", "guarded", IMAGE))
    eventually(
        lambda: guarded.webhook.records(deployment_name="guarded/web/app"),
        what="the Deployment recorded",
    )


def test_the_same_review_from_a_client_without_the_certificate_records_nothing(
    guarded: Guarded,
) -> None:
    forged = review("Deployment", "forged", "guarded", [IMAGE])
    request = urllib.request.Request(
        f"{guarded.webhook.url}/validate",
        data=json.dumps(forged).encode(),
        headers={"Content-Type": "application/json"},
    )
    context = ssl.create_default_context(cafile=guarded.webhook.paths.ca_cert)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10, context=context)
    assert refused.value.code == 403
    assert json.load(refused.value)["error"]["code"] == "unauthorized_caller"

    # Admissions are recorded in order: once a later real one is, the forged one
    # would have been too.
    guarded.plane.kubectl("apply", "-f", "-", input_text=deployment("later", "guarded", IMAGE))
    eventually(
        lambda: guarded.webhook.records(deployment_name="guarded/later/app"),
        what="a later admission recorded",
    )
    assert guarded.webhook.records(deployment_name="guarded/forged/app") == []
