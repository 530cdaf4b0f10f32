"""decide(): allow or deny a request, and the records an allowed one causes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from imagegate.admission import (
    DEFAULT_TEMPLATE,
    AdmissionContext,
    Decision,
    DeploymentNameTemplate,
    MalformedReviewError,
    decide,
    workload_of,
)
from imagegate.policy import CompiledPolicy, Mode, Violation, baseline_policy
from imagegate.tracking import (
    Artifact,
    DeploymentKey,
    Kind,
    Origin,
    Platform,
    RecordRequest,
    Status,
)
from imagegate.workloads import WorkloadIdentity
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
    Review,
    as_delete,
    as_update,
    load,
    request_of,
    with_dry_run,
    with_images,
    with_metadata,
    with_operation,
    with_pod_spec,
    with_request,
)

NOW = datetime(2024, 3, 14, 9, 26, 53, tzinfo=UTC)
CLUSTER = "prod-eu-1"
UNTOUCHED = Decision(allowed=True)


def context(
    *,
    mode: Mode = Mode.ENFORCE,
    logical_environment: str = "staging",
    template: str = DEFAULT_TEMPLATE,
    default_platform: Platform | None = None,
) -> AdmissionContext:
    return AdmissionContext(
        cluster=CLUSTER,
        logical_environment=logical_environment,
        name_template=DeploymentNameTemplate(template),
        default_platform=default_platform or Platform(),
        policies=policies_for(mode),
        now=NOW,
    )


def policies_for(mode: Mode) -> tuple[CompiledPolicy, ...]:
    baseline = baseline_policy(mode)
    return (baseline,) if baseline is not None else ()


def judge(review: Review, **context_args: Any) -> Decision:
    built = context(**context_args)
    request = request_of(review)
    workload = workload_of(request, default_platform=built.default_platform)
    return decide(request=request, workload=workload, context=built)


def names(decision: Decision) -> list[str]:
    return [record.key.deployment_name for record in decision.records]


def p(text: str) -> Platform:
    os, architecture, *variant = text.split("/")
    return Platform(os=os, architecture=architecture, variant=variant[0] if variant else None)


def artifact(repository: str, image: str, tag: str | None) -> Artifact:
    return Artifact(repository=repository, digest=image.rpartition("@")[2], tag=tag)


ARTIFACTS = {
    "shell": artifact("registry.example.com/platform/toolbox", TOOLBOX, "2.3.1"),
    "fetch-config": artifact("docker.io/library/busybox", BUSYBOX, "1.36"),
    "log-shipper": artifact("ghcr.io/acme/log-shipper", LOG_SHIPPER, "v0.9.4"),
    "checkout": artifact("registry.example.com/shop/checkout", CHECKOUT, "1.14.2"),
    "wait-for-db": artifact("docker.io/library/busybox", BUSYBOX_LEGACY_HOST, "1.36"),
    "envoy": artifact("docker.io/envoyproxy/envoy", ENVOY, "v1.30.1"),
    "postgres": artifact("docker.io/library/postgres", POSTGRES, "16.2"),
    "metrics": artifact(
        "quay.io/prometheuscommunity/postgres-exporter", POSTGRES_EXPORTER, "v0.15.0"
    ),
    "node-exporter": artifact("quay.io/prometheus/node-exporter", NODE_EXPORTER, "v1.7.0"),
    "migrate": artifact("registry.example.com/payments/migrations", MIGRATIONS, None),
    "report": artifact("registry.example.com/finance/report", REPORT, "2024.03"),
    "frontend": artifact("registry.example.com:5000/legacy/frontend", FRONTEND, "3.1"),
    "worker": artifact("registry.example.com/batch/worker", WORKER, "5.0.0"),
    "debugger-x7k2p": artifact("docker.io/library/busybox", DEBUGGER, None),
}


def key(name: str, logical_environment: str = "staging") -> DeploymentKey:
    return DeploymentKey(
        environment=CLUSTER,
        logical_environment=logical_environment,
        deployment_name=name,
        kind=Kind.CONTAINER_IMAGE,
    )


def deployed(name: str, container: str, platform: str = "linux/amd64") -> RecordRequest:
    return RecordRequest(
        key=key(name),
        artifact=ARTIFACTS[container],
        platform=p(platform),
        status=Status.DEPLOYED,
        observed_at=NOW,
        origin=Origin.ADMISSION,
    )


def decommissioned(name: str) -> RecordRequest:
    return RecordRequest(
        key=key(name),
        artifact=None,
        platform=None,
        status=Status.DECOMMISSIONED,
        observed_at=NOW,
        origin=Origin.ADMISSION,
    )


TOOLBOX_RECORDS = [
    deployed("payments/toolbox/shell", "shell"),
    deployed("payments/toolbox/fetch-config", "fetch-config"),
    deployed("payments/toolbox/log-shipper", "log-shipper"),
]
CHECKOUT_RECORDS = [
    deployed("shop/checkout/checkout", "checkout"),
    deployed("shop/checkout/wait-for-db", "wait-for-db"),
    deployed("shop/checkout/envoy", "envoy"),
]
LEDGER_RECORDS = [
    deployed("payments/ledger-db/postgres", "postgres"),
    deployed("payments/ledger-db/metrics", "metrics"),
]
REPORT_RECORDS = [deployed("finance/report/report", "report")]

EVERY_KIND = [
    pytest.param("pod", TOOLBOX_RECORDS, id="Pod"),
    pytest.param("pod-of-replicaset", CHECKOUT_RECORDS, id="Pod-of-RS-as-Deployment"),
    pytest.param("pod-of-statefulset", LEDGER_RECORDS, id="Pod-of-StatefulSet"),
    pytest.param("pod-of-job", [], id="Pod-of-Job-not-recorded"),
    pytest.param("deployment", CHECKOUT_RECORDS, id="Deployment"),
    pytest.param("replicaset-of-deployment", CHECKOUT_RECORDS, id="ReplicaSet-as-Deployment"),
    pytest.param("statefulset", LEDGER_RECORDS, id="StatefulSet"),
    pytest.param(
        "daemonset",
        [
            deployed("monitoring/node-exporter/node-exporter@linux/amd64", "node-exporter"),
            deployed(
                "monitoring/node-exporter/node-exporter@linux/arm64", "node-exporter", "linux/arm64"
            ),
        ],
        id="DaemonSet-two-platforms",
    ),
    pytest.param("job", [deployed("payments/db-migrate-v42/migrate", "migrate")], id="Job"),
    pytest.param("job-of-cronjob", REPORT_RECORDS, id="Job-as-CronJob"),
    pytest.param("cronjob", REPORT_RECORDS, id="CronJob"),
    pytest.param(
        "replicationcontroller",
        [deployed("legacy/frontend/frontend", "frontend")],
        id="ReplicationController",
    ),
    pytest.param(
        "podtemplate",
        [deployed("batch/worker-template/worker", "worker", "linux/arm64")],
        id="PodTemplate",
    ),
]


@pytest.mark.parametrize(("fixture", "expected"), EVERY_KIND)
def test_create_with_pinned_images_is_allowed_and_recorded(
    fixture: str, expected: list[RecordRequest]
) -> None:
    decision = judge(load(fixture))

    assert decision.allowed is True
    assert decision.code == 200
    assert decision.message is None
    assert decision.warnings == ()
    assert decision.violations == ()
    assert decision.unrecorded == ()
    assert decision.judged is True
    assert decision.records == tuple(expected)


@pytest.mark.parametrize(
    ("fixture", "identity"),
    [
        ("pod-of-replicaset", WorkloadIdentity("Deployment", "checkout", "shop", owned=True)),
        ("job-of-cronjob", WorkloadIdentity("CronJob", "report", "finance", owned=True)),
        ("pod-of-job", WorkloadIdentity("Job", "report-28512000", "finance", owned=True)),
        ("deployment", WorkloadIdentity("Deployment", "checkout", "shop", owned=False)),
    ],
)
def test_the_decision_carries_the_attributed_workload(
    fixture: str, identity: WorkloadIdentity
) -> None:
    workload = judge(load(fixture)).workload

    assert workload is not None
    assert workload.identity == identity


def test_the_logical_environment_comes_from_the_context() -> None:
    decision = judge(load("deployment"), logical_environment="qa-3")

    assert {record.key.logical_environment for record in decision.records} == {"qa-3"}
    assert {record.key.environment for record in decision.records} == {CLUSTER}


@pytest.mark.parametrize(
    ("fixture", "template", "expected"),
    [
        pytest.param(
            "pod-of-replicaset",
            "{cluster}/{kind}/{namespace}/{workload}/{container}",
            "prod-eu-1/deployment/shop/checkout/checkout",
            id="pod-attributed-to-deployment",
        ),
        pytest.param(
            "job-of-cronjob",
            "{cluster}/{kind}/{namespace}/{workload}/{container}",
            "prod-eu-1/cronjob/finance/report/report",
            id="job-attributed-to-cronjob",
        ),
        pytest.param(
            "replicationcontroller",
            "{kind}:{workload}.{container}",
            "replicationcontroller:frontend.frontend",
            id="kind-lower-case",
        ),
        pytest.param("deployment", "{container}", "checkout", id="container-only"),
    ],
)
def test_deployment_names_follow_the_template(fixture: str, template: str, expected: str) -> None:
    assert names(judge(load(fixture), template=template))[0] == expected


def test_several_platforms_get_one_record_each_with_the_platform_suffix() -> None:
    decision = judge(load("daemonset"), default_platform=p("linux/arm64/v8"))

    assert names(decision) == [
        "monitoring/node-exporter/node-exporter@linux/amd64",
        "monitoring/node-exporter/node-exporter@linux/arm64/v8",
    ]
    assert [record.platform for record in decision.records] == [
        p("linux/amd64"),
        p("linux/arm64/v8"),
    ]


def test_one_platform_gets_no_suffix_and_its_platform_is_recorded() -> None:
    decision = judge(load("pod"), default_platform=p("linux/arm/v7"))

    assert names(decision)[0] == "payments/toolbox/shell"
    assert {record.platform for record in decision.records} == {p("linux/arm/v7")}


HEX = "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        pytest.param(
            f"nginx:Latest@sha256:{HEX}",
            Artifact("docker.io/library/nginx", f"sha256:{HEX}", "Latest"),
            id="official-tag-case-kept",
        ),
        pytest.param(
            f"index.docker.io/acme/api@sha256:{HEX}",
            Artifact("docker.io/acme/api", f"sha256:{HEX}", None),
            id="legacy-docker-host",
        ),
        pytest.param(
            f"Registry.Example.COM:5443/team/app:V1.0@sha256:{HEX}",
            Artifact("registry.example.com:5443/team/app", f"sha256:{HEX}", "V1.0"),
            id="host-port-lowered-tag-kept",
        ),
        pytest.param(
            f"localhost:5000/app:dev@sha512:{HEX}{HEX}",
            Artifact("localhost:5000/app", f"sha512:{HEX}{HEX}", "dev"),
            id="sha512",
        ),
    ],
)
def test_artifacts_are_normalised(image: str, expected: Artifact) -> None:
    decision = judge(with_images(load("pod"), {"shell": image}))

    assert decision.records[0].artifact == expected


TAGGED_CHECKOUT = "registry.example.com/shop/checkout:1.14.2"
TAGGED_CHECKOUT_DESCRIPTION = (
    "[default/digest-pinned] container 'checkout' image "
    "'registry.example.com/shop/checkout:1.14.2': the image is not pinned by digest; a tag "
    "can move to another image at any time; fix: use "
    "registry.example.com/shop/checkout:1.14.2@sha256:<digest> (find it with: crane digest "
    "registry.example.com/shop/checkout:1.14.2)"
)


def test_a_tag_only_image_is_denied_in_enforce_mode() -> None:
    decision = judge(with_images(load("deployment"), {"checkout": TAGGED_CHECKOUT}))

    assert decision.allowed is False
    assert decision.code == 403
    assert decision.message == (
        f"imagegate denied Deployment shop/checkout: 1 policy violation: "
        f"{TAGGED_CHECKOUT_DESCRIPTION}"
    )
    assert decision.records == ()
    assert decision.unrecorded == ()
    assert decision.warnings == ()
    assert decision.judged is True
    assert decision.violations == (
        Violation(
            policy="default",
            rule="digest-pinned",
            mode=Mode.ENFORCE,
            container="checkout",
            image=TAGGED_CHECKOUT,
            reason="the image is not pinned by digest; a tag can move to another image at any time",
            fix=(
                "use registry.example.com/shop/checkout:1.14.2@sha256:<digest> "
                "(find it with: crane digest registry.example.com/shop/checkout:1.14.2)"
            ),
        ),
    )


def test_every_violation_is_named_in_the_denial() -> None:
    review = with_images(
        load("deployment"), {"checkout": TAGGED_CHECKOUT, "envoy": "envoyproxy/envoy:v1.30.1"}
    )

    decision = judge(review)

    assert decision.message == (
        "imagegate denied Deployment shop/checkout: 2 policy violations: "
        f"{TAGGED_CHECKOUT_DESCRIPTION}; [default/digest-pinned] container 'envoy' image "
        "'envoyproxy/envoy:v1.30.1': the image is not pinned by digest; a tag can move to "
        "another image at any time; fix: use docker.io/envoyproxy/envoy:v1.30.1@sha256:<digest> "
        "(find it with: crane digest docker.io/envoyproxy/envoy:v1.30.1)"
    )


def test_an_invalid_image_is_denied_with_the_parse_problem() -> None:
    decision = judge(with_images(load("deployment"), {"wait-for-db": ""}))

    assert decision.allowed is False
    assert decision.message == (
        "imagegate denied Deployment shop/checkout: 1 policy violation: [default/digest-pinned] "
        "container 'wait-for-db' image '': the image reference is invalid (the container names "
        "no image); fix: write a valid reference, e.g. "
        "registry.example.com/team/app:1.2@sha256:<digest>"
    )


def test_a_denied_pod_with_generate_name_is_named_by_it() -> None:
    decision = judge(with_images(load("pod-of-replicaset"), {"checkout": TAGGED_CHECKOUT}))

    assert decision.message is not None
    assert decision.message.startswith(
        "imagegate denied Pod shop/checkout-7d4b9c8f5-: 1 policy violation: "
    )


@pytest.mark.parametrize(
    ("fixture", "container"),
    [
        pytest.param("pod-of-job", "report", id="pod-of-job"),
        pytest.param("replicaset-of-deployment", "envoy", id="owned-replicaset"),
    ],
)
def test_owned_objects_are_judged_too(fixture: str, container: str) -> None:
    assert judge(with_images(load(fixture), {container: "nginx:1.25"})).allowed is False
    assert judge(as_update(with_images(load(fixture), {container: "nginx:1.25"}))).allowed is False


def test_a_tag_only_image_is_admitted_with_a_warning_in_audit_mode() -> None:
    decision = judge(
        with_images(load("deployment"), {"checkout": TAGGED_CHECKOUT}), mode=Mode.AUDIT
    )

    assert decision.allowed is True
    assert decision.code == 200
    assert decision.message is None
    # The full line is longer than kube-apiserver shows: the reason goes, the fix stays.
    full = f"imagegate (audit): {TAGGED_CHECKOUT_DESCRIPTION}"
    assert len(full) > 256
    (violation,) = decision.violations
    (warning,) = decision.warnings
    assert warning == f"imagegate (audit): {violation.describe(with_reason=False)}"
    assert len(warning) <= 256
    assert warning.endswith(f"fix: {violation.fix}")
    assert "crane digest" in warning
    assert [violation.mode for violation in decision.violations] == [Mode.AUDIT]
    assert decision.records == tuple(CHECKOUT_RECORDS[1:])
    assert decision.unrecorded == (("checkout", "no digest"),)


def test_an_invalid_image_is_unrecorded_as_such_in_audit_mode() -> None:
    decision = judge(with_images(load("deployment"), {"envoy": "Bad Image"}), mode=Mode.AUDIT)

    assert decision.allowed is True
    assert decision.records == (CHECKOUT_RECORDS[0], CHECKOUT_RECORDS[1])
    assert decision.unrecorded == (("envoy", "invalid image reference"),)
    assert len(decision.warnings) == 1
    assert "container 'envoy' image 'Bad Image'" in decision.warnings[0]


def test_an_unrecorded_container_is_listed_once_across_platforms() -> None:
    decision = judge(
        with_images(
            load("daemonset"), {"node-exporter": "quay.io/prometheus/node-exporter:v1.7.0"}
        ),
        mode=Mode.AUDIT,
    )

    assert decision.records == ()
    assert decision.unrecorded == (("node-exporter", "no digest"),)


def test_a_long_warning_is_cut_to_256_characters() -> None:
    image = "registry.example.com/" + "team/" * 30 + "app:1"

    decision = judge(with_images(load("pod"), {"shell": image}), mode=Mode.AUDIT)

    (warning,) = decision.warnings
    short = f"imagegate (audit): {decision.violations[0].describe(with_reason=False)}"
    assert len(short) > 256  # even without its reason, this one does not fit
    assert len(warning) == 256
    assert warning == short[:255] + "…"


def many_containers(count: int, image: str) -> Review:
    review = load("pod")
    review["request"]["object"]["spec"]["containers"] = [
        {"name": f"c{index:02d}", "image": image.format(index=index)} for index in range(count)
    ]
    return review


def test_many_violations_collapse_into_a_more_violations_line() -> None:
    review = many_containers(40, "registry.example.com/" + "team/" * 20 + "app{index}:1")

    decision = judge(review, mode=Mode.AUDIT)

    warnings = decision.warnings
    assert len(decision.violations) == 40
    assert all(len(warning) <= 256 for warning in warnings)
    assert sum(len(warning) for warning in warnings) <= 4096
    shown = len(warnings) - 1
    assert 1 <= shown < 40
    assert warnings[-1] == f"imagegate (audit): {40 - shown} more violations; see imagegate logs"
    for warning, violation in zip(warnings[:-1], decision.violations, strict=False):
        assert warning.startswith(
            f"imagegate (audit): [default/digest-pinned] container {violation.container!r}"
        )
    assert decision.unrecorded == tuple((f"c{index:02d}", "no digest") for index in range(40))


def test_a_few_short_violations_are_all_shown() -> None:
    decision = judge(many_containers(5, "nginx:1.{index}"), mode=Mode.AUDIT)

    assert len(decision.warnings) == 5
    assert [warning.split("'")[1] for warning in decision.warnings] == [
        "c00",
        "c01",
        "c02",
        "c03",
        "c04",
    ]


def test_off_mode_admits_silently_and_records_what_it_can() -> None:
    decision = judge(with_images(load("deployment"), {"checkout": TAGGED_CHECKOUT}), mode=Mode.OFF)

    assert decision.allowed is True
    assert decision.warnings == ()
    assert decision.violations == ()
    assert decision.message is None
    assert decision.records == tuple(CHECKOUT_RECORDS[1:])
    assert decision.unrecorded == (("checkout", "no digest"),)


@pytest.mark.parametrize(
    ("review", "mode"),
    [
        pytest.param(load("deployment"), Mode.ENFORCE, id="allowed"),
        pytest.param(load("daemonset"), Mode.ENFORCE, id="two-platforms"),
        pytest.param(load("pod-of-replicaset"), Mode.ENFORCE, id="owned-pod"),
        pytest.param(
            with_images(load("deployment"), {"checkout": TAGGED_CHECKOUT}), Mode.ENFORCE, id="deny"
        ),
        pytest.param(
            with_images(load("deployment"), {"checkout": TAGGED_CHECKOUT}), Mode.AUDIT, id="audit"
        ),
        pytest.param(as_update(load("statefulset")), Mode.ENFORCE, id="update"),
    ],
)
def test_dry_run_decides_the_same_but_records_nothing(review: Review, mode: Mode) -> None:
    real = judge(review, mode=mode)
    dry = judge(with_dry_run(review), mode=mode)

    assert dry.records == ()
    assert dry.unrecorded == ()
    assert (dry.allowed, dry.code, dry.message, dry.warnings, dry.violations, dry.judged) == (
        real.allowed,
        real.code,
        real.message,
        real.warnings,
        real.violations,
        real.judged,
    )
    assert dry.workload == real.workload


def test_dry_run_delete_records_nothing() -> None:
    decision = judge(with_dry_run(load("deployment-delete")))

    assert decision.allowed is True
    assert decision.judged is True
    assert decision.records == ()


def test_deleting_a_deployment_decommissions_each_container() -> None:
    decision = judge(load("deployment-delete"))

    assert decision.allowed is True
    assert decision.judged is True
    assert decision.records == (
        decommissioned("shop/checkout/checkout"),
        decommissioned("shop/checkout/wait-for-db"),
        decommissioned("shop/checkout/envoy"),
    )


def test_a_delete_is_never_denied() -> None:
    review = with_images(
        load("deployment-delete"), {"checkout": TAGGED_CHECKOUT, "envoy": ""}, field="oldObject"
    )

    decision = judge(review)

    assert decision.allowed is True
    assert decision.violations == ()
    assert names(decision) == [
        "shop/checkout/checkout",
        "shop/checkout/wait-for-db",
        "shop/checkout/envoy",
    ]


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        pytest.param(
            "daemonset",
            [
                "monitoring/node-exporter/node-exporter@linux/amd64",
                "monitoring/node-exporter/node-exporter@linux/arm64",
            ],
            id="daemonset-per-platform",
        ),
        pytest.param("job", ["payments/db-migrate-v42/migrate"], id="standalone-job"),
        pytest.param("cronjob", ["finance/report/report"], id="cronjob"),
        pytest.param("pod", [r.key.deployment_name for r in TOOLBOX_RECORDS], id="standalone-pod"),
        pytest.param("pod-of-replicaset", [], id="owned-pod"),
        pytest.param("pod-of-statefulset", [], id="statefulset-pod"),
        pytest.param("replicaset-of-deployment", [], id="owned-replicaset"),
        pytest.param("job-of-cronjob", [], id="job-of-cronjob"),
    ],
)
def test_delete_decommissions_top_level_workloads_only(fixture: str, expected: list[str]) -> None:
    decision = judge(as_delete(load(fixture)))

    assert decision.allowed is True
    assert decision.judged is True
    assert names(decision) == expected
    assert all(record.status is Status.DECOMMISSIONED for record in decision.records)
    assert all(record.artifact is None and record.platform is None for record in decision.records)


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        pytest.param("replicaset-of-deployment", [], id="owned-replicaset"),
        pytest.param("pod-of-replicaset", [], id="owned-pod"),
        pytest.param("pod-of-statefulset", [], id="statefulset-pod"),
        pytest.param("job-of-cronjob", [], id="job-of-cronjob"),
        pytest.param("deployment", CHECKOUT_RECORDS, id="top-level-deployment"),
        pytest.param("statefulset", LEDGER_RECORDS, id="top-level-statefulset"),
    ],
)
def test_updates_record_top_level_workloads_only(
    fixture: str, expected: list[RecordRequest]
) -> None:
    decision = judge(as_update(load(fixture)))

    assert decision.allowed is True
    assert decision.judged is True
    assert decision.records == tuple(expected)


def test_a_pod_of_a_replicaset_not_named_after_its_hash_is_recorded_under_the_replicaset() -> None:
    owner = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": "checkout-canary",
        "uid": "8e1d2c3b-4a5f-4c6d-8e7f-9a0b1c2d3e4f",
        "controller": True,
    }
    review = with_metadata(load("pod-of-replicaset"), ownerReferences=[owner])

    assert names(judge(review))[0] == "shop/checkout-canary/checkout"


@pytest.mark.parametrize(
    "review",
    [
        pytest.param(load("pod-exec"), id="exec"),
        pytest.param(with_operation(load("pod"), "CONNECT"), id="connect-on-a-pod"),
        pytest.param(
            with_images(with_operation(load("pod"), "CONNECT"), {"shell": "nginx"}),
            id="connect-tag-only",
        ),
    ],
)
def test_connect_is_left_untouched(review: Review) -> None:
    decision = judge(review)

    assert decision == UNTOUCHED
    assert decision.judged is False


@pytest.mark.parametrize(
    "review",
    [
        pytest.param(load("deployment-status"), id="deployment-status"),
        pytest.param(
            with_images(load("deployment-status"), {"checkout": TAGGED_CHECKOUT}),
            id="status-with-tag-only-image",
        ),
        pytest.param(load("deployment-scale"), id="deployment-scale"),
        pytest.param(
            with_request(load("deployment"), operation="UPDATE", subResource="scale"),
            id="scale-of-a-deployment-kind",
        ),
        pytest.param(with_request(as_update(load("pod")), subResource="status"), id="pod-status"),
        pytest.param(
            with_request(as_delete(load("deployment")), subResource="status"), id="delete-status"
        ),
    ],
)
def test_other_subresources_are_left_untouched(review: Review) -> None:
    decision = judge(review)

    assert decision == UNTOUCHED
    assert decision.judged is False


def test_the_ephemeralcontainers_subresource_is_judged_and_recorded() -> None:
    decision = judge(load("pod-ephemeralcontainers"))

    assert decision.judged is True
    assert decision.allowed is True
    assert decision.records == (
        *TOOLBOX_RECORDS,
        deployed("payments/toolbox/debugger-x7k2p", "debugger-x7k2p"),
    )


def test_a_tag_only_debug_container_is_denied() -> None:
    review = with_images(load("pod-ephemeralcontainers"), {"debugger-x7k2p": "busybox:1.36"})

    decision = judge(review)

    assert decision.allowed is False
    assert decision.message is not None
    assert decision.message.startswith(
        "imagegate denied Pod payments/toolbox: 1 policy violation: [default/digest-pinned] "
        "container 'debugger-x7k2p' image 'busybox:1.36': "
    )


def weird(review: Review, obj: Any) -> Review:
    return with_request(review, object=obj)


@pytest.mark.parametrize(
    "review",
    [
        pytest.param(load("configmap"), id="configmap"),
        pytest.param(load("rollout"), id="crd-with-a-pod-template"),
        pytest.param(weird(load("configmap"), "garbage"), id="object-string"),
        pytest.param(weird(load("configmap"), [1, 2]), id="object-list"),
        pytest.param(weird(load("configmap"), None), id="object-null"),
        pytest.param(with_request(load("configmap"), object=...), id="object-absent"),
        pytest.param(
            weird(load("rollout"), {"spec": {"template": {"spec": {"containers": "x"}}}}),
            id="crd-wrong-types",
        ),
        pytest.param(as_delete(load("rollout")), id="crd-delete"),
        pytest.param(with_operation(load("configmap"), "PATCH"), id="unknown-operation"),
        pytest.param(
            with_request(
                load("deployment"),
                kind={"group": "extensions", "version": "v1beta1", "kind": "Deployment"},
            ),
            id="deployment-of-another-group",
        ),
    ],
)
def test_unhandled_kinds_are_left_untouched(review: Review) -> None:
    assert judge(review) == UNTOUCHED


@pytest.mark.parametrize(
    ("review", "message"),
    [
        pytest.param(
            with_request(load("deployment"), object=...),
            "request.object is missing for a CREATE of Deployment",
            id="create-absent",
        ),
        pytest.param(
            with_request(load("deployment"), object=None),
            "request.object is missing for a CREATE of Deployment",
            id="create-null",
        ),
        pytest.param(
            with_request(as_update(load("pod")), object=None),
            "request.object is missing for a UPDATE of Pod",
            id="update-null",
        ),
        pytest.param(
            with_request(load("deployment-delete"), oldObject=None),
            "request.oldObject is missing for a DELETE of Deployment",
            id="delete-null",
        ),
        pytest.param(
            with_request(load("deployment-delete"), oldObject=...),
            "request.oldObject is missing for a DELETE of Deployment",
            id="delete-absent",
        ),
    ],
)
def test_a_missing_object_is_malformed(review: Review, message: str) -> None:
    with pytest.raises(MalformedReviewError) as caught:
        judge(review)

    assert caught.value.reason == "no_object"
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("review", "message"),
    [
        pytest.param(
            with_request(
                load("deployment"),
                object={"spec": {"template": {"spec": {"containers": "checkout"}}}},
            ),
            "request.object: the object is not a valid Deployment: Expected `array`, got `str` - "
            "at `$.spec.template.spec.containers`",
            id="containers-string",
        ),
        pytest.param(
            weird(load("pod"), "toolbox"),
            "request.object: the object is not a valid Pod: Expected `object`, got `str`",
            id="object-string",
        ),
        pytest.param(
            with_request(load("deployment-delete"), oldObject={"metadata": {"name": 1}}),
            "request.oldObject: the object is not a valid Deployment: Expected `str`, got `int` - "
            "at `$.metadata.name`",
            id="old-object-on-delete",
        ),
    ],
)
def test_an_object_of_a_handled_kind_with_wrong_types_is_malformed(
    review: Review, message: str
) -> None:
    with pytest.raises(MalformedReviewError) as caught:
        judge(review)

    assert caught.value.reason == "invalid_object"
    assert caught.value.message == message


@pytest.mark.parametrize("operation", ["PATCH", "create", "GET", ""])
def test_an_unknown_operation_on_a_handled_kind_is_malformed(operation: str) -> None:
    with pytest.raises(MalformedReviewError) as caught:
        judge(with_operation(load("deployment"), operation))

    assert caught.value.reason == "unknown_operation"
    assert caught.value.message == f"unknown operation {operation!r}"


def test_a_pod_that_can_never_be_scheduled_is_admitted_but_not_recorded() -> None:
    arch, beta_arch = "kubernetes.io/arch", "beta.kubernetes.io/arch"
    review = with_pod_spec(load("deployment"), nodeSelector={arch: "arm64", beta_arch: "amd64"})

    decision = judge(review)

    assert decision.allowed is True
    assert decision.records == ()
    assert decision.workload is not None
    names = [container.name for container in decision.workload.containers]
    assert decision.unrecorded == tuple((name, "no schedulable platform") for name in names)


def test_an_image_volume_is_judged_like_a_container() -> None:
    volumes = [{"name": "models", "image": {"reference": "quay.io/acme/weights:v3"}}]
    decision = judge(with_pod_spec(load("deployment"), volumes=volumes))
    assert decision.allowed is False
    assert decision.message is not None
    assert (
        "[default/digest-pinned] image volume 'models' image 'quay.io/acme/weights:v3': "
        "the image is not pinned by digest"
    ) in decision.message
    assert decision.records == ()


def test_an_admitted_image_volume_is_recorded_under_its_own_name() -> None:
    weights = "quay.io/acme/weights:v3@sha256:" + "e5" * 32
    volumes = [{"name": "models", "image": {"reference": weights}}]
    decision = judge(with_pod_spec(load("deployment"), volumes=volumes))
    assert decision.allowed is True
    recorded = {
        request.key.deployment_name: request.artifact.reference
        for request in decision.records
        if request.artifact is not None
    }
    assert recorded["shop/checkout/volumes/models"] == weights
    assert "shop/checkout/checkout" in recorded  # the containers' records are unchanged


def test_a_name_longer_than_a_deployment_name_may_be_is_shortened_not_parked() -> None:
    workload = "w" * 240
    review = with_metadata(load("deployment"), name=workload)
    first = judge(review)
    again = judge(review)
    names = [request.key.deployment_name for request in first.records]
    assert first.allowed is True
    assert first.unrecorded == ()
    assert names == [request.key.deployment_name for request in again.records]
    assert all(len(name) <= 253 for name in names)
    assert all(name.startswith(f"shop/{workload[:100]}") for name in names)
    assert len(set(names)) == len(names), "each container keeps a name of its own"


def test_the_platforms_of_one_container_are_bounded_by_what_nodes_can_be() -> None:
    architectures = ["amd64", "arm64"] + [f"made-up-{number}" for number in range(2_000)]
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {
                                "key": "kubernetes.io/arch",
                                "operator": "In",
                                "values": architectures,
                            }
                        ]
                    }
                ]
            }
        }
    }
    decision = judge(with_pod_spec(load("deployment"), affinity=affinity))
    platforms = {str(request.platform) for request in decision.records}
    assert platforms == {"linux/amd64", "linux/arm64"}


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        (f"nginx@sha256:{HEX.upper()}", "a digest in an image reference is written in lower case"),
        (f"GHCR.IO/Acme/Web@sha256:{HEX}", "repository path component 'Acme'"),
    ],
)
def test_an_upper_case_reference_is_denied_with_the_reason(image: str, reason: str) -> None:
    decision = judge(with_images(load("deployment"), {"envoy": image}))

    assert decision.allowed is False
    assert decision.message is not None
    assert f"container 'envoy' image '{image}'" in decision.message
    assert reason in decision.message
    assert decision.records == ()
