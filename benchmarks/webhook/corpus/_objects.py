"""The objects under review: workloads, ReplicaSets, Jobs and Pods, with what defaulting,
the controllers and ``managedFields`` add."""

from __future__ import annotations

import hashlib
import random
from typing import Any

import msgspec

from benchmarks.webhook.corpus._model import Workload
from benchmarks.webhook.corpus._podspec import api_token_volume, with_token_mount
from benchmarks.webhook.corpus._schema import Json


def top_object(rng: random.Random, workload: Workload, pod_spec: Json) -> Json:
    template = {
        "metadata": {
            "labels": dict(workload.labels),
            "annotations": {
                "kubectl.kubernetes.io/restartedAt": "2024-05-21T09:14:03Z",
                "prometheus.io/scrape": "true",
                "prometheus.io/port": "9090",
            },
        },
        "spec": pod_spec,
    }
    selector = {"matchLabels": {"app.kubernetes.io/name": workload.name}}
    api_version = "batch/v1" if workload.kind == "CronJob" else "apps/v1"
    spec: Json
    if workload.kind == "Deployment":
        spec = {
            "replicas": workload.replicas,
            "selector": selector,
            "template": template,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        }
    elif workload.kind == "StatefulSet":
        spec = {
            "replicas": workload.replicas,
            "selector": selector,
            "template": template,
            "serviceName": f"{workload.name}-headless",
            "podManagementPolicy": "OrderedReady",
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "revisionHistoryLimit": 10,
            "persistentVolumeClaimRetentionPolicy": {
                "whenDeleted": "Retain",
                "whenScaled": "Retain",
            },
            "volumeClaimTemplates": [
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "storageClassName": "gp3",
                        "volumeMode": "Filesystem",
                        "resources": {"requests": {"storage": f"{rng.choice((10, 50, 200))}Gi"}},
                    },
                    "status": {"phase": "Pending"},
                }
            ],
        }
    else:
        spec = {
            "schedule": f"{rng.randint(0, 59)} */{rng.choice((1, 2, 6))} * * *",
            "concurrencyPolicy": "Forbid",
            "suspend": False,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 1,
            "jobTemplate": {
                "metadata": {"creationTimestamp": None},
                "spec": {
                    "backoffLimit": 6,
                    "completionMode": "NonIndexed",
                    "completions": 1,
                    "parallelism": 1,
                    "suspend": False,
                    "template": template,
                },
            },
        }
    metadata: Json = {
        "name": workload.name,
        "namespace": workload.namespace,
        "labels": dict(workload.labels),
        "annotations": {"meta.helm.sh/release-name": workload.name},
    }
    obj: Json = {"kind": workload.kind, "apiVersion": api_version, "metadata": metadata}
    obj["spec"] = spec
    # kubectl apply keeps the whole manifest in an annotation; large workloads
    # are more often applied server-side, which does not.
    if len(workload.containers) <= 3 and rng.random() < 0.4:
        metadata["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = (
            msgspec.json.encode(obj).decode() + "\n"
        )
    metadata.update(
        {
            "uid": str(uuid_from(f"{workload.namespace}/{workload.name}/{workload.kind}")),
            "resourceVersion": str(rng.randint(10_000_000, 99_999_999)),
            "generation": 1,
            "creationTimestamp": "2024-05-21T09:14:03Z",
            "managedFields": [_managed_entry("kubectl-client-side-apply", api_version, obj)],
        }
    )
    obj["status"] = {}
    return obj


def replica_set_object(workload: Workload, spec: Json, template_hash: str, owner: Json) -> Json:
    labels = {**workload.labels, "pod-template-hash": template_hash}
    obj: Json = {
        "kind": "ReplicaSet",
        "apiVersion": "apps/v1",
        "metadata": {
            "name": f"{workload.name}-{template_hash}",
            "namespace": workload.namespace,
            "labels": labels,
            "annotations": {
                "deployment.kubernetes.io/desired-replicas": str(workload.replicas),
                "deployment.kubernetes.io/max-replicas": str(workload.replicas + 1),
                "deployment.kubernetes.io/revision": "1",
            },
            "ownerReferences": [owner],
        },
        "spec": {
            "replicas": workload.replicas,
            "selector": {
                "matchLabels": {
                    "app.kubernetes.io/name": workload.name,
                    "pod-template-hash": template_hash,
                }
            },
            "template": {"metadata": {"labels": labels}, "spec": spec},
        },
    }
    obj["metadata"]["managedFields"] = [_managed_entry("kube-controller-manager", "apps/v1", obj)]
    obj["metadata"]["creationTimestamp"] = "2024-05-21T09:14:04Z"
    obj["status"] = {"replicas": 0}
    return obj


