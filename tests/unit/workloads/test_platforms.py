"""Platforms a pod may run on, from nodeSelector and required node affinity."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imagegate.tracking import Platform
from imagegate.workloads import ARCH_LABELS, OS_LABELS, extract_workload

DEFAULT = Platform()  # linux/amd64
OS, ARCH = "kubernetes.io/os", "kubernetes.io/arch"
BETA_OS, BETA_ARCH = "beta.kubernetes.io/os", "beta.kubernetes.io/arch"


def platforms(spec: dict[str, Any], default: Platform = DEFAULT) -> tuple[Platform, ...]:
    obj = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}], **spec}}
    return extract_workload(
        group="",
        kind="Pod",
        raw=json.dumps(obj).encode(),
        request_name="",
        namespace="ns",
        default_platform=default,
    ).platforms


def expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    requirement: dict[str, Any] = {"key": key, "operator": operator}
    if values:
        requirement["values"] = list(values)
    return requirement


def required(*terms: list[dict[str, Any]]) -> dict[str, Any]:
    """An affinity requiring one of ``terms`` (each a list of ANDed expressions)."""
    return {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": term} for term in terms]
                }
            }
        }
    }


def p(text: str) -> Platform:
    os, architecture, *variant = text.split("/")
    return Platform(os=os, architecture=architecture, variant=variant[0] if variant else None)


CASES = [
    pytest.param({}, ["linux/amd64"], id="unconstrained-default"),
    pytest.param({"nodeSelector": {OS: "linux"}}, ["linux/amd64"], id="selector-os-linux"),
    pytest.param({"nodeSelector": {OS: "windows"}}, ["windows/amd64"], id="selector-os-windows"),
    pytest.param({"nodeSelector": {ARCH: "arm64"}}, ["linux/arm64"], id="selector-arch"),
    pytest.param(
        {"nodeSelector": {OS: "windows", ARCH: "arm64"}}, ["windows/arm64"], id="selector-both"
    ),
    pytest.param({"nodeSelector": {BETA_ARCH: "arm64"}}, ["linux/arm64"], id="beta-arch"),
    pytest.param({"nodeSelector": {BETA_OS: "windows"}}, ["windows/amd64"], id="beta-os"),
    pytest.param(
        {"nodeSelector": {ARCH: "arm64", BETA_ARCH: "arm64"}}, ["linux/arm64"], id="stable-and-beta"
    ),
    pytest.param(
        {"nodeSelector": {"node.example.com/pool": "gpu", "topology.kubernetes.io/zone": "a"}},
        ["linux/amd64"],
        id="selector-other-labels-ignored",
    ),
    pytest.param(
        required([expr(ARCH, "In", "arm64", "amd64")]),
        ["linux/amd64", "linux/arm64"],
        id="affinity-in-two-arches-sorted",
    ),
    pytest.param(
        required([expr(OS, "In", "windows", "linux"), expr(ARCH, "In", "arm64", "amd64")]),
        ["linux/amd64", "linux/arm64", "windows/amd64", "windows/arm64"],
        id="affinity-os-times-arch",
    ),
    pytest.param(
        required([expr(BETA_ARCH, "In", "arm64")]), ["linux/arm64"], id="affinity-beta-label"
    ),
    pytest.param(
        required([expr(ARCH, "NotIn", "arm64")]),
        ["linux/amd64"],
        id="notin-other-arch-default-stands",
    ),
    pytest.param(
        required([expr(ARCH, "In", "amd64", "arm64", "s390x"), expr(ARCH, "NotIn", "s390x")]),
        ["linux/amd64", "linux/arm64"],
        id="in-and-notin-in-one-term-and",
    ),
    pytest.param(
        required([expr(ARCH, "In", "amd64", "arm64"), expr(ARCH, "In", "arm64", "ppc64le")]),
        ["linux/arm64"],
        id="expressions-in-one-term-intersect",
    ),
    pytest.param(
        required([expr(ARCH, "In", "amd64")], [expr(ARCH, "In", "arm64")]),
        ["linux/amd64", "linux/arm64"],
        id="terms-union",
    ),
    pytest.param(
        required([expr(ARCH, "In", "arm64")], [expr("kubernetes.io/hostname", "In", "node-1")]),
        ["linux/amd64"],
        id="term-without-arch-allows-any-arch",
    ),
    pytest.param(
        required([expr(ARCH, "NotIn", "arm64")], [expr(ARCH, "In", "arm64")]),
        ["linux/amd64"],
        id="notin-union-in-allows-any",
    ),
    pytest.param(
        required([expr(ARCH, "NotIn", "arm64", "s390x")], [expr(ARCH, "NotIn", "s390x", "amd64")]),
        ["linux/amd64"],
        id="notin-union-notin-excludes-common-only",
    ),
    pytest.param(
        {"nodeSelector": {ARCH: "arm64"}, **required([expr(ARCH, "In", "amd64", "arm64")])},
        ["linux/arm64"],
        id="selector-and-affinity-intersect",
    ),
    pytest.param(
        {"nodeSelector": {OS: "linux"}, **required([expr(ARCH, "In", "arm64", "amd64")])},
        ["linux/amd64", "linux/arm64"],
        id="selector-os-affinity-arch",
    ),
    pytest.param(
        {"nodeSelector": {ARCH: "arm64"}, **required([expr(ARCH, "NotIn", "amd64")])},
        ["linux/arm64"],
        id="selector-and-notin-intersect",
    ),
    pytest.param(
        required(
            [expr(ARCH, "Exists")],
            [expr(OS, "DoesNotExist")],
            [expr("node.example.com/cores", "Gt", "8")],
        ),
        ["linux/amd64"],
        id="exists-doesnotexist-gt-ignored",
    ),
    pytest.param(
        {
            "affinity": {
                "nodeAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "weight": 1,
                            "preference": {"matchExpressions": [expr(ARCH, "In", "arm64")]},
                        }
                    ]
                }
            }
        },
        ["linux/amd64"],
        id="preferred-affinity-ignored",
    ),
    pytest.param(
        {
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}
                }
            }
        },
        ["linux/amd64"],
        id="no-terms-no-constraint",
    ),
    pytest.param(
        {
            "affinity": {
                "podAntiAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        {"topologyKey": ARCH, "labelSelector": {"matchLabels": {"a": "b"}}}
                    ]
                }
            }
        },
        ["linux/amd64"],
        id="pod-anti-affinity-ignored",
    ),
    pytest.param(
        {
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {"matchFields": [expr("metadata.name", "In", "node-1")]}
                        ]
                    }
                }
            }
        },
        ["linux/amd64"],
        id="match-fields-only-no-arch-constraint",
    ),
    pytest.param(
        {"nodeSelector": {ARCH: "arm64", BETA_ARCH: "amd64"}},
        [],
        id="contradiction-unschedulable-has-no-platform",
    ),
]


@pytest.mark.parametrize(("spec", "expected"), CASES)
def test_platforms(spec: dict[str, Any], expected: list[str]) -> None:
    assert platforms(spec) == tuple(p(text) for text in expected)


def test_the_default_platform_is_the_configured_one() -> None:
    assert platforms({}, default=p("linux/arm/v7")) == (p("linux/arm/v7"),)
    assert platforms({}, default=p("windows/amd64")) == (p("windows/amd64"),)


def test_the_variant_is_kept_only_for_the_default_architecture() -> None:
    default = p("linux/arm64/v8")

    assert platforms(required([expr(ARCH, "In", "amd64", "arm64")]), default) == (
        p("linux/amd64"),
        p("linux/arm64/v8"),
    )
    assert platforms({"nodeSelector": {ARCH: "arm"}}, default) == (p("linux/arm"),)
    assert platforms({"nodeSelector": {OS: "windows"}}, default) == (p("windows/arm64/v8"),)


def test_the_fixture_daemonset_runs_on_two_architectures() -> None:
    spec = {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                expr(OS, "In", "linux"),
                                expr(ARCH, "In", "arm64", "amd64"),
                                expr("node.kubernetes.io/instance-type", "Exists"),
                            ]
                        }
                    ]
                }
            }
        }
    }

    assert platforms(spec) == (p("linux/amd64"), p("linux/arm64"))


def test_label_sets() -> None:
    assert OS_LABELS == ("kubernetes.io/os", "beta.kubernetes.io/os")
    assert ARCH_LABELS == ("kubernetes.io/arch", "beta.kubernetes.io/arch")


@pytest.mark.parametrize(
    ("spec", "field", "excluded"),
    [
        pytest.param(
            required([expr(ARCH, "NotIn", "amd64")]),
            "architecture",
            "amd64",
            id="arch-notin-default",
        ),
        pytest.param(required([expr(OS, "NotIn", "linux")]), "os", "linux", id="os-notin-default"),
    ],
)
def test_a_platform_the_pod_excludes_is_never_reported(
    spec: dict[str, Any], field: str, excluded: str
) -> None:
    assert excluded not in [getattr(platform, field) for platform in platforms(spec)]
