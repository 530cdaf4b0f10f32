"""The engine: which policies apply where, all their violations, the facts they need,
and the tag pinning (pin_patch) the mutating webhook answers with."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from http import HTTPStatus

import pytest

from imagegate.admission import ContainerFacts, JsonPatch, pin_patch, workload_of
from imagegate.policy import (
    CompiledPolicy,
    Mode,
    Need,
    Target,
    Unavailable,
    baseline_policy,
    matching,
    needs_of,
)
from unit.admission.reviews import Review, load, object_of, request_of, with_images
from unit.policy.policy_support import (
    CLUSTER,
    DIGEST,
    NAMESPACE,
    OUTAGE,
    PINNED,
    TAGGED,
    TARGET,
    Json,
    admit,
    apply_patch,
    container,
    context,
    decide_review,
    image_facts,
    judge,
    policy,
    subject,
)

EVERYWHERE = [
    TARGET,
    Target(environment="dev-1", logical_environment="dev", namespace="team-a"),
    Target(environment="x", logical_environment="y", namespace="z", namespace_labels={"a": "b"}),
]


def default(mode: Mode = Mode.ENFORCE) -> CompiledPolicy:
    """The built-in policy: digest-pinned in ``mode``."""
    baseline = baseline_policy(mode)
    assert baseline is not None
    return baseline


# --- matching ---------------------------------------------------------------------


@pytest.mark.parametrize("target", EVERYWHERE)
def test_a_policy_without_match_applies_everywhere(target: Target) -> None:
    assert matching([policy("- rule: digest-pinned")], target) != []


@pytest.mark.parametrize("target", EVERYWHERE)
def test_an_empty_match_applies_everywhere(target: Target) -> None:
    empty = "logicalEnvironments: []\nenvironments: []\nnamespaces: []\nnamespaceLabels: {}"
    assert matching([policy("- rule: digest-pinned", match=empty)], target) != []


def at(
    *,
    environment: str = CLUSTER,
    logical_environment: str = "production",
    namespace: str = NAMESPACE,
    labels: Mapping[str, str] | None = None,
) -> Target:
    return Target(
        environment=environment,
        logical_environment=logical_environment,
        namespace=namespace,
        namespace_labels=dict(labels or {}),
    )


def applies(match: str, where: Target) -> bool:
    return matching([policy("- rule: digest-pinned", match=match)], where) != []


def test_match_logical_environments() -> None:
    match = "logicalEnvironments: [production, staging]"
    assert applies(match, at(logical_environment="production"))
    assert applies(match, at(logical_environment="staging"))
    assert not applies(match, at(logical_environment="dev"))


def test_match_environments_names_clusters_exactly() -> None:
    match = "environments: [prod-eu-1, 'prod-*']"
    assert applies(match, at(environment="prod-eu-1"))
    assert not applies(match, at(environment="prod-us-1"))  # no globs here
    assert applies(match, at(environment="prod-*"))


@pytest.mark.parametrize(
    ("namespace", "expected"),
    [
        ("shop", True),
        ("team-a", True),
        ("team-payments", True),
        ("team", False),
        ("shop-2", False),
        ("kube-system", False),
        ("tenant-a-web", True),
        ("tenant-ab-web", False),
    ],
)
def test_match_namespaces_with_globs(namespace: str, expected: bool) -> None:
    match = "namespaces: [shop, 'team-*', 'tenant-?-web']"
    assert applies(match, at(namespace=namespace)) is expected


def test_match_namespace_labels_all_with_their_values() -> None:
    match = "namespaceLabels: {tier: critical, team: payments}"
    both = {"tier": "critical", "team": "payments", "other": "x"}
    assert applies(match, at(labels=both))
    assert not applies(match, at(labels={"tier": "critical"}))
    assert not applies(match, at(labels={"tier": "critical", "team": "shop"}))
    assert not applies(match, at(labels={}))  # labels not known: the policy does not apply


def test_match_criteria_all_apply() -> None:
    match = "logicalEnvironments: [production]\nnamespaces: ['team-*']"
    assert applies(match, at(namespace="team-a"))
    assert not applies(match, at(namespace="team-a", logical_environment="staging"))
    assert not applies(match, at(namespace="shop"))


def test_matching_keeps_the_order_of_the_policies() -> None:
    policies = [
        policy("- rule: no-latest", name="b"),
        policy("- rule: no-latest", name="skipped", match="logicalEnvironments: [dev]"),
        policy("- rule: no-latest", name="a"),
    ]
    assert [p.name for p in matching(policies, TARGET)] == ["b", "a"]


def test_a_policy_that_does_not_match_judges_nothing() -> None:
    elsewhere = policy("- rule: digest-pinned", match="namespaces: [payments]")
    evaluation = judge(elsewhere, subject(TAGGED))
    assert evaluation.violations == ()
    assert evaluation.excepted == ()


# --- several policies -------------------------------------------------------------


def test_every_matching_policy_reports_its_violations() -> None:
    policies = [
        default(),
        policy("- rule: no-latest\n- {rule: allowed-registries, patterns: ['example.com/**']}"),
        policy("- rule: digest-pinned", name="staging-rules", mode="audit"),
    ]
    evaluation = judge(policies, subject("ghcr.io/acme/web:latest"))
    assert [(v.policy, v.rule, v.mode) for v in evaluation.violations] == [
        ("default", "digest-pinned", Mode.ENFORCE),
        ("test-policy", "no-latest", Mode.ENFORCE),
        ("test-policy", "allowed-registries", Mode.ENFORCE),
        ("staging-rules", "digest-pinned", Mode.AUDIT),
    ]


def test_violations_are_reported_per_policy_then_container_then_rule() -> None:
    rules = "- rule: digest-pinned\n- rule: no-latest"
    first = subject(container("ghcr.io/acme/web:latest", name="web"))
    second = subject(container("ghcr.io/acme/proxy", name="proxy"))
    evaluation = judge([policy(rules, name="one"), policy(rules, name="two")], first, second)
    assert [(v.policy, v.container, v.rule) for v in evaluation.violations] == [
        ("one", "web", "digest-pinned"),
        ("one", "web", "no-latest"),
        ("one", "proxy", "digest-pinned"),
        ("one", "proxy", "no-latest"),
        ("two", "web", "digest-pinned"),
        ("two", "web", "no-latest"),
        ("two", "proxy", "digest-pinned"),
        ("two", "proxy", "no-latest"),
    ]


def test_a_denial_lists_every_enforced_violation_and_warns_of_audited_ones() -> None:
    policies = [
        policy("- rule: digest-pinned\n- rule: no-latest", name="production"),
        policy(
            "- {rule: allowed-registries, patterns: ['registry.example.com/**']}",
            name="registries",
            mode="audit",
        ),
    ]
    image = "ghcr.io/acme/web:latest"
    decision = admit(policies, subject(image))
    assert not decision.allowed
    assert decision.code == HTTPStatus.FORBIDDEN
    assert decision.message == (
        "imagegate denied Pod shop/web: 2 policy violations: "
        f"[production/digest-pinned] container 'app' image '{image}': the image is not pinned "
        "by digest; a tag can move to another image at any time; fix: use "
        "ghcr.io/acme/web:latest@sha256:<digest> (find it with: crane digest "
        "ghcr.io/acme/web:latest); "
        f"[production/no-latest] container 'app' image '{image}': the image uses the latest "
        "tag, which names whatever was pushed last; fix: use a version tag and its digest, "
        "e.g. ghcr.io/acme/web:1.2.3@sha256:<digest>"
    )
    assert decision.warnings == (
        f"imagegate (audit): [registries/allowed-registries] container 'app' image '{image}': "
        "repository ghcr.io/acme/web is not in the allowed registries "
        "(registry.example.com/**); fix: use an image from registry.example.com/**",
    )


# --- needs_of ---------------------------------------------------------------------


def test_needs_of_is_the_union_of_the_policies_needs() -> None:
    policies = [
        policy("- rule: digest-pinned", name="a"),
        policy("- rule: platform-available", name="b"),
        policy("- {rule: severity-threshold, severity: high}", name="c"),
    ]
    assert needs_of(policies[:1]) == frozenset()
    assert needs_of(policies[:2]) == {Need.REGISTRY}
    assert needs_of(policies) == {Need.REGISTRY, Need.EVIDENCE}
    assert needs_of([*policies[1:], policy("- rule: no-new-vulnerabilities", name="d")]) == set(
        Need
    )


def test_needs_of_nothing_is_nothing() -> None:
    assert needs_of([]) == frozenset()
    assert needs_of([default()]) == frozenset()


def test_needs_of_the_matching_policies_only() -> None:
    policies = [
        policy("- rule: digest-pinned", name="everywhere"),
        policy("- rule: scanned", name="staging", match="logicalEnvironments: [staging]"),
    ]
    assert needs_of(matching(policies, TARGET)) == frozenset()
    staging = at(logical_environment="staging")
    assert needs_of(matching(policies, staging)) == {Need.EVIDENCE}


# --- pin_patch --------------------------------------------------------------------

PIN = policy("- rule: pin-tags", name="pin")


def tag_only(image: str) -> str:
    return image.partition("@")[0]


def images_of(obj: Json) -> dict[str, str]:
    """Container name → image, for every container of the pod spec in ``obj``."""
    kind = obj["kind"]
    if kind == "Pod":
        spec = obj["spec"]
    elif kind == "PodTemplate":
        spec = obj["template"]["spec"]
    elif kind == "CronJob":
        spec = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    else:
        spec = obj["spec"]["template"]["spec"]
    return {
        container["name"]: container["image"]
        for key in ("containers", "initContainers", "ephemeralContainers")
        for container in spec.get(key, [])
    }


def digest_of(index: int) -> str:
    return f"sha256:{index + 1:064x}"


def unpinned(fixture: str) -> tuple[Review, dict[str, ContainerFacts], dict[str, str]]:
    """The fixture with every image tag-only, registry facts for each container, and the
    digest each container's tag resolves to."""
    review = load(fixture)
    images = images_of(object_of(review))
    review = with_images(review, {name: tag_only(image) for name, image in images.items()})
    digests = {name: digest_of(index) for index, name in enumerate(images)}
    facts = {
        name: ContainerFacts(registry=image_facts(digest=digest))
        for name, digest in digests.items()
    }
    return review, facts, digests


