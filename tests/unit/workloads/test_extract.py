"""Containers, images and their types, read from objects of every workload kind."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imagegate.tracking import ImageReference, Platform
from imagegate.workloads import (
    WORKLOAD_KINDS,
    ContainerType,
    ExtractedWorkload,
    InvalidObjectError,
    extract_workload,
    handles,
)
from unit.admission.reviews import (
    BUSYBOX,
    BUSYBOX_LEGACY_HOST,
    CHECKOUT,
    DEBUGGER,
    ENVOY,
    FRONTEND,
    LOG_SHIPPER,
    MIGRATIONS,
    NODE_EXPORTER,
    POSTGRES,
    POSTGRES_EXPORTER,
    REPORT,
    TOOLBOX,
    WORKER,
    load,
    object_bytes,
)

DEFAULT = Platform()
C, INIT, SIDECAR, EPHEMERAL = (
    ContainerType.CONTAINER,
    ContainerType.INIT,
    ContainerType.SIDECAR,
    ContainerType.EPHEMERAL,
)
DIGEST = "sha256:" + "ab" * 32


def extract(
    group: str,
    kind: str,
    obj: dict[str, Any] | bytes,
    *,
    request_name: str = "",
    namespace: str = "ns",
    default_platform: Platform = DEFAULT,
) -> ExtractedWorkload:
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return extract_workload(
        group=group,
        kind=kind,
        raw=raw,
        request_name=request_name,
        namespace=namespace,
        default_platform=default_platform,
    )


def extract_fixture(name: str, field: str = "object") -> ExtractedWorkload:
    request = load(name)["request"]
    return extract(
        request["kind"]["group"],
        request["kind"]["kind"],
        object_bytes(name, field),
        request_name=request["name"],
        namespace=request["namespace"],
    )


def pod(*containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"containers": list(containers), **spec},
    }


CHECKOUT_CONTAINERS = [
    ("checkout", CHECKOUT, C),
    ("wait-for-db", BUSYBOX_LEGACY_HOST, INIT),
    ("envoy", ENVOY, SIDECAR),
]
REPORT_CONTAINERS = [("report", REPORT, C)]
LEDGER_CONTAINERS = [("postgres", POSTGRES, C), ("metrics", POSTGRES_EXPORTER, C)]
TOOLBOX_CONTAINERS = [
    ("shell", TOOLBOX, C),
    ("fetch-config", BUSYBOX, INIT),
    ("log-shipper", LOG_SHIPPER, SIDECAR),
]

EVERY_KIND = [
    pytest.param("pod", "Pod", "toolbox", TOOLBOX_CONTAINERS, id="Pod"),
    pytest.param(
        "pod-of-replicaset", "Pod", "checkout-7d4b9c8f5-", CHECKOUT_CONTAINERS, id="Pod-RS"
    ),
    pytest.param("pod-of-statefulset", "Pod", "ledger-db-0", LEDGER_CONTAINERS, id="Pod-STS"),
    pytest.param("pod-of-job", "Pod", "report-28512000-", REPORT_CONTAINERS, id="Pod-Job"),
    pytest.param("deployment", "Deployment", "checkout", CHECKOUT_CONTAINERS, id="Deployment"),
    pytest.param(
        "replicaset-of-deployment",
        "ReplicaSet",
        "checkout-7d4b9c8f5",
        CHECKOUT_CONTAINERS,
        id="ReplicaSet",
    ),
    pytest.param("statefulset", "StatefulSet", "ledger-db", LEDGER_CONTAINERS, id="StatefulSet"),
    pytest.param(
        "daemonset", "DaemonSet", "node-exporter", [("node-exporter", NODE_EXPORTER, C)], id="DS"
    ),
    pytest.param("job", "Job", "db-migrate-v42", [("migrate", MIGRATIONS, C)], id="Job"),
    pytest.param("job-of-cronjob", "Job", "report-28512000", REPORT_CONTAINERS, id="Job-CronJob"),
    pytest.param("cronjob", "CronJob", "report", REPORT_CONTAINERS, id="CronJob"),
    pytest.param(
        "replicationcontroller",
        "ReplicationController",
        "frontend",
        [("frontend", FRONTEND, C)],
        id="ReplicationController",
    ),
    pytest.param(
        "podtemplate", "PodTemplate", "worker-template", [("worker", WORKER, C)], id="PodTemplate"
    ),
    pytest.param(
        "pod-ephemeralcontainers",
        "Pod",
        "toolbox",
        [*TOOLBOX_CONTAINERS, ("debugger-x7k2p", DEBUGGER, EPHEMERAL)],
        id="Pod-ephemeral",
    ),
]


@pytest.mark.parametrize(("fixture", "kind", "object_name", "expected"), EVERY_KIND)
def test_every_kind_yields_its_containers_in_order(
    fixture: str, kind: str, object_name: str, expected: list[tuple[str, str, ContainerType]]
) -> None:
    workload = extract_fixture(fixture)

    assert workload.object_kind == kind
    assert workload.object_name == object_name
    assert [(c.name, c.image, c.type) for c in workload.containers] == expected
    assert all(c.reference is not None and c.problem is None for c in workload.containers)


def test_containers_come_first_then_init_and_sidecars_in_order_then_ephemeral() -> None:
    obj = pod(
        {"name": "a", "image": "a:1"},
        {"name": "b", "image": "b:1"},
        initContainers=[
            {"name": "side-1", "image": "s1:1", "restartPolicy": "Always"},
            {"name": "init-1", "image": "i1:1"},
            {"name": "side-2", "image": "s2:1", "restartPolicy": "Always"},
            {"name": "init-2", "image": "i2:1", "restartPolicy": "Never"},
        ],
        ephemeralContainers=[{"name": "debug", "image": "busybox"}],
    )

    workload = extract("", "Pod", obj)

    assert [(c.name, c.type) for c in workload.containers] == [
        ("a", C),
        ("b", C),
        ("side-1", SIDECAR),
        ("init-1", INIT),
        ("side-2", SIDECAR),
        ("init-2", INIT),
        ("debug", EPHEMERAL),
    ]


def test_references_are_parsed_and_normalised() -> None:
    workload = extract_fixture("deployment")

    assert [c.reference for c in workload.containers] == [
        ImageReference(
            registry="registry.example.com",
            path="shop/checkout",
            tag="1.14.2",
            digest=CHECKOUT.rpartition("@")[2],
        ),
        ImageReference(
            registry="docker.io",
            path="library/busybox",
            tag="1.36",
            digest=BUSYBOX_LEGACY_HOST.rpartition("@")[2],
        ),
        ImageReference(
            registry="docker.io",
            path="envoyproxy/envoy",
            tag="v1.30.1",
            digest=ENVOY.rpartition("@")[2],
        ),
    ]


def test_a_tag_only_image_is_a_reference_without_digest_and_no_problem() -> None:
    workload = extract("", "Pod", pod({"name": "web", "image": "nginx:1.25"}))

    (container,) = workload.containers
    assert container.reference == ImageReference("docker.io", "library/nginx", "1.25", None)
    assert container.problem is None


@pytest.mark.parametrize(
    ("container", "problem"),
    [
        pytest.param({"name": "web", "image": ""}, "the container names no image", id="empty"),
        pytest.param({"name": "web"}, "the container names no image", id="absent"),
        pytest.param(
            {"name": "web", "image": "nginx@sha256:abc"},
            "invalid image reference 'nginx@sha256:abc': a sha256 digest has exactly 64 hex digits",
            id="short-digest",
        ),
        pytest.param(
            {"name": "web", "image": "nginx:1.25 "},
            "invalid image reference 'nginx:1.25 ': an image reference must be non-empty, "
            "no spaces",
            id="trailing-space",
        ),
        pytest.param(
            {"name": "web", "image": "nginx:-1"},
            "invalid image reference 'nginx:-1': tag '-1' must be 1 to 128 letters, digits, "
            "'_', '.' or '-', not starting with '.' or '-'",
            id="bad-tag",
        ),
        pytest.param(
            {"name": "web", "image": "registry.example.com/team//app"},
            "invalid image reference 'registry.example.com/team//app': repository path "
            "component '' may only hold lower-case letters, digits and single separators "
            "(. _ __ -) between them",
            id="empty-path-component",
        ),
    ],
)
def test_image_problems_are_recorded_not_raised(container: dict[str, Any], problem: str) -> None:
    workload = extract("", "Pod", pod({"name": "ok", "image": f"nginx@{DIGEST}"}, container))

    ok, broken = workload.containers
    assert ok.reference is not None
    assert broken.name == "web"
    assert broken.image == container.get("image", "")
    assert broken.type is C
    assert broken.reference is None
    assert broken.problem == problem


def test_problems_are_recorded_for_init_and_ephemeral_containers_too() -> None:
    obj = pod(
        {"name": "app", "image": f"app@{DIGEST}"},
        initContainers=[{"name": "init", "image": ""}],
        ephemeralContainers=[{"name": "debug", "image": "Bad Image"}],
    )

    workload = extract("", "Pod", obj)

    assert [(c.name, c.type, c.reference is None) for c in workload.containers] == [
        ("app", C, False),
        ("init", INIT, True),
        ("debug", EPHEMERAL, True),
    ]
    assert workload.containers[1].problem == "the container names no image"
    assert workload.containers[2].problem is not None
    assert "'Bad Image'" in workload.containers[2].problem


def test_pull_secrets_are_read_and_nameless_ones_skipped() -> None:
    obj = pod(
        {"name": "web", "image": "nginx"},
        imagePullSecrets=[{"name": "registry-example-com"}, {}, {"name": "ghcr-acme"}],
    )

    assert extract("", "Pod", obj).pull_secrets == ("registry-example-com", "ghcr-acme")
    assert extract_fixture("pod").pull_secrets == ("registry-example-com", "ghcr-acme")
    assert extract_fixture("statefulset").pull_secrets == ()


@pytest.mark.parametrize(
    ("metadata", "request_name", "expected"),
    [
        pytest.param({"name": "web", "generateName": "web-"}, "other", "web", id="metadata-name"),
        pytest.param({"generateName": "web-"}, "web-x1", "web-x1", id="request-name"),
        pytest.param({"generateName": "web-"}, "", "web-", id="generate-name"),
        pytest.param({}, "", "", id="nothing"),
    ],
)
def test_object_name_prefers_metadata_then_request_then_generate_name(
    metadata: dict[str, str], request_name: str, expected: str
) -> None:
    obj = {"metadata": metadata, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}

    assert extract("", "Pod", obj, request_name=request_name).object_name == expected


@pytest.mark.parametrize(
    ("group", "kind", "obj"),
    [
        pytest.param(
            "apps", "Deployment", {"metadata": {"name": "d"}, "spec": {}}, id="no-template"
        ),
        pytest.param("apps", "Deployment", {"metadata": {"name": "d"}}, id="no-spec"),
        pytest.param(
            "batch",
            "CronJob",
            {"metadata": {"name": "c"}, "spec": {"schedule": "* * * * *"}},
            id="cj",
        ),
        pytest.param("", "PodTemplate", {"metadata": {"name": "t"}}, id="no-template-pt"),
        pytest.param("", "Pod", {"metadata": {"name": "p"}}, id="pod-no-spec"),
    ],
)
def test_objects_without_pod_spec_have_no_containers(
    group: str, kind: str, obj: dict[str, Any]
) -> None:
    workload = extract(group, kind, obj)

    assert workload.containers == ()
    assert workload.platforms == (DEFAULT,)


def test_the_request_namespace_wins_over_metadata_and_fills_in_for_it() -> None:
    obj = {"metadata": {"name": "p", "namespace": "meta-ns"}, "spec": {}}

    assert extract("", "Pod", obj, namespace="request-ns").identity.namespace == "request-ns"
    assert extract("", "Pod", obj, namespace="").identity.namespace == "meta-ns"


def test_unknown_fields_are_ignored() -> None:
    obj = pod(
        {
            "name": "web",
            "image": "nginx",
            "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
            "unknownField": [1, 2, 3],
        },
        priorityClassName="high",
        topologySpreadConstraints=[{"maxSkew": 1, "topologyKey": "zone"}],
    )
    obj["status"] = {"phase": "Pending"}

    assert [c.name for c in extract("", "Pod", obj).containers] == ["web"]


INVALID = [
    pytest.param(
        "",
        "Pod",
        {"spec": {"containers": "nginx"}},
        "the object is not a valid Pod: Expected `array`, got `str` - at `$.spec.containers`",
        id="containers-string",
    ),
    pytest.param(
        "",
        "Pod",
        {"spec": {"containers": [{"name": "web", "image": 42}]}},
        "the object is not a valid Pod: Expected `str`, got `int` - at "
        "`$.spec.containers[0].image`",
        id="image-number",
    ),
    pytest.param(
        "",
        "Pod",
        {"metadata": {"labels": ["a", "b"]}, "spec": {}},
        "the object is not a valid Pod: Expected `object`, got `array` - at `$.metadata.labels`",
        id="labels-list",
    ),
    pytest.param(
        "",
        "Pod",
        {"spec": {"nodeSelector": {"kubernetes.io/arch": 1}}},
        "the object is not a valid Pod: Expected `str`, got `int` - at `$.spec.nodeSelector[...]`",
        id="node-selector-value",
    ),
    pytest.param(
        "apps",
        "Deployment",
        {"metadata": {"ownerReferences": {"kind": "X"}}, "spec": {}},
        "the object is not a valid Deployment: Expected `array`, got `object` - at "
        "`$.metadata.ownerReferences`",
        id="owner-references-object",
    ),
    pytest.param(
        "apps",
        "Deployment",
        {"spec": {"template": {"spec": {"initContainers": [{"restartPolicy": True}]}}}},
        "the object is not a valid Deployment: Expected `str | null`, got `bool` - at "
        "`$.spec.template.spec.initContainers[0].restartPolicy`",
        id="restart-policy-bool",
    ),
    pytest.param(
        "batch",
        "CronJob",
        {"spec": {"jobTemplate": "report"}},
        "the object is not a valid CronJob: Expected `object | null`, got `str` - at "
        "`$.spec.jobTemplate`",
        id="job-template-string",
    ),
    pytest.param(
        "",
        "PodTemplate",
        {"template": []},
        "the object is not a valid PodTemplate: Expected `object`, got `array` - at `$.template`",
        id="pod-template-list",
    ),
    pytest.param(
        "",
        "Pod",
        ["not", "an", "object"],
        "the object is not a valid Pod: Expected `object`, got `array`",
        id="array",
    ),
]


@pytest.mark.parametrize(("group", "kind", "obj", "message"), INVALID)
def test_objects_with_wrong_types_raise_invalid_object_error(
    group: str, kind: str, obj: Any, message: str
) -> None:
    with pytest.raises(InvalidObjectError) as caught:
        extract(group, kind, obj)

    assert str(caught.value) == message


def test_bytes_that_are_not_json_raise_invalid_object_error() -> None:
    with pytest.raises(InvalidObjectError, match=r"^the object is not a valid Deployment: "):
        extract("apps", "Deployment", b"{not json")


@pytest.mark.parametrize(
    ("group", "kind", "handled"),
    [
        ("", "Pod", True),
        ("", "PodTemplate", True),
        ("", "ReplicationController", True),
        ("apps", "Deployment", True),
        ("apps", "ReplicaSet", True),
        ("apps", "StatefulSet", True),
        ("apps", "DaemonSet", True),
        ("batch", "Job", True),
        ("batch", "CronJob", True),
        ("", "ConfigMap", False),
        ("", "Service", False),
        ("extensions", "Deployment", False),
        ("apps", "Pod", False),
        ("", "Deployment", False),
        ("argoproj.io", "Rollout", False),
        ("autoscaling", "Scale", False),
        ("", "PodExecOptions", False),
        ("", "pod", False),
    ],
)
def test_handles_exactly_the_workload_kinds(group: str, kind: str, handled: bool) -> None:
    assert handles(group, kind) is handled
    assert ((group, kind) in WORKLOAD_KINDS) is handled


def test_workload_kinds_are_the_nine_pod_carrying_kinds() -> None:
    assert len(WORKLOAD_KINDS) == 9


def test_image_volumes_are_images_too_named_apart_from_containers() -> None:
    pod = {
        "metadata": {"name": "inference"},
        "spec": {
            "containers": [{"name": "models", "image": f"ghcr.io/acme/server@{DIGEST}"}],
            "volumes": [
                {"name": "cache", "emptyDir": {}},
                {"name": "models", "image": {"reference": "quay.io/acme/weights:v3"}},
                {"name": "empty", "image": {}},
            ],
        },
    }
    workload = extract("", "Pod", pod)
    container, volume, empty = workload.containers
    assert (container.name, container.type, container.described) == (
        "models",
        ContainerType.CONTAINER,
        "",
    )
    assert volume.name == "volumes/models"  # never the same as a container's name
    assert volume.type is ContainerType.IMAGE_VOLUME
    assert volume.image == "quay.io/acme/weights:v3"
    assert volume.reference is not None
    assert volume.reference.repository == "quay.io/acme/weights"
    assert volume.path == "/spec/volumes/1/image/reference"
    assert volume.described == "image volume 'models'"
    assert (empty.reference, empty.problem) == (None, "the image volume names no image reference")


def test_image_volumes_of_a_template_are_read_where_a_patch_would_go() -> None:
    deployment = {
        "metadata": {"name": "web"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [{"name": "app", "image": f"ghcr.io/acme/web@{DIGEST}"}],
                    "volumes": [
                        {"name": "assets", "image": {"reference": "ghcr.io/acme/assets:1"}}
                    ],
                }
            }
        },
    }
    (_, volume) = extract("apps", "Deployment", deployment).containers
    assert volume.path == "/spec/template/spec/volumes/0/image/reference"
