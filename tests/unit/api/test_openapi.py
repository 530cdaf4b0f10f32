"""The packaged OpenAPI document: valid, complete, and in step with the code.

The document is written by hand; these tests hold it to the routes the app
registers, the scopes its handlers ask for and the msgspec wire structs, so that
neither side can drift without a failing test.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from importlib import resources
from pathlib import Path
from typing import Any, get_args

import msgspec
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from openapi_schema_validator import validate as validate_instance
from openapi_spec_validator import validate as validate_spec

from imagegate.admission import AdmissionSettings
from imagegate.api import (
    AUTHENTICATOR,
    Authenticator,
    deployment_query_from,
    environment_to_wire,
    error_response,
    load_openapi_document,
    page_to_wire,
    request_from_full,
    result_to_wire,
)
from imagegate.api import _wire as wire
from imagegate.api._convert import _CURSOR_ALPHABET
from imagegate.auth import ApiKey, Scope
from imagegate.errors import RefusedError
from imagegate.server import ServerSettings, build_app
from imagegate.tracking import (
    MAX_PAGE_SIZE,
    Artifact,
    DeploymentKey,
    DeploymentPage,
    DeploymentQuery,
    DeploymentRecord,
    Environment,
    Kind,
    Outcome,
    Platform,
    RecordResult,
    Status,
    parse_pinned_reference,
    parse_repository,
    validate_digest,
)

HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
PUBLIC_PATHS = frozenset(
    {"/api/v1/openapi.json", "/healthz", "/readyz", "/metrics", "/validate", "/mutate"}
)
# kube-apiserver calls these with AdmissionReviews: every bad request is a 400 there.
WEBHOOK_PATHS = frozenset({"/validate", "/mutate"})
BODY_ERRORS = frozenset({"400", "413", "415", "422"})
KEY_ERRORS = frozenset({"401", "403", "503"})

WIRE_STRUCTS: tuple[type[msgspec.Struct], ...] = tuple(
    value
    for value in vars(wire).values()
    if isinstance(value, type)
    and issubclass(value, msgspec.Struct)
    and value.__module__ == wire.__name__
)
# Component names are the struct names, except the error body, which is plainly "Error".
COMPONENT_NAMES: dict[type[msgspec.Struct], str] = {
    struct: "Error" if struct is wire.ErrorOut else struct.__name__ for struct in WIRE_STRUCTS
}
STRUCT_OF_COMPONENT = {name: struct for struct, name in COMPONENT_NAMES.items()}

DIGEST = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
NEW_DIGEST = "sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
MOMENT = datetime(2025, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(load_openapi_document())
    return loaded


def schemas_of(document: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"]
    return found


def operations(document: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every operation in the document."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method, path, operation


def registered_operations(app: web.Application) -> set[tuple[str, str]]:
    """(method, path template) of every route of ``app``; aiohttp's implicit HEADs left out."""
    found: set[tuple[str, str]] = set()
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        assert route.resource is not None
        found.add((route.method.lower(), route.resource.canonical))
    return found


def check(instance: object, schema: Mapping[str, Any], document: Mapping[str, Any]) -> None:
    """Validate ``instance`` against ``schema``, whose refs point into ``document``."""
    rooted = {**schema, "components": document["components"]}
    validate_instance(instance, rooted, cls=OAS31Validator, format_checker=oas31_format_checker)