def job_object(rng: random.Random, workload: Workload, job_name: str, owner: Json) -> Json:
    labels = {**workload.labels, "batch.kubernetes.io/controller-uid": str(uuid_from(job_name))}
    obj: Json = {
        "kind": "Job",
        "apiVersion": "batch/v1",
        "metadata": {
            "name": job_name,
            "namespace": workload.namespace,
            "labels": labels,
            "annotations": {"batch.kubernetes.io/cronjob-scheduled-timestamp": _timestamp(rng)},
            "ownerReferences": [owner],
        },
        "spec": {
            "backoffLimit": 6,
            "completionMode": "NonIndexed",
            "completions": 1,
            "parallelism": 1,
            "suspend": False,
            "manualSelector": False,
            "podReplacementPolicy": "TerminatingOrFailed",
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": job_name}},
            "template": {"metadata": {"labels": labels}, "spec": workload.pod_spec},
        },
    }
    obj["metadata"]["managedFields"] = [_managed_entry("kube-controller-manager", "batch/v1", obj)]
    obj["status"] = {}
    return obj


def pod_object(
    rng: random.Random,
    workload: Workload,
    *,
    name: str | None,
    owner: Json | None,
    spec: Json,
    generate_name: str | None = None,
    extra_labels: dict[str, str] | None = None,
) -> Json:
    metadata: Json = {"namespace": workload.namespace}
    if name is not None:
        metadata["name"] = name
    if generate_name is not None:
        metadata["generateName"] = generate_name
    metadata["labels"] = {**workload.labels, **(extra_labels or {})}
    if not workload.minimal:
        metadata["annotations"] = {
            "kubectl.kubernetes.io/restartedAt": "2024-05-21T09:14:03Z",
            "prometheus.io/scrape": "true",
            "prometheus.io/port": "9090",
        }
    if owner is not None:
        metadata["ownerReferences"] = [owner]
    pod_spec = dict(spec)
    # The ServiceAccount admission plugin mounts the API token into every pod.
    token_volume = f"kube-api-access-{short_hash(str(rng.random()).encode())[:5]}"
    pod_spec["volumes"] = [*spec.get("volumes", []), api_token_volume(token_volume)]
    pod_spec["containers"] = [with_token_mount(c, token_volume) for c in spec["containers"]]
    pod_spec["tolerations"] = [
        *spec.get("tolerations", []),
        {
            "key": "node.kubernetes.io/not-ready",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        },
        {
            "key": "node.kubernetes.io/unreachable",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        },
    ]
    obj: Json = {"kind": "Pod", "apiVersion": "v1", "metadata": metadata, "spec": pod_spec}
    manager = "kube-controller-manager" if owner is not None else "kubectl-client-side-apply"
    metadata["managedFields"] = [_managed_entry(manager, "v1", obj)]
    metadata["creationTimestamp"] = None
    obj["status"] = {"phase": "Pending", "qosClass": "Burstable"}
    return obj


def with_first_image(spec: Json, image: str) -> Json:
    first, *rest = spec["containers"]
    return {**spec, "containers": [{**first, "image": image}, *rest]}


def bumped(obj: Json, *, generation: int = 1) -> Json:
    """The object after an update that changes no image (a scale or an annotation)."""
    metadata = dict(obj["metadata"])
    metadata["resourceVersion"] = str(int(metadata["resourceVersion"]) + 1)
    metadata["generation"] = generation + 1
    spec = dict(obj["spec"])
    if "replicas" in spec:
        spec["replicas"] = spec["replicas"] + 1
    return {**obj, "metadata": metadata, "spec": spec}


def owner_reference(group: str, kind: str, name: str, obj: Json) -> Json:
    api_version = f"{group}/v1" if group else "v1"
    uid = obj["metadata"].get("uid") or str(uuid_from(f"{kind}/{name}"))
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _managed_entry(manager: str, api_version: str, obj: Json) -> Json:
    fields = {
        "f:metadata": _fields_v1(
            {k: v for k, v in obj["metadata"].items() if k in ("labels", "annotations")}
        ),
        "f:spec": _fields_v1(obj.get("spec", {})),
    }
    return {
        "manager": manager,
        "operation": "Update",
        "apiVersion": api_version,
        "time": "2024-05-21T09:14:03Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }


# Fields the API server fills in by defaulting; no manager owns them.
_DEFAULTED = frozenset(
    {
        "terminationMessagePath",
        "terminationMessagePolicy",
        "imagePullPolicy",
        "dnsPolicy",
        "schedulerName",
        "enableServiceLinks",
        "preemptionPolicy",
        "serviceAccount",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
        "revisionHistoryLimit",
        "progressDeadlineSeconds",
        "tolerations",
    }
)


def _fields_v1(value: Any) -> Json:
    """The shape of ``value`` as server-side apply records it in ``managedFields``."""
    if isinstance(value, dict):
        return {
            f"f:{key}": _fields_v1(item) for key, item in value.items() if key not in _DEFAULTED
        }
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        result: Json = {}
        for index, item in enumerate(value):
            key = item.get("name", item.get("key", index))
            identity = msgspec.json.encode({"name": key}).decode()
            result[f"k:{identity}"] = {".": {}, **_fields_v1(item)}
        return result
    return {}


def short_hash(data: bytes) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    number = int.from_bytes(hashlib.sha256(data).digest()[:8], "big")
    letters = []
    for _ in range(10):
        number, digit = divmod(number, len(alphabet))
        letters.append(alphabet[digit])
    return "".join(letters)


def _timestamp(rng: random.Random) -> str:
    return f"2024-05-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z"


def uuid_from(text: str) -> str:
    digest = hashlib.sha256(text.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-8{digest[17:20]}-{digest[20:32]}"
