"""charts/imagegate installed as a platform team would, on a cluster with a real
node: the image built from the Dockerfile, the SQLite store on a PersistentVolume,
self-managed certificates, Pod Security ``restricted``; then workloads that really
run, through the API server's calls to imagegate's Service.

The scenarios run in order on one release; the last uninstalls it.
"""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from cluster.helm import Helm
from cluster.images import ClusterImages
from cluster.node import NodeCluster
from cluster.release import (
    CLUSTER_NAME,
    ENVIRONMENT_LABEL,
    RESTRICTED,
    Release,
    create_namespace,
    workload,
    write_persistent_volume,
)
from e2e.webhook import eventually
from support.reviews import review

DENIED = 'admission webhook "validate.imagegate.dev" denied the request'


@pytest.fixture(scope="module")
def release(
    node_cluster: NodeCluster,
    helm: Helm,
    images: ClusterImages,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Release]:
    installed = Release(cluster=node_cluster, helm=helm, images=images)
    create_namespace(node_cluster, installed.namespace, RESTRICTED)
    write_persistent_volume(node_cluster, installed, tmp_path_factory.mktemp("sqlite-volume"))
    try:
        installed.install(installed.base_values())
        yield installed
    finally:
        helm("uninstall", installed.name, "-n", installed.namespace, "--wait", check=False)
        node_cluster.kubectl(
            "delete", "namespace", installed.namespace, "--wait=false", check=False
        )
        node_cluster.kubectl(
            "delete", "pv", f"{installed.name}-sqlite", "--wait=false", check=False
        )


