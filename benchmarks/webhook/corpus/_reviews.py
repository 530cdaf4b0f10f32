"""The AdmissionReviews a workload causes, as kube-apiserver sends them, and who sends them."""

from __future__ import annotations

import random

import msgspec

from benchmarks.webhook.corpus._model import Workload, deployment_names
from benchmarks.webhook.corpus._objects import (
    bumped,
    job_object,
    owner_reference,
    pod_object,
    replica_set_object,
    short_hash,
    top_object,
    uuid_from,
    with_first_image,
)
from benchmarks.webhook.corpus._schema import UID_PLACEHOLDER, Json, Review

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
        "uid": str(uuid_from(controller)),
        "groups": [
            "system:serviceaccounts",
            "system:serviceaccounts:kube-system",
            "system:authenticated",
        ],
    }


def reviews_of(rng: random.Random, workload: Workload) -> list[Review]:
    """The admission requests a workload causes, as the API server sends them."""
    keys = deployment_names(workload)
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
        pod = pod_object(rng, workload, name=workload.name, owner=None, spec=spec)
        reviews.append(_review(rng, "", "Pod", "pods", "CREATE", pod, None, _user(rng), keys))
        return reviews
    group, plural = {
        "Deployment": ("apps", "deployments"),
        "StatefulSet": ("apps", "statefulsets"),
        "CronJob": ("batch", "cronjobs"),
    }[workload.kind]
    top = top_object(rng, workload, workload.pod_spec)
    user = _user(rng)
    reviews.append(_review(rng, group, workload.kind, plural, "CREATE", top, None, user, keys))
    updated = bumped(top)
    reviews.append(_review(rng, group, workload.kind, plural, "UPDATE", updated, top, user, keys))
    top_owner = owner_reference(group, workload.kind, workload.name, top)
    if workload.kind == "Deployment":
        specs = [workload.pod_spec]
        if workload.rollout_image is not None:
            new_spec = with_first_image(workload.pod_spec, workload.rollout_image)
            specs.append(new_spec)
            new_top = bumped(top_object(rng, workload, new_spec), generation=2)
            reviews.append(
                _review(rng, group, workload.kind, plural, "UPDATE", new_top, top, user, keys)
            )
        for spec in specs:
            template_hash = short_hash(msgspec.json.encode(spec))
            replica_set = replica_set_object(workload, spec, template_hash, top_owner)
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
            rs_owner = owner_reference(
                "apps", "ReplicaSet", f"{workload.name}-{template_hash}", replica_set
            )
            for _ in range(min(workload.replicas, 4)):
                pod = pod_object(
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
            pod = pod_object(
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
        job = job_object(rng, workload, job_name, top_owner)
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
        pod = pod_object(
            rng,
            workload,
            name=None,
            owner=owner_reference("batch", "Job", job_name, job),
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
