"""A deterministic corpus of realistic AdmissionReview v1 requests for the benchmark.

Run as ``python benchmarks/corpus.py --out corpus.json``. The same seed gives the
same bytes. The corpus models a mid-sized cluster: Deployments, StatefulSets,
CronJobs and bare Pods, each seen the way kube-apiserver sends them to a webhook
that watches pods and workload controllers: the workload's CREATE and UPDATE (with
``oldObject``), the ReplicaSet or Job its controller creates, and the Pods those
create, with the fields defaulting and ``managedFields`` add. Every image is pinned
by digest, so ``--require-digest enforce`` admits every request and imagegate
records it; many requests map to the same deployment, so records are a mix of
creates, heartbeats and (for workloads caught mid-rollout) supersedes.

Each review carries ``request.uid`` as the placeholder ``UID_PLACEHOLDER``; the load
generator puts a unique uid there for every request it sends.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

UID_PLACEHOLDER = "@@uid@@"
FORMAT_VERSION = 1

Json = dict[str, Any]

_NAMESPACES = (
    "payments",
    "checkout",
    "catalog",
    "search",
    "identity",
    "notifications",
    "analytics",
    "ingress",
    "monitoring",
    "data-pipeline",
    "ml-serving",
    "internal-tools",
)
_WORDS = (
    "api",
    "web",
    "worker",
    "gateway",
    "auth",
    "billing",
    "cart",
    "indexer",
    "scheduler",
    "notifier",
    "mailer",
    "ledger",
    "reporting",
    "exporter",
    "ingest",
    "router",
    "frontend",
    "backend",
    "cache",
    "session",
    "profile",
    "inventory",
    "pricing",
    "shipping",
    "recommender",
    "feature-store",
    "model-server",
    "webhook",
    "sync",
    "reconciler",
)
_REGISTRIES = (
    "registry.example.com",
    "ghcr.io/example-org",
    "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    "europe-docker.pkg.dev/example-prod/apps",
)
# Images shared across workloads, as sidecars and init containers are in real clusters.
_SIDECARS = (
    ("envoy", "docker.io/envoyproxy/envoy", "v1.30.1"),
    ("istio-proxy", "docker.io/istio/proxyv2", "1.22.0"),
    ("fluent-bit", "cr.fluentbit.io/fluent/fluent-bit", "3.0.4"),
    ("vault-agent", "docker.io/hashicorp/vault", "1.16.2"),
    ("otel-collector", "docker.io/otel/opentelemetry-collector-contrib", "0.101.0"),
    ("cloud-sql-proxy", "gcr.io/cloud-sql-connectors/cloud-sql-proxy", "2.11.0"),
    ("oauth2-proxy", "quay.io/oauth2-proxy/oauth2-proxy", "v7.6.0"),
    ("node-exporter", "quay.io/prometheus/node-exporter", "v1.8.0"),
    ("statsd-exporter", "docker.io/prom/statsd-exporter", "v0.26.1"),
)
_INITS = (
    ("wait-for-db", "docker.io/library/busybox", "1.36.1"),
    ("migrate", "docker.io/migrate/migrate", "v4.17.1"),
    ("config-render", "ghcr.io/example-org/config-render", "2.3.0"),
    ("vault-agent-init", "docker.io/hashicorp/vault", "1.16.2"),
    ("chown-data", "docker.io/library/alpine", "3.20.0"),
)
_USERS = (
    {
        "username": "system:serviceaccount:argocd:argocd-application-controller",
        "uid": "5f0c9d8e-2b1a-4c3d-9e8f-7a6b5c4d3e2f",
        "groups": [
            "system:serviceaccounts",
            "system:serviceaccounts:argocd",
            "system:authenticated",
        ],
    },
    {
        "username": "alice@example.com",
        "groups": ["oidc:platform-team", "system:authenticated"],
        "extra": {"authentication.kubernetes.io/credential-id": ["JTI=4c1f0a7e-0c3b"]},
    },
    {
        "username": "system:serviceaccount:flux-system:kustomize-controller",
        "uid": "0e9d8c7b-6a5f-4e3d-8c2b-1a0f9e8d7c6b",
        "groups": [
            "system:serviceaccounts",
            "system:serviceaccounts:flux-system",
            "system:authenticated",
        ],
    },
)


def _controller_user(controller: str) -> Json:
    return {
        "username": f"system:serviceaccount:kube-system:{controller}",
        "uid": str(_uuid_from(controller)),
        "groups": [
            "system:serviceaccounts",
            "system:serviceaccounts:kube-system",
            "system:authenticated",
        ],
    }


class Review(msgspec.Struct, frozen=True):
    """One AdmissionReview of the corpus and what a correct webhook answers."""

    kind: str
    """Kind of the object under review (Deployment, Pod, ...)."""
    operation: str
    allowed: bool
    """The answer expected: every image is pinned by digest, so always true."""
    records: list[str]
    """Deployment names imagegate records because of this review (default template)."""
    body: msgspec.Raw
    """The AdmissionReview as sent, with ``request.uid`` set to ``UID_PLACEHOLDER``."""


class Corpus(msgspec.Struct, frozen=True):
    """The file that ``corpus.py`` writes and the load generator reads."""

    format: int
    seed: int
    workloads: int
    uid_placeholder: str
    reviews: list[Review]


@dataclass
class _Container:
    name: str
    image: str


@dataclass
class _Workload:
    kind: str
    namespace: str
    name: str
    replicas: int
    containers: list[_Container]
    init_containers: list[_Container]
    platforms: list[str]
    """Platform suffixes of deployment names; one entry "" when only one platform."""
    pod_spec: Json
    labels: dict[str, str]
    minimal: bool = False
    """A one-off pod (``kubectl run``): one container, nothing else set."""
    rollout_image: str | None = None
    """For a workload caught mid-rollout: the new image of its first container."""


def build_corpus(*, seed: int, workloads: int) -> Corpus:
    """The corpus for ``seed``: ``workloads`` workloads and the reviews they cause."""
    rng = random.Random(seed)
    reviews: list[Review] = []
    used: set[tuple[str, str]] = set()
    for _ in range(workloads):
        workload = _workload(rng, used)
        reviews.extend(_reviews_of(rng, workload))
    rng.shuffle(reviews)
    return Corpus(
        format=FORMAT_VERSION,
        seed=seed,
        workloads=workloads,
        uid_placeholder=UID_PLACEHOLDER,
        reviews=reviews,
    )


def _workload(rng: random.Random, used: set[tuple[str, str]]) -> _Workload:
    kind = rng.choices(("Deployment", "StatefulSet", "CronJob", "Pod"), (60, 15, 15, 10))[0]
    namespace = rng.choice(_NAMESPACES)
    name = rng.choice(_WORDS)
    while (namespace, name) in used:
        name = f"{rng.choice(_WORDS)}-{rng.choice(_WORDS)}"
    used.add((namespace, name))
    minimal = kind == "Pod" and rng.random() < 0.5
    count = 1 if minimal else rng.choices(range(1, 11), (30, 25, 15, 10, 6, 5, 3, 2, 2, 2))[0]
    init_count = 0 if minimal else rng.choices(range(4), (50, 30, 15, 5))[0]
    registry = rng.choice(_REGISTRIES)
    repository = f"{registry}/{namespace}/{name}"
    containers = [_Container(name, _image(rng, repository, _version(rng)))]
    sidecars = rng.sample(_SIDECARS, k=min(count - 1, len(_SIDECARS)))
    for sidecar_name, sidecar_repository, tag in sidecars:
        containers.append(_Container(sidecar_name, _shared_image(sidecar_repository, tag)))
    while len(containers) < count:
        helper = f"{name}-helper-{len(containers)}"
        containers.append(_Container(helper, _image(rng, f"{registry}/{namespace}/{helper}", "")))
    init_containers = [
        _Container(init_name, _shared_image(init_repository, tag))
        for init_name, init_repository, tag in rng.sample(_INITS, k=init_count)
    ]
    # Few workloads run on two architectures; those get one record per platform.
    multi_arch = not minimal and rng.random() < 0.12
    env_per_container = max(
        0, rng.choices((0, 2, 4, 6, 10, 16), (10, 20, 25, 20, 15, 10))[0] - count
    )
    pod_spec = _pod_spec(
        rng,
        namespace=namespace,
        name=name,
        containers=containers,
        init_containers=init_containers,
        env_per_container=env_per_container,
        multi_arch=multi_arch,
        restart_policy="OnFailure" if kind == "CronJob" else "Always",
    )
    rollout = kind == "Deployment" and rng.random() < 0.15
    return _Workload(
        kind=kind,
        namespace=namespace,
        name=name,
        replicas=rng.choices((1, 2, 3, 4, 6), (20, 35, 25, 10, 10))[0],
        containers=containers,
        init_containers=init_containers,
        platforms=["@linux/amd64", "@linux/arm64"] if multi_arch else [""],
        pod_spec=pod_spec,
        labels={"run": name}
        if minimal
        else {
            "app.kubernetes.io/name": name,
            "app.kubernetes.io/instance": f"{name}-{namespace}",
            "app.kubernetes.io/part-of": namespace,
            "app.kubernetes.io/managed-by": "Helm" if rng.random() < 0.5 else "kustomize",
            "team": rng.choice(("core", "growth", "platform", "data", "sre")),
        },
        minimal=minimal,
        rollout_image=_image(rng, repository, _version(rng)) if rollout else None,
    )


def _reviews_of(rng: random.Random, workload: _Workload) -> list[Review]:
    """The admission requests a workload causes, as the API server sends them."""
    keys = _deployment_names(workload)
    reviews: list[Review] = []
    if workload.kind == "Pod":
        spec = workload.pod_spec
        if workload.minimal:
            spec = {
                "containers": [
                    {
                        "name": workload.containers[0].name,
                        "image": workload.containers[0].image,
                        "args": ["sleep", "3600"],
                        "resources": {},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "imagePullPolicy": "IfNotPresent",
                    }
                ],
                "restartPolicy": "Never",
                "terminationGracePeriodSeconds": 30,
                "dnsPolicy": "ClusterFirst",
                "securityContext": {},
                "schedulerName": "default-scheduler",
                "enableServiceLinks": True,
                "preemptionPolicy": "PreemptLowerPriority",
            }
        pod = _pod(rng, workload, name=workload.name, owner=None, spec=spec)
        reviews.append(_review(rng, "", "Pod", "pods", "CREATE", pod, None, _user(rng), keys))
        return reviews
    group, plural = {
        "Deployment": ("apps", "deployments"),
        "StatefulSet": ("apps", "statefulsets"),
        "CronJob": ("batch", "cronjobs"),
    }[workload.kind]
    top = _top_object(rng, workload, workload.pod_spec)
    user = _user(rng)
    reviews.append(_review(rng, group, workload.kind, plural, "CREATE", top, None, user, keys))
    updated = _bumped(top)
    reviews.append(_review(rng, group, workload.kind, plural, "UPDATE", updated, top, user, keys))
    top_owner = _owner(group, workload.kind, workload.name, top)
    if workload.kind == "Deployment":
        specs = [workload.pod_spec]
        if workload.rollout_image is not None:
            new_spec = _with_first_image(workload.pod_spec, workload.rollout_image)
            specs.append(new_spec)
            new_top = _bumped(_top_object(rng, workload, new_spec), generation=2)
            reviews.append(
                _review(rng, group, workload.kind, plural, "UPDATE", new_top, top, user, keys)
            )
        for spec in specs:
            template_hash = _short_hash(msgspec.json.encode(spec))
            replica_set = _replica_set(workload, spec, template_hash, top_owner)
            reviews.append(
                _review(
                    rng,
                    "apps",
                    "ReplicaSet",
                    "replicasets",
                    "CREATE",
                    replica_set,
                    None,
                    _controller_user("deployment-controller"),
                    keys,
                )
            )
            rs_owner = _owner("apps", "ReplicaSet", f"{workload.name}-{template_hash}", replica_set)
            for _ in range(min(workload.replicas, 4)):
                pod = _pod(
                    rng,
                    workload,
                    name=None,
                    owner=rs_owner,
                    spec=spec,
                    generate_name=f"{workload.name}-{template_hash}-",
                    extra_labels={"pod-template-hash": template_hash},
                )
                reviews.append(
                    _review(
                        rng,
                        "",
                        "Pod",
                        "pods",
                        "CREATE",
                        pod,
                        None,
                        _controller_user("replicaset-controller"),
                        keys,
                    )
                )
    elif workload.kind == "StatefulSet":
        for ordinal in range(min(workload.replicas, 3)):
            pod = _pod(
                rng,
                workload,
                name=f"{workload.name}-{ordinal}",
                owner=top_owner,
                spec=workload.pod_spec,
                extra_labels={
                    "apps.kubernetes.io/pod-index": str(ordinal),
                    "statefulset.kubernetes.io/pod-name": f"{workload.name}-{ordinal}",
                },
            )
            reviews.append(
                _review(
                    rng,
                    "",
                    "Pod",
                    "pods",
                    "CREATE",
                    pod,
                    None,
                    _controller_user("statefulset-controller"),
                    keys,
                )
            )
    else:  # CronJob: a Job for one run (recorded under the CronJob), and its Pod (not).
        job_name = f"{workload.name}-{28_600_000 + rng.randint(0, 99_999)}"
        job = _job(rng, workload, job_name, top_owner)
        reviews.append(
            _review(
                rng,
                "batch",
                "Job",
                "jobs",
                "CREATE",
                job,
                None,
                _controller_user("cronjob-controller"),
                keys,
            )
        )
        pod = _pod(
            rng,
            workload,
            name=None,
            owner=_owner("batch", "Job", job_name, job),
            spec=workload.pod_spec,
            generate_name=f"{job_name}-",
            extra_labels={"batch.kubernetes.io/job-name": job_name},
        )
        reviews.append(
            _review(
                rng,
                "",
                "Pod",
                "pods",
                "CREATE",
                pod,
                None,
                _controller_user("job-controller"),
                [],
            )
        )
    return reviews


def _deployment_names(workload: _Workload) -> list[str]:
    return [
        f"{workload.namespace}/{workload.name}/{container.name}{platform}"
        for container in [*workload.containers, *workload.init_containers]
        for platform in workload.platforms
    ]


def _review(
    rng: random.Random,
    group: str,
    kind: str,
    plural: str,
    operation: str,
    obj: Json,
    old: Json | None,
    user: Json,
    records: list[str],
) -> Review:
    gvk = {"group": group, "version": "v1", "kind": kind}
    gvr = {"group": group, "version": "v1", "resource": plural}
    options_kind = "CreateOptions" if operation == "CREATE" else "UpdateOptions"
    manager = _manager(user)
    metadata = obj["metadata"]
    request: Json = {
        "uid": UID_PLACEHOLDER,
        "kind": gvk,
        "resource": gvr,
        "requestKind": gvk,
        "requestResource": gvr,
        "name": metadata.get("name", ""),
        "namespace": metadata["namespace"],
        "operation": operation,
        "userInfo": user,
        "object": obj,
        "oldObject": old,
        "dryRun": False,
        "options": {
            "kind": options_kind,
            "apiVersion": "meta.k8s.io/v1",
            "fieldManager": manager,
            "fieldValidation": rng.choice(("Strict", "Ignore")),
        },
    }
    review = {"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": request}
    return Review(
        kind=kind,
        operation=operation,
        allowed=True,
        records=records,
        body=msgspec.Raw(msgspec.json.encode(review)),
    )


def _top_object(rng: random.Random, workload: _Workload, pod_spec: Json) -> Json:
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
            "uid": str(_uuid_from(f"{workload.namespace}/{workload.name}/{workload.kind}")),
            "resourceVersion": str(rng.randint(10_000_000, 99_999_999)),
            "generation": 1,
            "creationTimestamp": "2024-05-21T09:14:03Z",
            "managedFields": [_managed_entry("kubectl-client-side-apply", api_version, obj)],
        }
    )
    obj["status"] = {}
    return obj


def _replica_set(workload: _Workload, spec: Json, template_hash: str, owner: Json) -> Json:
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


def _job(rng: random.Random, workload: _Workload, job_name: str, owner: Json) -> Json:
    labels = {**workload.labels, "batch.kubernetes.io/controller-uid": str(_uuid_from(job_name))}
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


def _pod(
    rng: random.Random,
    workload: _Workload,
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
    token_volume = f"kube-api-access-{_short_hash(str(rng.random()).encode())[:5]}"
    pod_spec["volumes"] = [*spec.get("volumes", []), _token_volume(token_volume)]
    pod_spec["containers"] = [_with_token_mount(c, token_volume) for c in spec["containers"]]
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


def _pod_spec(
    rng: random.Random,
    *,
    namespace: str,
    name: str,
    containers: Sequence[_Container],
    init_containers: Sequence[_Container],
    env_per_container: int,
    multi_arch: bool,
    restart_policy: str,
) -> Json:
    volumes: list[Json] = [
        {"name": "config", "configMap": {"name": f"{name}-config", "defaultMode": 420}},
        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
    ]
    if rng.random() < 0.6:
        volumes.append({"name": "tls", "secret": {"secretName": f"{name}-tls", "defaultMode": 420}})
    if rng.random() < 0.3:
        volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": f"{name}-data"}})
    spec: Json = {
        "volumes": volumes,
        "initContainers": [
            _container(rng, c, env_count=rng.randint(0, 3), volumes=volumes, probes=False)
            for c in init_containers
        ],
        "containers": [
            _container(
                rng,
                c,
                env_count=env_per_container if index == 0 else rng.randint(0, 4),
                volumes=volumes,
                probes=index == 0 or rng.random() < 0.25,
            )
            for index, c in enumerate(containers)
        ],
        "restartPolicy": restart_policy,
        "terminationGracePeriodSeconds": rng.choice((30, 60, 120)),
        "dnsPolicy": "ClusterFirst",
        "serviceAccountName": name,
        "serviceAccount": name,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "fsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "imagePullSecrets": [{"name": "registry-credentials"}],
        "schedulerName": "default-scheduler",
        "priorityClassName": rng.choice(("default", "high-priority", "batch-low")),
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
    }
    if not init_containers:
        del spec["initContainers"]
    if rng.random() < 0.5:
        spec["nodeSelector"] = {"kubernetes.io/os": "linux"}
    architectures = ["amd64", "arm64"] if multi_arch else ["amd64"]
    affinity: Json = {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "labelSelector": {
                            "matchLabels": {"app.kubernetes.io/name": name},
                        },
                        "topologyKey": "kubernetes.io/hostname",
                    },
                }
            ]
        }
    }
    if multi_arch or rng.random() < 0.4:
        affinity["nodeAffinity"] = {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {
                                "key": "kubernetes.io/arch",
                                "operator": "In",
                                "values": architectures,
                            },
                            {
                                "key": "node.example.com/pool",
                                "operator": "NotIn",
                                "values": ["spot-preemptible"],
                            },
                        ]
                    }
                ]
            }
        }
    spec["affinity"] = affinity
    if rng.random() < 0.4:
        spec["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": name}},
            }
        ]
    if namespace in ("data-pipeline", "ml-serving", "monitoring"):
        spec["tolerations"] = [
            {"key": "dedicated", "operator": "Equal", "value": namespace, "effect": "NoSchedule"}
        ]
    return spec


def _container(
    rng: random.Random, container: _Container, *, env_count: int, volumes: list[Json], probes: bool
) -> Json:
    env: list[Json] = []
    for index in range(env_count):
        key = f"{rng.choice(_ENV_WORDS)}_{rng.choice(_ENV_WORDS)}_{index}".upper()
        roll = rng.random()
        if roll < 0.6:
            env.append({"name": key, "value": _env_value(rng)})
        elif roll < 0.85:
            env.append(
                {
                    "name": key,
                    "valueFrom": {
                        "secretKeyRef": {
                            "name": f"{container.name}-secrets",
                            "key": key.lower().replace("_", "-"),
                        }
                    },
                }
            )
        else:
            env.append(
                {
                    "name": key,
                    "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}},
                }
            )
    cpu = rng.choice((50, 100, 250, 500, 1000))
    memory = rng.choice((64, 128, 256, 512, 1024, 2048))
    result: Json = {
        "name": container.name,
        "image": container.image,
        "args": [f"--{rng.choice(_ENV_WORDS)}={rng.randint(1, 9999)}" for _ in range(3)],
        "env": env,
        "envFrom": [{"configMapRef": {"name": f"{container.name}-env"}}],
        "resources": {
            "limits": {"cpu": f"{cpu * 2}m", "memory": f"{memory}Mi"},
            "requests": {"cpu": f"{cpu}m", "memory": f"{memory}Mi"},
        },
        "volumeMounts": [
            {"name": volume["name"], "mountPath": f"/var/run/{volume['name']}", "readOnly": True}
            for volume in volumes[: rng.randint(1, len(volumes))]
        ],
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    if probes:
        port = rng.choice((8080, 8443, 9090, 3000))
        result["ports"] = [
            {"name": "http", "containerPort": port, "protocol": "TCP"},
            {"name": "metrics", "containerPort": 9090, "protocol": "TCP"},
        ]
        result["livenessProbe"] = _probe(rng, port, "/healthz")
        result["readinessProbe"] = _probe(rng, port, "/readyz")
        if rng.random() < 0.3:
            result["startupProbe"] = _probe(rng, port, "/startupz")
    return result


_ENV_WORDS = (
    "log",
    "level",
    "db",
    "host",
    "port",
    "user",
    "timeout",
    "pool",
    "size",
    "feature",
    "flag",
    "cache",
    "ttl",
    "region",
    "bucket",
    "queue",
    "topic",
    "endpoint",
    "retries",
    "workers",
    "tracing",
    "sample",
    "rate",
    "otel",
)


def _env_value(rng: random.Random) -> str:
    return rng.choice(
        (
            str(rng.randint(0, 65535)),
            rng.choice(("true", "false", "info", "debug", "eu-west-1")),
            f"postgres://db-{rng.randint(1, 9)}.internal.example.com:5432/app?sslmode=verify-full",
            f"https://{rng.choice(_WORDS)}.{rng.choice(_NAMESPACES)}.svc.cluster.local:8443/v1",
            f"kafka-{rng.randint(0, 2)}.kafka.svc:9092,kafka-{rng.randint(3, 5)}.kafka.svc:9092",
        )
    )


def _probe(rng: random.Random, port: int, path: str) -> Json:
    handler: Json
    if rng.random() < 0.8:
        handler = {"httpGet": {"path": path, "port": port, "scheme": "HTTP"}}
    else:
        handler = {"tcpSocket": {"port": port}}
    return {
        **handler,
        "initialDelaySeconds": rng.choice((0, 5, 10)),
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }


def _token_volume(name: str) -> Json:
    return {
        "name": name,
        "projected": {
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {
                    "configMap": {
                        "name": "kube-root-ca.crt",
                        "items": [{"key": "ca.crt", "path": "ca.crt"}],
                    }
                },
                {
                    "downwardAPI": {
                        "items": [
                            {
                                "path": "namespace",
                                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                            }
                        ]
                    }
                },
            ],
            "defaultMode": 420,
        },
    }


def _with_token_mount(container: Json, volume: str) -> Json:
    mount = {
        "name": volume,
        "readOnly": True,
        "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
    }
    return {**container, "volumeMounts": [*container.get("volumeMounts", []), mount]}


def _with_first_image(spec: Json, image: str) -> Json:
    first, *rest = spec["containers"]
    return {**spec, "containers": [{**first, "image": image}, *rest]}


def _bumped(obj: Json, *, generation: int = 1) -> Json:
    """The object after an update that changes no image (a scale or an annotation)."""
    metadata = dict(obj["metadata"])
    metadata["resourceVersion"] = str(int(metadata["resourceVersion"]) + 1)
    metadata["generation"] = generation + 1
    spec = dict(obj["spec"])
    if "replicas" in spec:
        spec["replicas"] = spec["replicas"] + 1
    return {**obj, "metadata": metadata, "spec": spec}


def _owner(group: str, kind: str, name: str, obj: Json) -> Json:
    api_version = f"{group}/v1" if group else "v1"
    uid = obj["metadata"].get("uid") or str(_uuid_from(f"{kind}/{name}"))
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


def _user(rng: random.Random) -> Json:
    return dict(rng.choice(_USERS))


def _manager(user: Json) -> str:
    username = str(user["username"])
    if "argocd" in username:
        return "argocd-controller"
    if "kustomize" in username:
        return "kustomize-controller"
    if username.startswith("system:serviceaccount:kube-system:"):
        return "kube-controller-manager"
    return "kubectl-client-side-apply"


def _image(rng: random.Random, repository: str, tag: str) -> str:
    digest = f"sha256:{rng.getrandbits(256):064x}"
    return f"{repository}:{tag}@{digest}" if tag else f"{repository}@{digest}"


def _shared_image(repository: str, tag: str) -> str:
    # The same digest wherever the image appears, as with a real shared sidecar.
    digest = hashlib.sha256(f"{repository}:{tag}".encode()).hexdigest()
    return f"{repository}:{tag}@sha256:{digest}"


def _version(rng: random.Random) -> str:
    return rng.choice(
        (
            f"v{rng.randint(1, 4)}.{rng.randint(0, 30)}.{rng.randint(0, 12)}",
            f"2024.{rng.randint(1, 12):02d}.{rng.randint(1, 28)}",
            f"main-{rng.getrandbits(28):07x}",
            "",
        )
    )


def _short_hash(data: bytes) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    number = int.from_bytes(hashlib.sha256(data).digest()[:8], "big")
    letters = []
    for _ in range(10):
        number, digit = divmod(number, len(alphabet))
        letters.append(alphabet[digit])
    return "".join(letters)


def _timestamp(rng: random.Random) -> str:
    return f"2024-05-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z"


def _uuid_from(text: str) -> str:
    digest = hashlib.sha256(text.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-8{digest[17:20]}-{digest[20:32]}"


def summary(corpus: Corpus) -> Json:
    """Shape of the corpus: counts by kind and operation, body sizes, deployment names."""
    sizes = sorted(len(review.body) for review in corpus.reviews)
    by_kind: dict[str, int] = {}
    for review in corpus.reviews:
        label = f"{review.kind} {review.operation}"
        by_kind[label] = by_kind.get(label, 0) + 1
    recording = [review for review in corpus.reviews if review.records]
    return {
        "seed": corpus.seed,
        "workloads": corpus.workloads,
        "reviews": len(corpus.reviews),
        "by_kind_and_operation": dict(sorted(by_kind.items())),
        "body_bytes": {
            "min": sizes[0],
            "p50": sizes[len(sizes) // 2],
            "p90": sizes[int(len(sizes) * 0.9)],
            "max": sizes[-1],
            "mean": round(statistics.fmean(sizes)),
        },
        "reviews_that_record": len(recording),
        "records_per_pass": sum(len(review.records) for review in recording),
        "distinct_deployment_names": len({n for r in corpus.reviews for n in r.records}),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=20240521, help="random seed (20240521)")
    parser.add_argument(
        "--workloads", type=int, default=150, help="workloads in the modelled cluster (150)"
    )
    parser.add_argument("--out", type=Path, required=True, help="corpus file to write (JSON)")
    parser.add_argument(
        "--summary", action="store_true", help="print the corpus summary as JSON on stdout"
    )
    arguments = parser.parse_args(argv)
    if arguments.workloads < 1:
        parser.error("--workloads must be at least 1")
    corpus = build_corpus(seed=arguments.seed, workloads=arguments.workloads)
    arguments.out.write_bytes(msgspec.json.encode(corpus))
    if arguments.summary:
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(summary(corpus))).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
