"""Deployment names of admitted containers, from a configurable template."""

from __future__ import annotations

import pytest

from imagegate.admission import DEFAULT_TEMPLATE, DeploymentNameTemplate, TemplateError
from imagegate.admission._naming import fitted_name
from imagegate.tracking import validate_deployment_name

KNOWN = "known: cluster, container, kind, namespace, workload"


def render(template: str, **overrides: str) -> str:
    values = {
        "cluster": "prod-eu-1",
        "namespace": "shop",
        "kind": "Deployment",
        "workload": "checkout",
        "container": "envoy",
    }
    values.update(overrides)
    return DeploymentNameTemplate(template).render(**values)


def test_the_default_template() -> None:
    assert DEFAULT_TEMPLATE == "{namespace}/{workload}/{container}"
    assert DeploymentNameTemplate().template == DEFAULT_TEMPLATE
    assert render(DEFAULT_TEMPLATE) == "shop/checkout/envoy"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            "{cluster}/{namespace}/{kind}/{workload}/{container}",
            "prod-eu-1/shop/deployment/checkout/envoy",
        ),
        ("{container}", "envoy"),
        ("k8s:{namespace}.{workload}.{container}", "k8s:shop.checkout.envoy"),
        ("{container}-{container}", "envoy-envoy"),
        ("{{literal}}/{container}", "{literal}/envoy"),
    ],
)
def test_rendering(template: str, expected: str) -> None:
    assert render(template) == expected


@pytest.mark.parametrize("kind", ["StatefulSet", "CronJob", "ReplicationController", "pod"])
def test_kind_is_lower_case(kind: str) -> None:
    assert render("{kind}/{container}", kind=kind) == f"{kind.lower()}/envoy"


INVALID = [
    pytest.param(
        "{namespace}/{app}/{container}",
        "deployment name template '{namespace}/{app}/{container}' has unknown placeholder "
        f"{{app}}; {KNOWN}",
        id="unknown-placeholder",
    ),
    pytest.param(
        "{zeta}/{alpha}/{container}",
        f"deployment name template '{{zeta}}/{{alpha}}/{{container}}' has unknown placeholder "
        f"{{alpha}}; {KNOWN}",
        id="first-unknown-alphabetically",
    ),
    pytest.param(
        "{}/{container}",
        f"deployment name template '{{}}/{{container}}' has unknown placeholder {{}}; {KNOWN}",
        id="positional",
    ),
    pytest.param(
        "{0}/{container}",
        f"deployment name template '{{0}}/{{container}}' has unknown placeholder {{0}}; {KNOWN}",
        id="numbered",
    ),
    pytest.param(
        "{container.upper}",
        "deployment name template '{container.upper}' has unknown placeholder "
        f"{{container.upper}}; {KNOWN}",
        id="attribute",
    ),
    pytest.param(
        "{namespace}/{workload}",
        "deployment name template '{namespace}/{workload}' must contain {container}",
        id="missing-container",
    ),
    pytest.param(
        "static-name",
        "deployment name template 'static-name' must contain {container}",
        id="no-placeholders",
    ),
    pytest.param(
        "{{container}}",
        "deployment name template '{{container}}' must contain {container}",
        id="escaped-container-is-literal",
    ),
    pytest.param(
        "{namespace/{container}",
        "deployment name template '{namespace/{container}': unexpected '{' in field name",
        id="unclosed-brace",
    ),
    pytest.param(
        "{namespace}/{container",
        "deployment name template '{namespace}/{container': expected '}' before end of string",
        id="unterminated",
    ),
    pytest.param(
        "{container}}",
        "deployment name template '{container}}': Single '}' encountered in format string",
        id="single-closing-brace",
    ),
]


@pytest.mark.parametrize(("template", "message"), INVALID)
def test_invalid_templates_are_refused_with_a_message(template: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        DeploymentNameTemplate(template)

    assert str(caught.value) == message


def test_template_error_is_a_value_error() -> None:
    assert issubclass(TemplateError, ValueError)


@pytest.mark.parametrize(
    "template",
    [
        pytest.param("{namespace}/{workload}/{container!x}", id="unknown-conversion"),
        pytest.param("{namespace}/{workload}/{container:d}", id="format-spec-for-int"),
        pytest.param("{namespace}/{workload}/{container:{bogus}}", id="unknown-nested-field"),
    ],
)
def test_a_template_that_cannot_render_is_refused_when_built(template: str) -> None:
    with pytest.raises(TemplateError):
        DeploymentNameTemplate(template)


def test_a_fitting_name_is_left_as_it_is() -> None:
    assert fitted_name("shop/web/app") == "shop/web/app"
    assert fitted_name("shop/web/app", "@linux/arm64") == "shop/web/app@linux/arm64"


def test_a_long_name_is_cut_with_a_hash_of_the_whole_and_keeps_its_suffix() -> None:
    long = "ns/" + "w" * 300 + "/app"
    other = "ns/" + "w" * 300 + "/sidecar"
    fitted = fitted_name(long, "@linux/arm64")
    assert len(fitted) == 253
    assert fitted.endswith("@linux/arm64")
    assert fitted == fitted_name(long, "@linux/arm64")
    assert fitted_name(long) != fitted_name(other), "a shared prefix never shares a name"
    base = fitted_name(long, "@linux/amd64").removesuffix("@linux/amd64")
    assert fitted.removesuffix("@linux/arm64")[:200] == base[:200]
    validate_deployment_name(fitted)
