"""Admission through a real kube-apiserver, driven with kubectl as a user would."""

from __future__ import annotations

import pytest
from testbed.controlplane import Cluster

from e2e.manifests import deployment, pod
from e2e.scenarios import D1, D2, WEB_V1, WEB_V2, apply, fresh_name, namespace, records_of
from e2e.webhook import CLUSTER_NAME, ENVIRONMENT_LABEL, WebhookProcess, eventually


def test_a_permitted_deployment_is_recorded(cluster: Cluster, webhook: WebhookProcess) -> None:
    ns = namespace(cluster, "staging")
    apply(cluster, deployment("web", ns, WEB_V1))
    (record,) = records_of(webhook, f"{ns}/web/app", 1)
    assert record["environment"] == CLUSTER_NAME
    assert record["logical_environment"] == "staging"
    assert record["kind"] == "CONTAINER_IMAGE"
    assert record["artifact"]["reference"] == WEB_V1
    assert record["platform"] == {"os": "linux", "architecture": "amd64", "variant": None}
    assert record["status"] == "deployed"


def test_a_policy_violation_is_refused_with_imagegate_reason(
    cluster: Cluster, webhook: WebhookProcess
) -> None:
    ns = namespace(cluster, "production")
    result = apply(cluster, deployment("bad", ns, "nginx:1.27"), check=False)
    assert result.returncode != 0
    assert 'admission webhook "validate.imagegate.dev" denied the request' in result.stderr
    assert f"imagegate denied Deployment {ns}/bad" in result.stderr
    assert "[default/digest-pinned] container 'app' image 'nginx:1.27'" in result.stderr
    missing = cluster.kubectl("get", "deployment", "bad", "-n", ns, check=False)
    assert missing.returncode != 0


def test_a_server_side_dry_run_records_nothing(cluster: Cluster, webhook: WebhookProcess) -> None:
    ns = namespace(cluster, "staging")
    apply(cluster, deployment("dry", ns, WEB_V1), "--dry-run=server")
    # Records are written in admission order: once a later admission is recorded,
    # the dry run would have been too.
    apply(cluster, deployment("wet", ns, WEB_V1))
    records_of(webhook, f"{ns}/wet/app", 1)
    assert webhook.records(deployment_name=f"{ns}/dry/app") == []


def test_an_update_supersedes_and_a_delete_decommissions(
    cluster: Cluster, webhook: WebhookProcess
) -> None:
    ns = namespace(cluster, "production")
    name = f"{ns}/web/app"
    apply(cluster, deployment("web", ns, WEB_V1))
    records_of(webhook, name, 1)
    cluster.kubectl("set", "image", "deployment/web", f"app={WEB_V2}", "-n", ns)
    newest, oldest = records_of(webhook, name, 2)
    assert (newest["artifact"]["digest"], newest["status"]) == (D2, "deployed")
    assert (oldest["artifact"]["digest"], oldest["status"]) == (D1, "superseded")
    assert oldest["superseded_by"] == newest["id"]

    cluster.kubectl("delete", "deployment", "web", "-n", ns, "--wait=false")
    decommissioned = eventually(
        lambda: (
            (found := webhook.records(deployment_name=name))[0]["status"] == "decommissioned"
            and found
        ),
        what=f"{name} decommissioned",
    )
    assert [r["status"] for r in decommissioned] == ["decommissioned", "superseded"]


def test_an_unlabelled_namespace_gets_the_default_environment(
    cluster: Cluster, webhook: WebhookProcess
) -> None:
    ns = namespace(cluster)
    apply(cluster, pod("debug", ns, WEB_V1))
    (record,) = records_of(webhook, f"{ns}/debug/app", 1)
    assert record["logical_environment"] == "production"


def test_kube_system_is_never_sent_to_the_webhook(
    cluster: Cluster, webhook: WebhookProcess
) -> None:
    # Denied anywhere imagegate is asked; admitted here because it is not asked.
    apply(cluster, pod("tagged", "kube-system", "nginx:1.27"))
    cluster.kubectl("delete", "pod", "tagged", "-n", "kube-system", "--wait=false")
    assert webhook.records(deployment_name="kube-system/tagged/app") == []


@pytest.mark.parametrize("image", [WEB_V1])
def test_a_labelled_namespace_created_just_before_is_seen(
    cluster: Cluster, webhook: WebhookProcess, image: str
) -> None:
    # Created and used at once: imagegate's namespace watch may lag, its direct
    # lookup on a cache miss must not.
    name = fresh_name("e2e-fresh")
    cluster.kubectl(
        "apply",
        "-f",
        "-",
        input_text=f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n"
        f"  labels: {{{ENVIRONMENT_LABEL}: qa}}\n",
    )
    apply(cluster, pod("first", name, image))
    (record,) = records_of(webhook, f"{name}/first/app", 1)
    assert record["logical_environment"] == "qa"