def patch_of(
    review: Review,
    policies: Sequence[CompiledPolicy] = (PIN,),
    facts: Mapping[str, ContainerFacts] | None = None,
) -> list[JsonPatch]:
    """What the mutating webhook answers to ``review``."""
    built = context(policies, facts)
    workload = workload_of(request_of(review), default_platform=built.default_platform)
    return pin_patch(workload=workload, context=built)


def with_object(review: Review, obj: Json) -> Review:
    changed = copy.deepcopy(review)
    changed["request"]["object"] = obj
    return changed


POINTERS = {
    "pod": {
        "shell": "/spec/containers/0/image",
        "fetch-config": "/spec/initContainers/0/image",
        "log-shipper": "/spec/initContainers/1/image",
    },
    "deployment": {
        "checkout": "/spec/template/spec/containers/0/image",
        "wait-for-db": "/spec/template/spec/initContainers/0/image",
        "envoy": "/spec/template/spec/initContainers/1/image",
    },
    "cronjob": {"report": "/spec/jobTemplate/spec/template/spec/containers/0/image"},
    "podtemplate": {"worker": "/template/spec/containers/0/image"},
    "pod-ephemeralcontainers": {
        "shell": "/spec/containers/0/image",
        "fetch-config": "/spec/initContainers/0/image",
        "log-shipper": "/spec/initContainers/1/image",
        "debugger-x7k2p": "/spec/ephemeralContainers/0/image",
    },
}


