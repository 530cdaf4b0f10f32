"""Records follow what the API server persisted, not what imagegate admitted.

imagegate runs here with a kubeconfig, so its records come from its watch of the
cluster: a request that imagegate allows but the API server does not store (an
AlreadyExists, another webhook's denial, a quota) leaves history as it was, a
forged review writes nothing, and what happens while imagegate is not called is
caught up when it starts.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from testbed.controlplane import Cluster

from e2e.denying_webhook import DENIAL, DenyingWebhook
from e2e.manifests import deployment, pod
from e2e.scenarios import WEB_V1, WEB_V2, apply, fresh_name, namespace, records_of
from e2e.webhook import (
    WebhookProcess,
    eventually,
    register,
    wait_until_webhook_is_called,
)
from support.reviews import review

WEB_V3 = "registry.example.com/shop/web:3.0@sha256:" + "c3" * 32


def settle(cluster: Cluster, webhook: WebhookProcess, ns: str) -> None:
    """Wait until a change made now is recorded: the watch applies events in order, so
    any earlier one that made a record would have made it by then."""
    marker = fresh_name("marker")
    apply(cluster, pod(marker, ns, WEB_V1))
    records_of(webhook, f"{ns}/{marker}/app", 1)


def history(webhook: WebhookProcess, name: str) -> list[tuple[str, str]]:
    return [(r["artifact"]["digest"], r["status"]) for r in webhook.records(deployment_name=name)]


def test_records_come_from_the_cluster(cluster: Cluster, webhook: WebhookProcess) -> None:
    ns = namespace(cluster, "staging")
    apply(cluster, deployment("web", ns, WEB_V1))
    (record,) = records_of(webhook, f"{ns}/web/app", 1)
    assert (record["origin"], record["ended_by"]) == ("cluster", None)
    ready = json.load(
        urllib.request.urlopen(f"{webhook.url}/readyz", context=webhook.ssl_context())
    )
    assert ready["recording"]["source"] == "cluster"
    assert ready["recording"]["synced"] is True

    # What an operator asks: the records the watch keeps, and what pods run them (none
    # here: no node runs pods on this control plane).
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "imagegate",
            "--server",
            webhook.url,
            "--ca-file",
            str(webhook.paths.ca_cert),
            "cluster",
            "status",
            "--records",
            "-o",
            "json",
        ],
        env={**os.environ, "IMAGEGATE_TOKEN": webhook.token},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    cluster_state = json.loads(shown.stdout)
    assert (cluster_state["source"], cluster_state["synced"]) == ("cluster", True)
    (kept,) = [r for r in cluster_state["records"] if r["deployment_name"] == f"{ns}/web/app"]
    assert (kept["kind"], kept["digest"], kept["pods_running_digest"]) == (
        "Deployment",
        WEB_V1.split("@")[1],
        0,
    )


def test_a_create_that_fails_with_already_exists_leaves_history_unchanged(
    cluster: Cluster, webhook: WebhookProcess
) -> None:
    ns = namespace(cluster, "production")
    apply(cluster, deployment("web", ns, WEB_V1))
    records_of(webhook, f"{ns}/web/app", 1)
    result = cluster.kubectl(
        "create", "-f", "-", input_text=deployment("web", ns, WEB_V2), check=False
    )
    assert result.returncode != 0
    assert "AlreadyExists" in result.stderr or "already exists" in result.stderr
    settle(cluster, webhook, ns)
    assert history(webhook, f"{ns}/web/app") == [(WEB_V1.split("@")[1], "deployed")]


@pytest.fixture
def denier(cluster: Cluster, tmp_path: Path) -> Iterator[tuple[str, DenyingWebhook]]:
    ns = namespace(cluster, "production")
    server = DenyingWebhook(work_dir=tmp_path)
    cluster.kubectl("apply", "-f", "-", input_text=server.configuration(ns))
    try:
        yield ns, server
    finally:
        cluster.kubectl("delete", "validatingwebhookconfiguration", "e2e-denier", check=False)
        server.stop()


def test_a_request_another_webhook_denies_after_imagegate_allows_leaves_no_record(
    cluster: Cluster, webhook: WebhookProcess, denier: tuple[str, DenyingWebhook]
) -> None:
    ns, _ = denier

    def denied_by_the_other() -> bool:
        result = apply(cluster, deployment("web", ns, WEB_V1), check=False)
        return result.returncode != 0 and DENIAL in result.stderr

    eventually(denied_by_the_other, what="the second webhook denying")
    settle(cluster, webhook, ns)
    assert webhook.records(deployment_name=f"{ns}/web/app") == []


def test_a_request_a_resource_quota_refuses_leaves_no_record(
    cluster: Cluster, webhook: WebhookProcess
) -> None:
    ns = namespace(cluster, "production")
    quota = (
        "apiVersion: v1\nkind: ResourceQuota\n"
        f"metadata: {{name: no-deployments, namespace: {ns}}}\n"
        "spec: {hard: {count/deployments.apps: '0'}}\n"
    )
    apply(cluster, quota)
    # No controller-manager runs here to compute the quota's usage: state it as it would.
    cluster.kubectl(
        "patch",
        "resourcequota",
        "no-deployments",
        "-n",
        ns,
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status": {"hard": {"count/deployments.apps": "0"}, '
        '"used": {"count/deployments.apps": "0"}}}',
    )
    result = apply(cluster, deployment("web", ns, WEB_V1), check=False)
    assert result.returncode != 0
    assert "quota" in result.stderr
    assert cluster.kubectl("get", "deployment", "web", "-n", ns, check=False).returncode != 0
    settle(cluster, webhook, ns)
    assert webhook.records(deployment_name=f"{ns}/web/app") == []


def forge(webhook: WebhookProcess, document: dict[str, Any]) -> dict[str, Any]:
    """POST a hand-made review to /validate, as anyone who reaches the port could."""
    request = urllib.request.Request(
        f"{webhook.url}/validate",
        data=json.dumps(document).encode(),
        headers={"Content-Type": "application/json"},
    )
    context = ssl.create_default_context(cafile=webhook.paths.ca_cert)
    with urllib.request.urlopen(request, timeout=10, context=context) as answer:
        return json.load(answer)  # type: ignore[no-any-return]


def test_forged_reviews_record_nothing(cluster: Cluster, webhook: WebhookProcess) -> None:
    ns = namespace(cluster, "production")
    apply(cluster, deployment("web", ns, WEB_V1))
    records_of(webhook, f"{ns}/web/app", 1)
    # Reviews for an object the cluster does not have, and to delete or replace one it has.
    created = forge(webhook, review("Deployment", "ghost", ns, [WEB_V1]))
    assert created["response"]["allowed"] is True
    forge(webhook, review("Deployment", "web", ns, operation="DELETE", old_images=[WEB_V1]))
    forge(webhook, review("Deployment", "web", ns, [WEB_V2], operation="UPDATE"))
    settle(cluster, webhook, ns)
    assert webhook.records(deployment_name=f"{ns}/ghost/c0") == []
    assert history(webhook, f"{ns}/web/app") == [(WEB_V1.split("@")[1], "deployed")]
    assert webhook.records(deployment_name=f"{ns}/web/c0") == []


def test_changes_while_imagegate_is_not_called_are_caught_up_on_start(
    cluster: Cluster, webhook: WebhookProcess
) -> None:
    ns = namespace(cluster, "production")
    for name in ("kept", "changed", "removed"):
        apply(cluster, deployment(name, ns, WEB_V1))
        records_of(webhook, f"{ns}/{name}/app", 1)
    register(cluster, webhook, failure_policy="Ignore")
    webhook.stop()
    try:
        apply(cluster, deployment("added", ns, WEB_V1))
        cluster.kubectl("set", "image", "deployment/changed", f"app={WEB_V3}", "-n", ns)
        cluster.kubectl("delete", "deployment", "removed", "-n", ns)
    finally:
        webhook.start()
        register(cluster, webhook, failure_policy="Fail")
    d1, d3 = WEB_V1.split("@")[1], WEB_V3.split("@")[1]
    expected = {
        "kept": [(d1, "deployed")],
        "added": [(d1, "deployed")],
        "changed": [(d3, "deployed"), (d1, "superseded")],
        "removed": [(d1, "decommissioned")],
    }
    eventually(
        lambda: all(history(webhook, f"{ns}/{n}/app") == h for n, h in expected.items()),
        timeout_s=30,
        what="records matching the cluster after the restart",
    )
    (changed, _) = webhook.records(deployment_name=f"{ns}/changed/app")
    assert changed["origin"] == "cluster"
    wait_until_webhook_is_called(cluster)