def component(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def examples_of(media: Mapping[str, Any]) -> list[Any]:
    """The example values of a media type or parameter object."""
    values = [entry["value"] for entry in media.get("examples", {}).values()]
    if "example" in media:
        values.append(media["example"])
    return values


# --- the document itself ----------------------------------------------------------


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    validate_spec(document)


def test_packaged_document_is_pretty_printed_json_with_a_trailing_newline() -> None:
    text = resources.files("imagegate.api").joinpath("openapi.json").read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"
    assert load_openapi_document() == text.encode("utf-8")


async def test_app_serves_the_packaged_document_without_a_key(tmp_path: Path) -> None:
    settings = ServerSettings(
        store_url=f"sqlite:///{tmp_path / 'imagegate.db'}",
        admission=AdmissionSettings(spool_path=tmp_path / "spool.db", namespace_labels=False),
    )
    async with TestClient(TestServer(build_app(settings))) as client:
        response = await client.get("/api/v1/openapi.json")
        assert response.status == HTTPStatus.OK
        assert response.content_type == "application/json"
        served = await response.read()
    assert served == load_openapi_document()
    assert json.loads(served)["openapi"] == "3.1.0"


# --- routes, operations and scopes ------------------------------------------------


def test_document_describes_exactly_the_registered_routes(document: dict[str, Any]) -> None:
    registered = registered_operations(build_app(ServerSettings()))
    assert {("post", "/api/v1/deployments"), ("get", "/healthz")} <= registered
    documented = {(method, path) for method, path, _ in operations(document)}
    assert documented == registered


def test_every_operation_has_a_summary_and_a_unique_operation_id(
    document: dict[str, Any],
) -> None:
    ids: list[str] = []
    for method, path, operation in operations(document):
        assert operation.get("summary"), f"{method} {path} has no summary"
        assert operation.get("operationId"), f"{method} {path} has no operationId"
        ids.append(operation["operationId"])
    assert len(ids) == len(set(ids))


class _Stop(Exception):
    """Ends a request once the probe has seen the scope it asks for."""


class _ScopeProbe(Authenticator):
    """An authenticator that records the scope each call asks for, and admits none."""

    def __init__(self) -> None:  # never looks a key up, so it needs no store
        self.asked: list[Scope] = []

    async def authorize(self, authorization: str | None, scope: Scope) -> ApiKey:
        self.asked.append(scope)
        raise _Stop


async def scope_asked(app: web.Application, method: str, path: str) -> Scope | None:
    """The scope the handler of ``method path`` asks for, or None for a public one."""
    probe = _ScopeProbe()
    app[AUTHENTICATOR] = probe
    (route,) = (
        route
        for route in app.router.routes()
        if route.method == method.upper()
        and route.resource is not None
        and route.resource.canonical == path
    )
    request = make_mocked_request(
        method.upper(),
        path.replace("{name}", "k8s-east"),
        app=app,
        match_info={"name": "k8s-east"},
    )
    with contextlib.suppress(_Stop):
        await route.handler(request)
    assert len(probe.asked) <= 1
    return probe.asked[0] if probe.asked else None


async def test_operation_security_matches_the_scope_each_handler_checks(
    document: dict[str, Any],
) -> None:
    assert document["security"] == [{"bearerAuth": []}]
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    app = build_app(ServerSettings())
    for method, path, operation in operations(document):
        scope = await scope_asked(app, method, path)
        if path in PUBLIC_PATHS:
            assert scope is None, f"{method} {path} is documented as public"
            assert operation["security"] == []
        else:
            assert scope is not None, f"{method} {path} needs no key but documents one"
            assert operation["security"] == [{"bearerAuth": [scope.value]}], (method, path)


def test_operations_document_the_errors_they_can_answer(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        codes = set(operation["responses"])
        if path not in PUBLIC_PATHS:
            assert codes >= KEY_ERRORS, (method, path, KEY_ERRORS - codes)
        if path in WEBHOOK_PATHS:
            # 403: a caller without the client certificate --webhook-client-ca asks for.
            assert codes == {"200", "400", "403"}, (method, path, codes)
        elif "requestBody" in operation:
            assert codes >= BODY_ERRORS, (method, path, BODY_ERRORS - codes)


def test_recording_answers_201_and_200_with_the_outcomes_of_each(
    document: dict[str, Any],
) -> None:
    responses = document["paths"]["/api/v1/deployments"]["post"]["responses"]
    examples = {
        status: {
            value["outcome"]
            for value in examples_of(responses[status]["content"]["application/json"])
        }
        for status in ("200", "201")
    }
    assert examples == {
        "201": {Outcome.CREATED, Outcome.SUPERSEDED},
        "200": {Outcome.REFRESHED, Outcome.DECOMMISSIONED, Outcome.UNCHANGED},
    }


def test_recording_accepts_the_simple_payload_or_the_full_form(document: dict[str, Any]) -> None:
    body = document["paths"]["/api/v1/deployments"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert schema == {"oneOf": [component("SimpleDeploymentBody"), component("DeploymentBody")]}
    assert body["required"] is True


# --- schemas against the wire structs ---------------------------------------------


def test_every_wire_struct_has_a_component_schema(document: dict[str, Any]) -> None:
    assert {wire.ArtifactOut, wire.ErrorDetail, wire.DeploymentBody} <= set(WIRE_STRUCTS)
    assert set(COMPONENT_NAMES.values()) <= set(schemas_of(document))


@pytest.mark.parametrize("struct", WIRE_STRUCTS, ids=lambda struct: struct.__name__)
def test_schema_properties_are_the_struct_fields(
    document: dict[str, Any], struct: type[msgspec.Struct]
) -> None:
    schema = schemas_of(document)[COMPONENT_NAMES[struct]]
    fields = msgspec.structs.fields(struct)
    assert schema["type"] == "object"
    assert set(schema["properties"]) == {field.encode_name for field in fields}


@pytest.mark.parametrize("struct", WIRE_STRUCTS, ids=lambda struct: struct.__name__)
def test_schema_requires_what_the_struct_requires_or_always_sends(
    document: dict[str, Any], struct: type[msgspec.Struct]
) -> None:
    schema = schemas_of(document)[COMPONENT_NAMES[struct]]
    fields = msgspec.structs.fields(struct)
    config = struct.__struct_config__
    if config.forbid_unknown_fields:
        # Decoded from requests: what has no default is required, and nothing else is let in.
        assert schema["additionalProperties"] is False
        expected = {field.encode_name for field in fields if field.required}
    elif config.omit_defaults:
        expected = {field.encode_name for field in fields if field.required}
    else:
        # Encoded into responses: every field is always there, null or not.
        expected = {field.encode_name for field in fields}
    assert set(schema.get("required", [])) == expected


def test_schema_defaults_are_the_struct_defaults(document: dict[str, Any]) -> None:
    for struct in WIRE_STRUCTS:
        properties = schemas_of(document)[COMPONENT_NAMES[struct]]["properties"]
        for field in msgspec.structs.fields(struct):
            default = field.default
            if isinstance(default, msgspec.UnsetType) or default is msgspec.NODEFAULT:
                continue
            if "default" in properties[field.encode_name]:
                expected = default.value if isinstance(default, Kind) else default
                assert properties[field.encode_name]["default"] == expected, (
                    struct.__name__,
                    field.name,
                )


def test_enums_are_those_of_the_tracking_core(document: dict[str, Any]) -> None:
    schemas = schemas_of(document)
    kinds = [kind.value for kind in Kind]
    statuses = [status.value for status in Status]
    assert schemas["DeploymentBody"]["properties"]["kind"]["enum"] == kinds
    assert schemas["DeploymentRecordOut"]["properties"]["kind"]["enum"] == kinds
    assert schemas["DeploymentRecordOut"]["properties"]["status"]["enum"] == statuses
    assert schemas["RecordResultOut"]["properties"]["outcome"]["enum"] == [
        outcome.value for outcome in Outcome
    ]
    (status_field,) = (
        field for field in msgspec.structs.fields(wire.DeploymentBody) if field.name == "status"
    )
    assert schemas["DeploymentBody"]["properties"]["status"]["enum"] == list(
        get_args(status_field.type)
    )


# --- the listing's query parameters -----------------------------------------------


def listing_parameters(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    parameters = document["paths"]["/api/v1/deployments"]["get"]["parameters"]
    return {parameter["name"]: parameter for parameter in parameters}


def test_listing_parameters_are_the_query_fields(document: dict[str, Any]) -> None:
    parameters = listing_parameters(document)
    assert all(parameter["in"] == "query" for parameter in parameters.values())
    # The cursor is the opaque form of ``after_id``.
    fields = {field.name for field in dataclasses.fields(DeploymentQuery)}
    assert set(parameters) == (fields - {"after_id"}) | {"cursor"}


def test_listing_parameter_types_and_defaults_are_those_of_the_code(
    document: dict[str, Any],
) -> None:
    parameters = listing_parameters(document)
    defaults = DeploymentQuery()
    assert parameters["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_PAGE_SIZE,
        "default": defaults.limit,
    }
    assert parameters["history"]["schema"] == {"type": "boolean", "default": defaults.history}
    assert parameters["cursor"]["schema"] == {
        "type": "string",
        "pattern": f"^{_CURSOR_ALPHABET.pattern}$",
    }
    assert parameters["kind"]["schema"]["enum"] == [kind.value for kind in Kind]
    assert parameters["status"]["schema"]["enum"] == [status.value for status in Status]


def test_the_code_accepts_every_documented_parameter(document: dict[str, Any]) -> None:
    for name, parameter in listing_parameters(document).items():
        schema = parameter["schema"]
        samples: list[object] = list(schema.get("enum", []))
        for key in ("default", "minimum", "maximum"):
            if key in schema:
                samples.append(schema[key])
        if "example" in parameter:
            samples.append(parameter["example"])
        assert samples, f"parameter {name} has no value to try"
        for sample in samples:
            text = json.dumps(sample) if isinstance(sample, bool) else str(sample)
            deployment_query_from({name: text})


# --- examples and real output against the schemas ---------------------------------


def media_examples(document: Mapping[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    """(where, schema, example) of every example of a body, response or parameter."""
    responses = [
        (f"components {name}", response)
        for name, response in document["components"]["responses"].items()
    ]
    for method, path, operation in operations(document):
        where = f"{method} {path}"
        for parameter in operation.get("parameters", []):
            for value in examples_of(parameter):
                yield f"{where} ?{parameter['name']}", parameter["schema"], value
        if "requestBody" in operation:
            responses.append((f"{where} body", operation["requestBody"]))
        responses.extend((f"{where} {code}", r) for code, r in operation["responses"].items())
    for where, response in responses:
        for media in response.get("content", {}).values():
            for value in examples_of(media):
                yield where, media["schema"], value


def schema_examples(node: object) -> Iterator[tuple[Any, Any]]:
    """(schema, example) of every schema in the components that carries an example."""
    if isinstance(node, dict):
        if "example" in node and ("type" in node or "$ref" in node):
            yield node, node["example"]
        for value in node.values():
            yield from schema_examples(value)
    elif isinstance(node, list):
        for value in node:
            yield from schema_examples(value)


def test_every_example_matches_its_schema(document: dict[str, Any]) -> None:
    found = list(media_examples(document))
    assert len(found) > 20
    for where, schema, value in found:
        try:
            check(value, schema, document)
        except Exception as error:
            raise AssertionError(f"example of {where}: {error}") from error
    for schema, value in schema_examples(document["components"]["schemas"]):
        check(value, schema, document)


def test_recording_examples_are_records_the_code_accepts(document: dict[str, Any]) -> None:
    media = document["paths"]["/api/v1/deployments"]["post"]["requestBody"]["content"]
    values = examples_of(media["application/json"])
    assert values
    for value in values:
        if "image" in value:
            simple = msgspec.convert(value, wire.SimpleDeploymentBody)
            assert parse_pinned_reference(simple.image.url).digest is not None
        else:
            request_from_full(msgspec.convert(value, wire.DeploymentBody))


def test_examples_decode_into_their_wire_structs(document: dict[str, Any]) -> None:
    decoded = 0
    for where, schema, value in media_examples(document):
        struct = STRUCT_OF_COMPONENT.get(schema.get("$ref", "").rpartition("/")[2])
        if struct is None:
            continue
        try:
            msgspec.convert(value, struct)
        except msgspec.ValidationError as error:
            raise AssertionError(f"example of {where}: {error}") from error
        decoded += 1
    assert decoded > 10


def sample_record(
    record_id: int, *, kind: Kind = Kind.CONTAINER_IMAGE, status: Status = Status.DEPLOYED
) -> DeploymentRecord:
    return DeploymentRecord(
        id=record_id,
        key=DeploymentKey(
            environment="k8s-east",
            logical_environment="staging",
            deployment_name="payments/api/server",
            kind=kind,
        ),
        artifact=Artifact(repository="ghcr.io/acme/api", digest=DIGEST, tag="1.4.2"),
        platform=Platform(architecture="arm64", variant="v8")
        if kind is Kind.CONTAINER_IMAGE
        else None,
        status=status,
        created_at=MOMENT,
        updated_at=MOMENT,
        last_seen_at=MOMENT,
        superseded_by=record_id + 1 if status is Status.SUPERSEDED else None,
    )


def test_what_the_code_sends_matches_the_response_schemas(document: dict[str, Any]) -> None:
    old = sample_record(1, status=Status.SUPERSEDED)
    new = dataclasses.replace(
        sample_record(2),
        artifact=Artifact(repository="ghcr.io/acme/api", digest=NEW_DIGEST, tag=None),
    )
    chart = sample_record(3, kind=Kind.HELM_CHART)
    sent: list[tuple[str, msgspec.Struct]] = [
        ("RecordResultOut", result_to_wire(RecordResult(Outcome.SUPERSEDED, new, old))),
        ("RecordResultOut", result_to_wire(RecordResult(Outcome.REFRESHED, chart))),
        ("RecordResultOut", result_to_wire(RecordResult(Outcome.UNCHANGED, None))),
        ("DeploymentPageOut", page_to_wire(DeploymentPage((new, old, chart), next_after_id=1))),
        ("DeploymentPageOut", page_to_wire(DeploymentPage((), next_after_id=None))),
        ("EnvironmentOut", environment_to_wire(Environment("k8s-east", "", MOMENT))),
    ]
    for name, value in sent:
        check(msgspec.to_builtins(value), component(name), document)


@pytest.mark.parametrize("field", [None, "environment"])
def test_error_bodies_match_the_error_schema(document: dict[str, Any], field: str | None) -> None:
    response = error_response(
        HTTPStatus.UNPROCESSABLE_ENTITY, "unknown_environment", "no such thing", field=field
    )
    assert isinstance(response.body, bytes)
    body = json.loads(response.body)
    assert ("field" in body["error"]) is (field is not None)
    check(body, component("Error"), document)


def test_schemas_refuse_what_the_code_refuses(document: dict[str, Any]) -> None:
    misspelt = {"image": {"url": f"nginx@{DIGEST}"}, "enviroment": {"name": "k8s-east"}}
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(misspelt, wire.SimpleDeploymentBody)
    with pytest.raises(Exception, match="enviroment"):
        check(misspelt, component("SimpleDeploymentBody"), document)
    with pytest.raises(Exception, match="is not valid under any of the given schemas"):
        check(
            misspelt,
            {"oneOf": [component("SimpleDeploymentBody"), component("DeploymentBody")]},
            document,
        )


# Each judged by the reference grammar of the schema and by the code's parser.
REFERENCES = [
    f"nginx@{DIGEST}",
    f"nginx:1.27@{DIGEST}",
    f"GHCR.IO/acme/web:v1@{DIGEST}",
    f"localhost:5000/acme/web@{DIGEST}",
    f"LOCALHOST/web@{DIGEST}",
    f"[::1]:5000/web:_x.y-z@{DIGEST}",
    f"registry:5000/a__b/c-----d@{DIGEST}",
    f"a.b@{DIGEST}",
    "nginx:1.27",
    f"Nginx@{DIGEST}",
    f"acme/Web@{DIGEST}",
    f"nginx@{DIGEST.upper()}",
    f"nginx@sha256:{'0' * 63}",
    f"im.a_b/web@{DIGEST}",
    f"[9a1]/web@{DIGEST}",
    f"a//b@{DIGEST}",
    f"a-/b@{DIGEST}",
    f"web:.tag@{DIGEST}",
    f" nginx@{DIGEST}",
    f"ngïnx@{DIGEST}",
]


def _code_accepts(parse: Any, text: str) -> bool:
    try:
        parse(text)
    except RefusedError:
        return False
    return True


def _schema_accepts(text: str, schema: Mapping[str, Any], document: Mapping[str, Any]) -> bool:
    try:
        check(text, schema, document)
    except Exception:
        return False
    return True


@pytest.mark.parametrize("text", REFERENCES)
def test_the_schema_judges_an_image_reference_as_the_code_does(
    document: dict[str, Any], text: str
) -> None:
    # schemathesis checks this both ways with generated data; these are the edges.
    full = document["components"]["schemas"]["DeploymentBody"]["properties"]
    simple = document["components"]["schemas"]["SimpleImageBody"]["properties"]
    accepted = _code_accepts(parse_pinned_reference, text)
    assert _schema_accepts(text, full["reference"], document) is accepted
    assert _schema_accepts(text, simple["url"], document) is accepted
    name = text.partition("@")[0]
    repository_accepted = _code_accepts(parse_repository, name)
    assert _schema_accepts(name, full["repository"], document) is repository_accepted
    digest = text.partition("@")[2]
    digest_accepted = _code_accepts(validate_digest, digest)
    assert _schema_accepts(digest, full["digest"], document) is digest_accepted
