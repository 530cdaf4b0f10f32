"""AdmissionReviews as kube-apiserver sends them, built for tests."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

_uids = itertools.count(1)

_GROUPS = {
    "Pod": ("", "v1", "pods"),
    "Deployment": ("apps", "v1", "deployments"),
    "StatefulSet": ("apps", "v1", "statefulsets"),
    "DaemonSet": ("apps", "v1", "daemonsets"),
    "ReplicaSet": ("apps", "v1", "replicasets"),
    "Job": ("batch", "v1", "jobs"),
    "CronJob": ("batch", "v1", "cronjobs"),
    "ConfigMap": ("", "v1", "configmaps"),
}


def workload(kind: str, name: str, namespace: str, images: Sequence[str]) -> dict[str, Any]:
    """An object of ``kind`` whose pod template runs ``images`` (containers c0, c1, …)."""
    group, version, _ = _GROUPS[kind]
    pod_spec = {
        "containers": [
            {"name": f"c{index}", "image": image, "ports": [{"containerPort": 8080}]}
            for index, image in enumerate(images)
        ]
    }
    metadata = {"name": name, "namespace": namespace, "labels": {"app": name}}
    body: dict[str, Any] = {
        "apiVersion": f"{group}/{version}" if group else version,
        "kind": kind,
        "metadata": metadata,
    }
    if kind == "Pod":
        body["spec"] = pod_spec
    elif kind == "CronJob":
        body["spec"] = {
            "schedule": "*/5 * * * *",
            "jobTemplate": {"spec": {"template": {"spec": pod_spec}}},
        }
    else:
        body["spec"] = {
            "replicas": 2,
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec},
        }
    return body


def review(
    kind: str,
    name: str,
    namespace: str,
    images: Sequence[str] = (),
    *,
    operation: str = "CREATE",
    old_images: Sequence[str] | None = None,
    dry_run: bool = False,
    api_version: str = "admission.k8s.io/v1",
    uid: str | None = None,
) -> dict[str, Any]:
    """An AdmissionReview request for ``operation`` on an object of ``kind``."""
    group, version, resource = _GROUPS[kind]
    request: dict[str, Any] = {
        "uid": uid or f"00000000-0000-0000-0000-{next(_uids):012d}",
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": resource},
        "requestKind": {"group": group, "version": version, "kind": kind},
        "name": name,
        "namespace": namespace,
        "operation": operation,
        "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters"]},
        "dryRun": dry_run,
        "object": None,
        "oldObject": None,
    }
    if operation in ("CREATE", "UPDATE"):
        request["object"] = workload(kind, name, namespace, images)
    if operation in ("UPDATE", "DELETE"):
        request["oldObject"] = workload(kind, name, namespace, old_images or images)
    return {"apiVersion": api_version, "kind": "AdmissionReview", "request": request}