def apply(
    cluster: NodeCluster, manifest: str, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return cluster.kubectl("apply", "-f", "-", input_text=manifest, check=check)


def rollout(cluster: NodeCluster, name: str, namespace: str) -> None:
    cluster.kubectl("rollout", "status", f"deployment/{name}", "-n", namespace, "--timeout=120s")


def running_image_ids(cluster: NodeCluster, name: str, namespace: str) -> set[str]:
    """``status.containerStatuses[].imageID`` of the Deployment's running pods."""
    pods: list[dict[str, Any]] = cluster.get_json("pods", "-n", namespace, "-l", f"app={name}")[
        "items"
    ]  # type: ignore[assignment]
    return {
        status["imageID"]
        for pod in pods
        if pod["status"].get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp")
        for status in pod["status"].get("containerStatuses", [])
    }


def test_the_release_becomes_ready_in_a_restricted_namespace_and_helm_test_passes(
    release: Release, node_cluster: NodeCluster, images: ClusterImages
) -> None:
    (pod,) = release.pods()
    assert pod["spec"]["containers"][0]["image"] == (
        f"{images.imagegate.repository}:dev@{images.imagegate.digest}"
    )
    (status,) = pod["status"]["containerStatuses"]
    assert status["ready"] is True
    assert images.imagegate.digest in status["imageID"]
    namespace = node_cluster.get_json("namespace", release.namespace)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"  # type: ignore[index]

    # Self-managed certificates: the caBundle imagegate patched in is its Secret's CA.
    secret = node_cluster.get_json("secret", f"{release.name}-tls", "-n", release.namespace)
    ca = secret["data"]["ca.crt"]  # type: ignore[index]
    for kind in ("validatingwebhookconfiguration", "mutatingwebhookconfiguration"):
        configuration = node_cluster.get_json(kind, release.name)
        bundles = {hook["clientConfig"].get("caBundle") for hook in configuration["webhooks"]}  # type: ignore[attr-defined]
        assert bundles == {ca}, kind
    assert base64.b64decode(ca).startswith(b"-----BEGIN CERTIFICATE-----")

    tested = release.helm(
        "test", release.name, "-n", release.namespace, "--logs", "--timeout", "3m"
    )
    assert "Phase:          Succeeded" in tested.stdout
    assert "imagegate answers" in tested.stdout


def test_admitted_workloads_run_and_their_records_follow_them(
    release: Release, node_cluster: NodeCluster, images: ClusterImages
) -> None:
    namespace = "shop"
    create_namespace(node_cluster, namespace, {ENVIRONMENT_LABEL: "staging"})
    name = f"{namespace}/web/app"

    apply(node_cluster, workload("web", namespace, images.busybox_1.by_digest))
    rollout(node_cluster, "web", namespace)
    (image_id,) = running_image_ids(node_cluster, "web", namespace)
    assert image_id.endswith(images.busybox_1.digest)
    (record,) = release.records_when(
        name, lambda found: len(found) == 1, what=f"a record of {name}"
    )
    assert record["environment"] == CLUSTER_NAME
    assert record["logical_environment"] == "staging"
    assert record["artifact"]["digest"] == images.busybox_1.digest
    assert record["status"] == "deployed"

    node_cluster.kubectl(
        "set", "image", "deployment/web", f"app={images.busybox_2.by_digest}", "-n", namespace
    )
    rollout(node_cluster, "web", namespace)
    eventually(
        lambda: (
            (ids := running_image_ids(node_cluster, "web", namespace))
            and all(image_id.endswith(images.busybox_2.digest) for image_id in ids)
        ),
        what="the new digest running alone",
    )
    newest, oldest = release.records_when(
        name, lambda found: len(found) >= 2, what=f"{name} superseded"
    )[:2]
    assert (newest["artifact"]["digest"], newest["status"]) == (images.busybox_2.digest, "deployed")
    assert (oldest["artifact"]["digest"], oldest["status"]) == (
        images.busybox_1.digest,
        "superseded",
    )

    node_cluster.kubectl("delete", "deployment", "web", "-n", namespace)
    history = release.records_when(
        name, lambda found: found[0]["status"] == "decommissioned", what=f"{name} decommissioned"
    )
    assert [record["status"] for record in history] == ["decommissioned", "superseded"]


def test_a_tag_only_image_is_refused_with_imagegates_reason(
    release: Release, node_cluster: NodeCluster, images: ClusterImages
) -> None:
    namespace = "tags"
    create_namespace(node_cluster, namespace, {})
    refused = apply(
        node_cluster, workload("tagged", namespace, images.busybox_1.by_tag), check=False
    )
    assert refused.returncode != 0
    assert DENIED in refused.stderr
    assert f"imagegate denied Deployment {namespace}/tagged" in refused.stderr
    assert f"image '{images.busybox_1.by_tag}'" in refused.stderr
    assert (
        node_cluster.kubectl("get", "deployment", "tagged", "-n", namespace, check=False).returncode
        != 0
    )


def test_its_logs_are_json_lines_only(release: Release) -> None:
    lines = [line for line in release.logs().splitlines() if line.strip()]
    assert lines, "imagegate logged nothing"
    not_json = []
    for line in lines:
        try:
            parsed = json.loads(line)
        except json.JSONDecodeError:
            not_json.append(line)
            continue
        if not isinstance(parsed, dict):
            not_json.append(line)
    assert not_json == []


def test_a_killed_pod_refuses_changes_until_replaced_then_admits_again(
    release: Release, node_cluster: NodeCluster, images: ClusterImages
) -> None:
    namespace = "outage"
    create_namespace(node_cluster, namespace, {})
    (pod,) = release.pods()
    # Gone at once, as on a crashed node: the pod object force-deleted (the
    # Deployment controller makes a replacement) and its process killed (no
    # preStop grace, nothing answers until the replacement is ready).
    node_cluster.kubectl(
        "delete",
        "pod",
        pod["metadata"]["name"],
        "-n",
        release.namespace,
        "--grace-period=0",
        "--force",
        "--wait=false",
    )
    node_cluster.kill_container(pod["status"]["containerStatuses"][0]["containerID"])
    outcomes: list[str] = []
    attempt = iter(range(1_000))

    def admitted() -> bool:
        name = f"probe-{next(attempt)}"
        result = apply(
            node_cluster, workload(name, namespace, images.busybox_1.by_digest), check=False
        )
        if result.returncode == 0:
            outcomes.append("admitted")
            return True
        assert 'failed calling webhook "validate.imagegate.dev"' in result.stderr, result.stderr
        outcomes.append("refused")
        return False

    eventually(admitted, what="admission after the replacement pod is ready", timeout_s=180)
    assert outcomes[0] == "refused", outcomes
    (replacement,) = release.pods()
    assert replacement["metadata"]["name"] != pod["metadata"]["name"]
    # Nothing refused was stored: only the last probe exists.
    listed = node_cluster.get_json("deployments", "-n", namespace)["items"]
    assert [item["metadata"]["name"] for item in listed] == [f"probe-{len(outcomes) - 1}"]  # type: ignore[attr-defined]


def test_a_policy_change_by_helm_upgrade_takes_effect_without_a_restart(
    release: Release, node_cluster: NodeCluster, images: ClusterImages
) -> None:
    namespace = "policed"
    create_namespace(node_cluster, namespace, {ENVIRONMENT_LABEL: "production"})
    (before,) = release.pods()
    policy = {
        "apiVersion": "imagegate.dev/v1alpha1",
        "kind": "DeploymentPolicy",
        "metadata": {"name": "elsewhere-only"},
        "spec": {
            "mode": "enforce",
            "match": {"logicalEnvironments": ["production"]},
            "rules": [{"rule": "allowed-registries", "patterns": ["registry.example.com/**"]}],
        },
    }
    release.upgrade({**release.base_values(), "policies": {"inline": [policy]}})

    def refused() -> str | None:
        result = apply(
            node_cluster, workload("web", namespace, images.busybox_1.by_digest), check=False
        )
        if result.returncode == 0:
            node_cluster.kubectl("delete", "deployment", "web", "-n", namespace)
            return None
        return result.stderr

    message = eventually(refused, what="the new policy enforced", timeout_s=180)
    assert DENIED in message
    assert "elsewhere-only" in message
    (after,) = release.pods()
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["status"]["containerStatuses"][0]["restartCount"] == 0


def test_with_client_auth_only_the_api_server_may_call_the_webhook(
    release: Release, node_cluster: NodeCluster, images: ClusterImages
) -> None:
    callers = node_cluster.webhook_callers
    assert callers is not None
    client_auth = {
        "enabled": True,
        "caCertificate": callers.ca_cert.read_text(),
        "commonNames": ["e2e-admin"],
    }
    release.upgrade({**release.base_values(), "webhook": {"clientAuth": client_auth}})
    tested = release.helm("test", release.name, "-n", release.namespace, "--logs")
    assert "POST /validate without a client certificate: 403" in tested.stdout

    # kube-apiserver presents its certificate (AdmissionConfiguration): admitted.
    namespace = "guarded"
    create_namespace(node_cluster, namespace, {})
    apply(node_cluster, workload("web", namespace, images.busybox_1.by_digest))
    release.records_when(f"{namespace}/web/app", bool, what="the admission recorded")

    # The same from anyone else who reaches the Service: refused, nothing recorded.
    forged = review("Deployment", "forged", namespace, [images.busybox_2.by_digest])
    service = node_cluster.get_json("service", release.name, "-n", release.namespace)
    address = service["spec"]["clusterIP"]  # type: ignore[index]
    status = node_cluster.netns.call(lambda: post_without_certificate(address, forged))
    assert status == 403
    apply(node_cluster, workload("later", namespace, images.busybox_1.by_digest))
    release.records_when(f"{namespace}/later/app", bool, what="a later admission recorded")
    assert release.records(f"{namespace}/forged/app") == []


def test_a_tag_only_image_admitted_in_audit_mode_is_recorded_with_the_digest_its_node_pulled(
    release: Release, node_cluster: NodeCluster, images: ClusterImages
) -> None:
    release.upgrade({**release.base_values(), "requireDigest": "audit"})
    namespace = "audited"
    create_namespace(node_cluster, namespace, {})
    manifest = workload("tagged", namespace, images.busybox_1.by_tag)
    eventually(
        lambda: apply(node_cluster, manifest, check=False).returncode == 0,
        what="the tag-only image admitted in audit mode",
        timeout_s=180,
    )
    rollout(node_cluster, "tagged", namespace)
    (image_id,) = running_image_ids(node_cluster, "tagged", namespace)
    assert image_id.endswith(images.busybox_1.digest)
    (record,) = release.records_when(
        f"{namespace}/tagged/app", bool, what="the tag-only image recorded from its pod"
    )
    assert record["artifact"]["digest"] == images.busybox_1.digest
    assert record["origin"] == "cluster"
    node = node_cluster.get_json("nodes")["items"][0]  # type: ignore[index]
    assert record["platform"]["architecture"] == node["metadata"]["labels"]["kubernetes.io/arch"]


def post_without_certificate(address: str, document: dict[str, Any]) -> int:
    """POST ``document`` to /validate at ``address`` as a client with no certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # who the server is does not matter here
    request = urllib.request.Request(
        f"https://{address}:443/validate",
        data=json.dumps(document).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return refused.code


def test_helm_uninstall_leaves_nothing_refusing_workloads(
    release: Release, node_cluster: NodeCluster, images: ClusterImages
) -> None:
    release.uninstall()
    for kind in ("validatingwebhookconfigurations", "mutatingwebhookconfigurations"):
        names = node_cluster.kubectl("get", kind, "-o", "name").stdout.split()
        assert not [n for n in names if n.endswith(f"/{release.name}")], names
    namespace = "after-uninstall"
    create_namespace(node_cluster, namespace, {})
    apply(node_cluster, workload("tagged", namespace, images.busybox_1.by_tag))
    rollout(node_cluster, "tagged", namespace)
