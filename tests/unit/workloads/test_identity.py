"""Which long-lived workload an object belongs to, from its ownerReferences."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imagegate.tracking import Platform
from imagegate.workloads import WorkloadIdentity, extract_workload
from unit.admission.reviews import load, object_bytes


def identity(
    kind: str, metadata: dict[str, Any], *, request_name: str = "", namespace: str = "shop"
) -> WorkloadIdentity:
    group = {"Pod": "", "ReplicaSet": "apps", "Job": "batch", "Deployment": "apps"}.get(kind, "")
    obj = {"metadata": metadata, "spec": {}}
    return extract_workload(
        group=group,
        kind=kind,
        raw=json.dumps(obj).encode(),
        request_name=request_name,
        namespace=namespace,
        default_platform=Platform(),
    ).identity


def owner(kind: str, name: str, *, controller: bool | None = True) -> dict[str, Any]:
    reference: dict[str, Any] = {
        "apiVersion": "batch/v1" if kind in ("Job", "CronJob") else "apps/v1",
        "kind": kind,
        "name": name,
        "uid": "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
        "blockOwnerDeletion": True,
    }
    if controller is not None:
        reference["controller"] = controller
    return reference


def wi(kind: str, name: str, *, owned: bool, namespace: str = "shop") -> WorkloadIdentity:
    return WorkloadIdentity(kind=kind, name=name, namespace=namespace, owned=owned)


HASH = {"pod-template-hash": "7d4b9c8f5"}

CASES = [
    pytest.param(
        "Pod", {"name": "toolbox"}, "", wi("Pod", "toolbox", owned=False), id="standalone"
    ),
    pytest.param(
        "Pod", {"generateName": "toolbox-"}, "", wi("Pod", "toolbox-", owned=False), id="gen-name"
    ),
    pytest.param(
        "Pod",
        {"generateName": "toolbox-"},
        "toolbox-x",
        wi("Pod", "toolbox-x", owned=False),
        id="req",
    ),
    pytest.param(
        "Pod",
        {
            "generateName": "checkout-7d4b9c8f5-",
            "labels": HASH,
            "ownerReferences": [owner("ReplicaSet", "checkout-7d4b9c8f5")],
        },
        "",
        wi("Deployment", "checkout", owned=True),
        id="pod-of-deployment-replicaset",
    ),
    pytest.param(
        "Pod",
        {"name": "x", "labels": HASH, "ownerReferences": [owner("ReplicaSet", "checkout-v2")]},
        "",
        wi("ReplicaSet", "checkout-v2", owned=True),
        id="rs-name-not-ending-with-hash",
    ),
    pytest.param(
        "Pod",
        {
            "name": "x",
            "labels": HASH,
            "ownerReferences": [owner("ReplicaSet", "checkout7d4b9c8f5")],
        },
        "",
        wi("ReplicaSet", "checkout7d4b9c8f5", owned=True),
        id="rs-name-ends-with-hash-without-dash",
    ),
    pytest.param(
        "Pod",
        {"name": "x", "ownerReferences": [owner("ReplicaSet", "checkout-7d4b9c8f5")]},
        "",
        wi("ReplicaSet", "checkout-7d4b9c8f5", owned=True),
        id="rs-without-hash-label",
    ),
    pytest.param(
        "Pod",
        {
            "name": "x",
            "labels": {"pod-template-hash": ""},
            "ownerReferences": [owner("ReplicaSet", "checkout-")],
        },
        "",
        wi("ReplicaSet", "checkout-", owned=True),
        id="rs-with-empty-hash-label",
    ),
    pytest.param(
        "Pod",
        {"name": "ledger-db-0", "ownerReferences": [owner("StatefulSet", "ledger-db")]},
        "",
        wi("StatefulSet", "ledger-db", owned=True),
        id="pod-of-statefulset",
    ),
    pytest.param(
        "Pod",
        {"name": "node-exporter-abcde", "ownerReferences": [owner("DaemonSet", "node-exporter")]},
        "",
        wi("DaemonSet", "node-exporter", owned=True),
        id="pod-of-daemonset",
    ),
    pytest.param(
        "Pod",
        {"generateName": "report-28512000-", "ownerReferences": [owner("Job", "report-28512000")]},
        "",
        wi("Job", "report-28512000", owned=True),
        id="pod-of-job",
    ),
    pytest.param(
        "Job",
        {"name": "report-28512000", "ownerReferences": [owner("CronJob", "report")]},
        "",
        wi("CronJob", "report", owned=True),
        id="job-of-cronjob",
    ),
    pytest.param(
        "ReplicaSet",
        {
            "name": "checkout-7d4b9c8f5",
            "labels": HASH,
            "ownerReferences": [owner("Deployment", "checkout")],
        },
        "",
        wi("Deployment", "checkout", owned=True),
        id="replicaset-of-deployment",
    ),
    pytest.param(
        "ReplicaSet",
        {
            "name": "checkout-7d4b9c8f5",
            "labels": HASH,
            "ownerReferences": [owner("ReplicaSet", "checkout-7d4b9c8f5")],
        },
        "",
        wi("ReplicaSet", "checkout-7d4b9c8f5", owned=True),
        id="hash-rule-applies-to-pods-only",
    ),
    pytest.param(
        "Deployment",
        {"name": "checkout", "ownerReferences": [owner("Application", "shop", controller=False)]},
        "",
        wi("Deployment", "checkout", owned=False),
        id="non-controller-owner-ignored",
    ),
    pytest.param(
        "Deployment",
        {"name": "checkout", "ownerReferences": [owner("Application", "shop", controller=None)]},
        "",
        wi("Deployment", "checkout", owned=False),
        id="owner-without-controller-field",
    ),
    pytest.param(
        "Pod",
        {
            "name": "x",
            "ownerReferences": [
                owner("ConfigMap", "keep-alive", controller=False),
                owner("StatefulSet", "ledger-db"),
                owner("DaemonSet", "other"),
            ],
        },
        "",
        wi("StatefulSet", "ledger-db", owned=True),
        id="first-controller-among-several-owners",
    ),
    pytest.param(
        "Deployment",
        {"name": "storefront", "ownerReferences": [owner("Rollout", "storefront")]},
        "",
        wi("Rollout", "storefront", owned=True),
        id="generic-controller",
    ),
]


@pytest.mark.parametrize(("kind", "metadata", "request_name", "expected"), CASES)
def test_identity(
    kind: str, metadata: dict[str, Any], request_name: str, expected: WorkloadIdentity
) -> None:
    assert identity(kind, metadata, request_name=request_name) == expected


def test_the_identity_namespace_is_the_request_namespace() -> None:
    metadata = {"name": "x", "namespace": "meta", "ownerReferences": [owner("StatefulSet", "db")]}

    assert identity("Pod", metadata, namespace="payments").namespace == "payments"
    assert identity("Pod", metadata, namespace="").namespace == "meta"


FIXTURES = [
    pytest.param("pod", wi("Pod", "toolbox", owned=False, namespace="payments"), id="pod"),
    pytest.param("pod-of-replicaset", wi("Deployment", "checkout", owned=True), id="pod-rs"),
    pytest.param(
        "pod-of-statefulset",
        wi("StatefulSet", "ledger-db", owned=True, namespace="payments"),
        id="pod-sts",
    ),
    pytest.param(
        "pod-of-job", wi("Job", "report-28512000", owned=True, namespace="finance"), id="pod-job"
    ),
    pytest.param("deployment", wi("Deployment", "checkout", owned=False), id="deployment"),
    pytest.param("replicaset-of-deployment", wi("Deployment", "checkout", owned=True), id="rs"),
    pytest.param(
        "job-of-cronjob", wi("CronJob", "report", owned=True, namespace="finance"), id="job-cj"
    ),
    pytest.param("job", wi("Job", "db-migrate-v42", owned=False, namespace="payments"), id="job"),
    pytest.param(
        "cronjob", wi("CronJob", "report", owned=False, namespace="finance"), id="cronjob"
    ),
    pytest.param(
        "podtemplate",
        wi("PodTemplate", "worker-template", owned=False, namespace="batch"),
        id="podtemplate",
    ),
]


@pytest.mark.parametrize(("fixture", "expected"), FIXTURES)
def test_identity_of_fixtures(fixture: str, expected: WorkloadIdentity) -> None:
    request = load(fixture)["request"]
    workload = extract_workload(
        group=request["kind"]["group"],
        kind=request["kind"]["kind"],
        raw=object_bytes(fixture),
        request_name=request["name"],
        namespace=request["namespace"],
        default_platform=Platform(),
    )

    assert workload.identity == expected