@pytest.mark.parametrize("fixture", sorted(POINTERS))
def test_pin_patch_replaces_each_tag_with_tag_and_digest(fixture: str) -> None:
    review, facts, digests = unpinned(fixture)
    written = images_of(object_of(review))
    assert patch_of(review, facts=facts) == [
        {"op": "replace", "path": path, "value": f"{written[name]}@{digests[name]}"}
        for name, path in POINTERS[fixture].items()
    ]


@pytest.mark.parametrize("fixture", sorted(POINTERS))
def test_a_patched_object_passes_digest_pinned_and_needs_no_second_patch(fixture: str) -> None:
    review, facts, digests = unpinned(fixture)
    policies = [default(), PIN]
    assert not decide_review(review, policies, facts).allowed

    patched = with_object(review, apply_patch(object_of(review), patch_of(review, facts=facts)))
    assert images_of(object_of(patched)) == {
        name: f"{tag_only(image)}@{digests[name]}"
        for name, image in images_of(object_of(review)).items()
    }
    decision = decide_review(patched, policies, facts)
    assert decision.allowed, decision.message
    assert decision.violations == ()
    assert patch_of(patched, facts=facts) == []  # reinvocation patches nothing


def test_pin_patch_leaves_digest_pinned_images_alone() -> None:
    review = load("deployment")  # every image already has a digest
    facts = {name: ContainerFacts(registry=image_facts()) for name in POINTERS["deployment"]}
    assert patch_of(review, facts=facts) == []


