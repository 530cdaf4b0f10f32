"""Which logical environment a namespace's workloads are recorded in."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from imagegate.admission import DEFAULT_ENVIRONMENT_LABEL, EnvironmentMapping, EnvironmentSource

LABEL, MAP, DEFAULT = (
    EnvironmentSource.LABEL,
    EnvironmentSource.NAMESPACE_MAP,
    EnvironmentSource.DEFAULT,
)
MAPPING = EnvironmentMapping(namespaces={"shop": "staging", "payments": "pci"}, default="prod")


def labelled(value: str) -> dict[str, str]:
    return {DEFAULT_ENVIRONMENT_LABEL: value, "kubernetes.io/metadata.name": "x"}


@pytest.mark.parametrize(
    ("namespace", "labels", "expected"),
    [
        pytest.param("shop", labelled("qa"), ("qa", LABEL), id="label-wins-over-map"),
        pytest.param("other", labelled("qa"), ("qa", LABEL), id="label-wins-over-default"),
        pytest.param(
            "other",
            labelled("eu.prod-2_b"),
            ("eu.prod-2_b", LABEL),
            id="label-dots-dash-underscore",
        ),
        pytest.param("shop", labelled("QA"), ("staging", MAP), id="upper-case-label-to-map"),
        pytest.param("other", labelled("QA"), ("prod", DEFAULT), id="upper-case-label-to-default"),
        pytest.param("shop", labelled(""), ("staging", MAP), id="empty-label-to-map"),
        pytest.param("shop", labelled("-qa"), ("staging", MAP), id="leading-dash-to-map"),
        pytest.param("shop", labelled("qa env"), ("staging", MAP), id="space-to-map"),
        pytest.param("shop", labelled("a" * 64), ("staging", MAP), id="too-long-to-map"),
        pytest.param("other", labelled("a" * 63), ("a" * 63, LABEL), id="63-chars-ok"),
        pytest.param("shop", None, ("staging", MAP), id="labels-unknown-map"),
        pytest.param("shop", {}, ("staging", MAP), id="no-labels-map"),
        pytest.param("payments", {"team": "pay"}, ("pci", MAP), id="other-labels-map"),
        pytest.param("other", None, ("prod", DEFAULT), id="labels-unknown-default"),
        pytest.param("other", {}, ("prod", DEFAULT), id="no-labels-default"),
        pytest.param(
            "other", {"environment": "qa"}, ("prod", DEFAULT), id="other-label-key-ignored"
        ),
    ],
)
def test_resolve(
    namespace: str, labels: Mapping[str, str] | None, expected: tuple[str, EnvironmentSource]
) -> None:
    assert MAPPING.resolve(namespace, labels) == expected


def test_the_label_key_is_configurable() -> None:
    mapping = EnvironmentMapping(label="team.example.com/stage")

    assert mapping.resolve("x", {"team.example.com/stage": "qa"}) == ("qa", LABEL)
    assert mapping.resolve("x", labelled("qa")) == ("production", DEFAULT)


def test_defaults() -> None:
    mapping = EnvironmentMapping()

    assert DEFAULT_ENVIRONMENT_LABEL == "imagegate.dev/environment"
    assert mapping.label == DEFAULT_ENVIRONMENT_LABEL
    assert dict(mapping.namespaces) == {}
    assert mapping.resolve("anything", None) == ("production", DEFAULT)


def test_sources_are_strings_for_logs_and_metrics() -> None:
    assert [source.value for source in EnvironmentSource] == ["label", "namespace_map", "default"]
    assert f"{EnvironmentSource.NAMESPACE_MAP}" == "namespace_map"
