"""ClusterState: the record requests that follow from what the cluster lists and changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from imagegate.admission import DeploymentNameTemplate, RecordTarget
from imagegate.cluster import ClusterState, digest_of_image_id, parse_selector
from imagegate.tracking import (
    Artifact,
    DeploymentKey,
    DeploymentRecord,
    Kind,
    Origin,
    Platform,
    RecordRequest,
    Status,
)

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
WEB_V1 = f"registry.example.com/shop/web:1.0@{D1}"
WEB_V2 = f"registry.example.com/shop/web:2.0@{D2}"
AMD64 = Platform(os="linux", architecture="amd64")
ARM64 = Platform(os="linux", architecture="arm64")


def state(excluded: frozenset[str] = frozenset({"kube-system"})) -> ClusterState:
    return ClusterState(
        target_of=lambda namespace: RecordTarget(
            cluster="prod", logical_environment="production", name_template=DeploymentNameTemplate()
        ),
        default_platform=AMD64,
        excluded_namespaces=excluded,
    )


def pod_spec(image: str, **extra: Any) -> dict[str, Any]:
    return {"containers": [{"name": "app", "image": image}], **extra}


def deployment(name: str, image: str, namespace: str = "shop", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}"},
        "spec": {"template": {"spec": pod_spec(image, **spec)}},
    }


def pod_of(deployment_name: str, image: str, *, digest: str | None, node: str = "n1") -> Any:
    statuses = []
    if digest is not None:
        repository = image.split("@", maxsplit=1)[0].rsplit(":", 1)[0]
        statuses = [{"name": "app", "imageID": f"{repository}@{digest}"}]
    return {
        "metadata": {
            "name": f"{deployment_name}-abc12-xyz",
            "namespace": "shop",
            "labels": {"pod-template-hash": "abc12"},
            "ownerReferences": [
                {"kind": "ReplicaSet", "name": f"{deployment_name}-abc12", "controller": True}
            ],
        },
        "spec": {**pod_spec(image), "nodeName": node},
        "status": {"containerStatuses": statuses},
    }


def node(name: str, arch: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/os": "linux", "kubernetes.io/arch": arch},
        }
    }


def key(name: str) -> DeploymentKey:
    return DeploymentKey(
        environment="prod",
        logical_environment="production",
        deployment_name=name,
        kind=Kind.CONTAINER_IMAGE,
    )


def summary(requests: list[RecordRequest]) -> list[tuple[str, str, str | None]]:
    return [
        (r.key.deployment_name, r.status.value, r.artifact.digest if r.artifact else None)
        for r in requests
    ]


def stored(name: str, digest: str, origin: Origin = Origin.CLUSTER) -> DeploymentRecord:
    return DeploymentRecord(
        id=1,
        key=key(name),
        artifact=Artifact(repository="registry.example.com/shop/web", digest=digest, tag="1.0"),
        platform=AMD64,
        status=Status.DEPLOYED,
        created_at=NOW,
        updated_at=NOW,
        last_seen_at=NOW,
        origin=origin,
    )


def test_a_listed_workload_is_recorded_from_the_cluster() -> None:
    cluster = state()
    (request,) = cluster.listed("Deployment", [deployment("web", WEB_V1)], NOW)
    assert summary([request]) == [("shop/web/app", "deployed", D1)]
    assert request.origin is Origin.CLUSTER
    assert request.platform == AMD64


def test_a_change_supersedes_and_a_status_only_change_writes_nothing() -> None:
    cluster = state()
    cluster.listed("Deployment", [deployment("web", WEB_V1)], NOW)
    same = deployment("web", WEB_V1)
    same["status"] = {"replicas": 3}
    assert cluster.changed("Deployment", "MODIFIED", same, NOW) == []
    changed = cluster.changed("Deployment", "MODIFIED", deployment("web", WEB_V2), NOW)
    assert summary(changed) == [("shop/web/app", "deployed", D2)]


def test_a_deleted_workload_is_decommissioned() -> None:
    cluster = state()
    cluster.listed("Deployment", [deployment("web", WEB_V1)], NOW)
    gone = cluster.changed("Deployment", "DELETED", deployment("web", WEB_V1), NOW)
    assert summary(gone) == [("shop/web/app", "decommissioned", None)]
    assert gone[0].origin is Origin.CLUSTER


def test_a_relist_decommissions_what_disappeared_meanwhile() -> None:
    cluster = state()
    cluster.listed("Deployment", [deployment("web", WEB_V1), deployment("api", WEB_V1)], NOW)
    requests = cluster.listed("Deployment", [deployment("web", WEB_V1)], NOW)
    assert summary(requests) == [("shop/api/app", "decommissioned", None)]


def test_owned_objects_and_excluded_namespaces_make_no_records() -> None:
    cluster = state()
    replica_set = deployment("web-abc12", WEB_V1)
    replica_set["metadata"]["ownerReferences"] = [
        {"kind": "Deployment", "name": "web", "controller": True}
    ]
    assert cluster.listed("ReplicaSet", [replica_set], NOW) == []
    assert cluster.listed("Deployment", [deployment("dns", WEB_V1, "kube-system")], NOW) == []
    assert cluster.workload_count == 0


def test_a_tag_only_image_is_recorded_with_the_digest_its_pods_pulled() -> None:
    cluster = state()
    tagged = "registry.example.com/shop/web:1.0"
    assert cluster.listed("Deployment", [deployment("web", tagged)], NOW) == []
    (unrecorded,) = cluster.unrecorded()
    assert (unrecorded.workload, unrecorded.container, unrecorded.reason) == (
        ("Deployment", "shop", "web"),
        "app",
        "no digest",
    )
    requests = cluster.changed("Pod", "ADDED", pod_of("web", tagged, digest=D1), NOW)
    assert summary(requests) == [("shop/web/app", "deployed", D1)]
    assert requests[0].artifact is not None
    assert requests[0].artifact.tag == "1.0"
    assert cluster.unrecorded() == []
    (run,) = cluster.record_runs()
    assert (run.pods_running_digest, run.pods_running_other) == (1, 0)


def test_pods_of_an_older_rollout_do_not_give_the_digest() -> None:
    cluster = state()
    cluster.listed("Deployment", [deployment("web", "registry.example.com/shop/web:2.0")], NOW)
    old = pod_of("web", "registry.example.com/shop/web:1.0", digest=D1)
    assert cluster.changed("Pod", "ADDED", old, NOW) == []


def test_a_bare_image_id_is_a_config_id_not_a_digest() -> None:
    assert digest_of_image_id("sha256:" + "3" * 64) is None
    assert digest_of_image_id(f"docker-pullable://nginx@{D1}") == D1
    assert digest_of_image_id("") is None


def test_an_unconstrained_workload_gets_its_nodes_platform() -> None:
    cluster = state()
    cluster.nodes_listed([node("n1", "arm64")], NOW)
    (request,) = cluster.listed("Deployment", [deployment("web", WEB_V1)], NOW)
    assert request.platform == ARM64


def test_records_are_bounded_by_the_platforms_nodes_have() -> None:
    cluster = state()
    cluster.nodes_listed([node("n1", "amd64"), node("n2", "arm64")], NOW)
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {
                                "key": "kubernetes.io/arch",
                                "operator": "In",
                                "values": [f"arch{n}" for n in range(2000)] + ["arm64"],
                            }
                        ]
                    }
                ]
            }
        }
    }
    requests = cluster.listed("Deployment", [deployment("web", WEB_V1, affinity=affinity)], NOW)
    assert [r.platform for r in requests] == [ARM64]


def test_reconcile_records_what_is_missing_and_retires_what_is_gone() -> None:
    cluster = state()
    cluster.listed("Deployment", [deployment("web", WEB_V1), deployment("api", WEB_V2)], NOW)
    plan = cluster.reconcile(
        [
            stored("shop/web/app", D1),
            stored("shop/old/app", D1, origin=Origin.ADMISSION),
            stored("shop/pipeline/app", D1, origin=Origin.API),
        ],
        NOW,
    )
    assert (plan.recorded, plan.refreshed, plan.decommissioned) == (1, 1, 1)
    assert sorted(summary(list(plan.requests))) == [
        ("shop/api/app", "deployed", D2),
        ("shop/old/app", "decommissioned", None),
        ("shop/web/app", "deployed", D1),
    ]


def test_two_workloads_rendering_one_name_keep_it_until_both_are_gone() -> None:
    cluster = state()
    cluster.listed("Deployment", [deployment("web", WEB_V1)], NOW)
    cluster.listed("StatefulSet", [deployment("web", WEB_V1)], NOW)
    kept = cluster.changed("StatefulSet", "DELETED", deployment("web", WEB_V1), NOW)
    assert summary(kept) == [("shop/web/app", "deployed", D1)]
    gone = cluster.changed("Deployment", "DELETED", deployment("web", WEB_V1), NOW)
    assert summary(gone) == [("shop/web/app", "decommissioned", None)]


def test_a_malformed_object_is_skipped() -> None:
    cluster = state()
    assert cluster.listed("Deployment", [{"metadata": {"name": "x"}, "spec": "nope"}], NOW) == []


def test_objects_the_webhooks_selector_leaves_out_are_not_recorded() -> None:
    cluster = ClusterState(
        target_of=lambda namespace: RecordTarget(
            cluster="prod", logical_environment="production", name_template=DeploymentNameTemplate()
        ),
        default_platform=AMD64,
        selector=parse_selector('{"matchLabels": {"imagegate.dev/judged": "yes"}}'),
    )
    judged = deployment("web", WEB_V1)
    judged["metadata"]["labels"] = {"imagegate.dev/judged": "yes"}
    requests = cluster.listed("Deployment", [judged, deployment("other", WEB_V1)], NOW)
    assert summary(requests) == [("shop/web/app", "deployed", D1)]
    # Relabelled out of the selector: no longer judged, so no longer recorded.
    requests = cluster.changed("Deployment", "MODIFIED", deployment("web", WEB_V1), NOW)
    assert summary(requests) == [("shop/web/app", "decommissioned", None)]


def test_a_relist_of_pods_recomputes_each_workload_once_with_all_its_pods() -> None:
    cluster = state()
    tagged = "registry.example.com/shop/web:1.0"
    cluster.listed("Deployment", [deployment("web", tagged)], NOW)
    pods = [pod_of("web", tagged, digest=digest) for digest in (D1, D2, D2)]
    for number, pod in enumerate(pods):
        pod["metadata"]["name"] = f"web-abc12-{number}"
    (first,) = cluster.listed("Pod", pods, NOW)
    assert first.artifact is not None
    assert first.artifact.digest == D2  # what most pods pulled
    # The same pods again (a relist after the watch expired): nothing changes; the first
    # pod alone (D1) never makes the record flap.
    assert cluster.listed("Pod", pods, NOW) == []


def test_a_deleted_tag_only_pod_is_decommissioned_not_first_unrecorded() -> None:
    cluster = state()
    tagged = "registry.example.com/shop/web:1.0"
    bare = {
        "metadata": {"name": "debug", "namespace": "shop"},
        "spec": {**pod_spec(tagged), "nodeName": "n1"},
        "status": {"containerStatuses": [{"name": "app", "imageID": f"{tagged}@{D1}"}]},
    }
    (recorded,) = cluster.changed("Pod", "ADDED", bare, NOW)
    assert summary([recorded]) == [("shop/debug/app", "deployed", D1)]
    gone = cluster.changed("Pod", "DELETED", bare, NOW)
    assert summary(gone) == [("shop/debug/app", "decommissioned", None)]
    assert cluster.unrecorded() == []