def test_pin_patch_only_touches_tag_only_containers() -> None:
    review = with_images(load("deployment"), {"envoy": "envoyproxy/envoy:v1.30.1"})
    facts = {name: ContainerFacts(registry=image_facts()) for name in POINTERS["deployment"]}
    assert patch_of(review, facts=facts) == [
        {
            "op": "replace",
            "path": "/spec/template/spec/initContainers/1/image",
            "value": f"envoyproxy/envoy:v1.30.1@{DIGEST}",
        }
    ]


def test_pin_patch_skips_containers_whose_registry_facts_are_unavailable() -> None:
    review, facts, _ = unpinned("pod")
    facts["fetch-config"] = ContainerFacts(registry=Unavailable(OUTAGE))
    del facts["log-shipper"]  # not looked up at all
    paths = [operation["path"] for operation in patch_of(review, facts=facts)]
    assert paths == ["/spec/containers/0/image"]


def test_pin_patch_needs_a_pin_tags_policy() -> None:
    review, facts, _ = unpinned("pod")
    others = [default(Mode.AUDIT), policy("- rule: platform-available")]
    assert patch_of(review, others, facts) == []


def test_pin_patch_needs_the_pin_tags_policy_to_match() -> None:
    review, facts, _ = unpinned("pod")
    staging = policy("- rule: pin-tags", match="logicalEnvironments: [staging]")
    assert patch_of(review, [staging], facts) == []


def test_pin_patch_skips_containers_a_policy_exception_covers() -> None:
    review, facts, _ = unpinned("pod")
    excused = policy(
        "- rule: pin-tags", exceptions="- {images: ['docker.io/library/*'], reason: mirrored}"
    )
    paths = [operation["path"] for operation in patch_of(review, [excused], facts)]
    assert paths == ["/spec/containers/0/image", "/spec/initContainers/1/image"]


def test_pin_patch_pins_in_audit_mode_too() -> None:
    review, facts, _ = unpinned("cronjob")
    audited = policy("- rule: pin-tags", mode="audit")
    assert len(patch_of(review, [audited], facts)) == 1


def test_pin_patch_of_no_workload_is_empty() -> None:
    assert pin_patch(workload=None, context=context([PIN])) == []


def test_pin_patch_pins_an_image_without_tag_as_written() -> None:
    review = with_images(load("cronjob"), {"report": "registry.example.com/finance/report"})
    facts = {"report": ContainerFacts(registry=image_facts())}
    [operation] = patch_of(review, facts=facts)
    assert operation["value"] == f"registry.example.com/finance/report@{DIGEST}"


def test_pinned_images_still_fail_rules_about_their_tag() -> None:
    # pin-tags keeps the tag: latest@digest is pinned but still "latest".
    rules = "- rule: no-latest\n- rule: digest-pinned"
    evaluation = judge(policy(rules), subject(f"ghcr.io/acme/web:latest@{DIGEST}"))
    assert [v.rule for v in evaluation.violations] == ["no-latest"]
    assert judge(policy(rules), subject(PINNED)).violations == ()
