"""Handlers of the HTTP API under ``/api/v1``."""

from __future__ import annotations

import enum
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from importlib import resources
from typing import Any, Protocol, TypeVar

import msgspec
import structlog
from aiohttp import web

from imagegate.api._auth import Authenticator
from imagegate.api._body import read_json_body
from imagegate.api._convert import (
    decode_cursor,
    environment_to_wire,
    logical_environment_to_wire,
    page_to_wire,
    record_full,
    record_simple,
    result_to_wire,
)
from imagegate.api._errors import ApiError, error_response, response_for
from imagegate.api._evidence import (
    add_scan_evidence,
    evidence_digest,
    get_evidence,
    scan_format_from,
    set_provenance_evidence,
)
from imagegate.api._scans import list_scans, retire_scan, scan_id_from
from imagegate.api._wire import (
    ClusterOut,
    DeploymentBody,
    EnvironmentBody,
    EnvironmentListOut,
    LogicalEnvironmentListOut,
    ScanRetirementBody,
    SimpleDeploymentBody,
)
from imagegate.auth import ApiKey, Scope
from imagegate.evidence import EvidenceStore
from imagegate.tracking import (
    DeploymentQuery,
    InvalidFieldError,
    InvalidParameterError,
    Kind,
    Outcome,
    Status,
    Tracker,
    utc_now,
)

log = structlog.get_logger("imagegate.api")

E = TypeVar("E", bound=enum.Enum)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_CREATED_OUTCOMES = frozenset({Outcome.CREATED, Outcome.SUPERSEDED})
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_LIST_PARAMETERS = frozenset(
    {
        "environment",
        "logical_environment",
        "deployment_name",
        "kind",
        "status",
        "history",
        "limit",
        "cursor",
    }
)


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Behaviour of the HTTP API."""

    max_body_bytes: int = 64 * 1024
    """Largest accepted request body; a deployment record is well under 1 KiB."""
    api_key_cache_ttl_s: float = 10.0
    """How long a looked-up API key is trusted before the store is asked again.

    Bounds both the store load of busy pipelines and how late a revocation bites.
    """
    default_logical_environment: str = "production"
    """Logical environment of simple payloads, which name none.

    ``production`` because it is the strictest: a record that names no stage is
    judged as if it ran where it matters most.
    """
    max_scan_bytes: int = 16 * 1024 * 1024
    """Largest accepted scan report; a scanner's JSON of a large image runs to megabytes."""


TRACKER = web.AppKey("tracker", Tracker)
AUTHENTICATOR = web.AppKey("authenticator", Authenticator)
API_SETTINGS = web.AppKey("api_settings", ApiSettings)
EVIDENCE_STORE = web.AppKey[EvidenceStore]("evidence_store")
"""Where posted evidence (scan reports, provenance) is kept; usually the record store."""


class ClusterView(Protocol):
    """Where records come from in the serving process, and what it could not record."""

    async def cluster(self, *, records: bool) -> ClusterOut: ...


CLUSTER_VIEW = web.AppKey[ClusterView]("cluster_view")
API_KEY = web.RequestKey[ApiKey]("api_key")
"""The key a request was authorized with (by ``_requires``)."""
_CLUSTER_PARAMETERS = frozenset({"records"})


def add_api_routes(app: web.Application) -> None:
    """Register the ``/api/v1`` routes on ``app``; their dependencies come from its AppKeys."""
    app.router.add_get("/api/v1/openapi.json", openapi_document)
    app.router.add_post("/api/v1/deployments", _requires(Scope.WRITE, record_deployment))
    app.router.add_get("/api/v1/deployments", _requires(Scope.READ, list_deployments))
    app.router.add_post("/api/v1/environments", _requires(Scope.WRITE, create_environment))
    app.router.add_get("/api/v1/environments", _requires(Scope.READ, list_environments))
    app.router.add_get("/api/v1/environments/{name}", _requires(Scope.READ, get_environment))
    app.router.add_get(
        "/api/v1/logical-environments", _requires(Scope.READ, list_logical_environments)
    )
    app.router.add_post("/api/v1/evidence/{digest}/scans", _requires(Scope.WRITE, post_scan_report))
    app.router.add_get("/api/v1/evidence/{digest}/scans", _requires(Scope.READ, show_scans))
    app.router.add_post(
        "/api/v1/evidence/{digest}/scans/{id}/retire", _requires(Scope.WRITE, post_retirement)
    )
    app.router.add_post(
        "/api/v1/evidence/{digest}/provenance", _requires(Scope.WRITE, post_provenance)
    )
    app.router.add_get("/api/v1/evidence/{digest}", _requires(Scope.READ, show_evidence))
    app.router.add_get("/api/v1/cluster", _requires(Scope.READ, show_cluster))


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every error into a JSON body with a code, never a stack trace."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code = error.reason.lower().replace(" ", "_")
        answer = error_response(HTTPStatus(error.status), code, error.reason)
        if isinstance(error, web.HTTPMethodNotAllowed):
            # RFC 9110: a 405 says which methods the resource does allow.
            answer.headers["Allow"] = ", ".join(sorted(error.allowed_methods))
        return answer
    except Exception as error:
        response = response_for(error)
        if response is not None:
            return response
        # A bug: log it with its traceback, answer without one.
        log.exception("unhandled_error", method=request.method, path=request.path)
        return error_response(
            HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error", "internal error; see server logs"
        )


async def record_deployment(request: web.Request) -> web.Response:
    """POST /api/v1/deployments: the simple payload or the full form."""
    settings = request.app[API_SETTINGS]
    tracker = request.app[TRACKER]
    body = await read_json_body(request, limit=settings.max_body_bytes)
    document = _decode_object(body)
    if "image" in document:
        result = await record_simple(
            msgspec.convert(document, SimpleDeploymentBody),
            tracker=tracker,
            logical_environment=settings.default_logical_environment,
        )
    else:
        result = await record_full(msgspec.convert(document, DeploymentBody), tracker=tracker)
    status = HTTPStatus.CREATED if result.outcome in _CREATED_OUTCOMES else HTTPStatus.OK
    return _json(result_to_wire(result), status=status)


async def list_deployments(request: web.Request) -> web.Response:
    """GET /api/v1/deployments: active records, or all with ``history=true``."""
    query = deployment_query_from(request.query)
    page = await request.app[TRACKER].list_deployments(query)
    return _json(page_to_wire(page))


async def create_environment(request: web.Request) -> web.Response:
    """POST /api/v1/environments."""
    body = await read_json_body(request, limit=request.app[API_SETTINGS].max_body_bytes)
    payload = msgspec.convert(_decode_object(body), EnvironmentBody)
    environment = await request.app[TRACKER].create_environment(
        payload.name, description=payload.description
    )
    return _json(environment_to_wire(environment), status=HTTPStatus.CREATED)


async def show_cluster(request: web.Request) -> web.Response:
    """GET /api/v1/cluster: the recording source, unrecorded containers, parked records."""
    parameters = request.query
    unknown = sorted(set(parameters) - _CLUSTER_PARAMETERS)
    if unknown:
        raise InvalidParameterError(
            f"unknown query parameter {unknown[0]!r}; known: records", field=unknown[0]
        )
    view = request.app[CLUSTER_VIEW]
    return _json(await view.cluster(records=_bool_parameter(parameters, "records")))


async def list_environments(request: web.Request) -> web.Response:
    """GET /api/v1/environments."""
    environments = await request.app[TRACKER].list_environments()
    return _json(EnvironmentListOut(items=[environment_to_wire(e) for e in environments]))


async def get_environment(request: web.Request) -> web.Response:
    """GET /api/v1/environments/{name}."""
    name = request.match_info["name"]
    environment = await request.app[TRACKER].get_environment(name)
    if environment is None:
        raise ApiError(
            HTTPStatus.NOT_FOUND, "environment_not_found", f"environment {name!r} does not exist"
        )
    return _json(environment_to_wire(environment))


async def list_logical_environments(request: web.Request) -> web.Response:
    """GET /api/v1/logical-environments."""
    environments = await request.app[TRACKER].list_logical_environments()
    return _json(
        LogicalEnvironmentListOut(items=[logical_environment_to_wire(e) for e in environments])
    )


async def post_scan_report(request: web.Request) -> web.Response:
    """POST /api/v1/evidence/{digest}/scans: a scanner's JSON report, as it wrote it."""
    # Digest and format are checked before a report of megabytes is read.
    digest = evidence_digest(request.match_info["digest"])
    scan_format = scan_format_from(request.query)
    body = await read_json_body(request, limit=request.app[API_SETTINGS].max_scan_bytes)
    report = await add_scan_evidence(
        request.app[EVIDENCE_STORE],
        digest=digest,
        document=body,
        format=scan_format,
        now=utc_now(),
    )
    return _json(report, status=HTTPStatus.CREATED)


async def post_provenance(request: web.Request) -> web.Response:
    """POST /api/v1/evidence/{digest}/provenance: replaces what was posted before."""
    digest = evidence_digest(request.match_info["digest"])
    body = await read_json_body(request, limit=request.app[API_SETTINGS].max_body_bytes)
    posted = await set_provenance_evidence(
        request.app[EVIDENCE_STORE], digest=digest, document=body, now=utc_now()
    )
    return _json(posted)


async def show_scans(request: web.Request) -> web.Response:
    """GET /api/v1/evidence/{digest}/scans: every scan kept, newest first, retired included."""
    return _json(await list_scans(request.app[EVIDENCE_STORE], request.match_info["digest"]))


async def post_retirement(request: web.Request) -> web.Response:
    """POST /api/v1/evidence/{digest}/scans/{id}/retire: the scan no longer counts."""
    digest = evidence_digest(request.match_info["digest"])
    scan_id = scan_id_from(request.match_info["id"])
    body = await read_json_body(request, limit=request.app[API_SETTINGS].max_body_bytes)
    payload = msgspec.convert(_decode_object(body), ScanRetirementBody)
    retired = await retire_scan(
        request.app[EVIDENCE_STORE],
        digest=digest,
        scan_id=scan_id,
        reason=payload.reason,
        now=utc_now(),
    )
    # Who took a scan out of the count, for auditors (the store keeps what and why).
    key = request[API_KEY]
    log.info(
        "scan_retired",
        digest=digest,
        scan_id=scan_id,
        scanner=retired.scanner,
        scanned_at=retired.scanned_at,
        reason=retired.retirement.reason if retired.retirement else None,
        retired_by=f"{key.name} ({key.key_id})",
    )
    return _json(retired)


async def show_evidence(request: web.Request) -> web.Response:
    """GET /api/v1/evidence/{digest}: the newest scan, provenance and labels."""
    evidence = await get_evidence(request.app[EVIDENCE_STORE], request.match_info["digest"])
    return _json(evidence)


async def openapi_document(request: web.Request) -> web.Response:
    """GET /api/v1/openapi.json: public, so that clients can be generated without a key."""
    return web.Response(body=load_openapi_document(), content_type="application/json")


def load_openapi_document() -> bytes:
    """The OpenAPI 3 document shipped in the package."""
    return resources.files("imagegate.api").joinpath("openapi.json").read_bytes()


def deployment_query_from(parameters: Mapping[str, str]) -> DeploymentQuery:
    """Validated listing filters from query parameters (or CLI options)."""
    unknown = sorted(set(parameters) - _LIST_PARAMETERS)
    if unknown:
        raise InvalidParameterError(
            f"unknown query parameter {unknown[0]!r}; known: {', '.join(sorted(_LIST_PARAMETERS))}",
            field=unknown[0],
        )
    cursor = parameters.get("cursor")
    return DeploymentQuery(
        environment=parameters.get("environment"),
        logical_environment=parameters.get("logical_environment"),
        deployment_name=parameters.get("deployment_name"),
        kind=_enum_parameter(parameters, "kind", Kind),
        status=_enum_parameter(parameters, "status", Status),
        history=_bool_parameter(parameters, "history"),
        limit=_int_parameter(parameters, "limit", default=100),
        after_id=decode_cursor(cursor) if cursor is not None else None,
    )


def _requires(scope: Scope, handler: Handler) -> Handler:
    async def authorized(request: web.Request) -> web.StreamResponse:
        key = await request.app[AUTHENTICATOR].authorize(
            request.headers.get("Authorization"), scope
        )
        request[API_KEY] = key
        return await handler(request)

    authorized.__name__ = handler.__name__
    authorized.__doc__ = handler.__doc__
    return authorized


def _decode_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(
            HTTPStatus.BAD_REQUEST, "invalid_json", f"the request body is not valid JSON: {error}"
        ) from None
    except RecursionError:
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            "invalid_json",
            "the request body is not valid JSON: it is nested too deeply",
        ) from None
    if not isinstance(document, dict):
        raise ApiError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "invalid_field",
            f"the request body must be a JSON object, not {type(document).__name__}",
        )
    invalid = _invalid_text(document, "")
    if invalid is not None:
        # JSON escapes can spell a lone surrogate, which no store (nor UTF-8) can hold.
        raise InvalidFieldError(
            "text is not valid Unicode (a lone surrogate escape such as \\ud800)",
            field=invalid,
        )
    return document


def _invalid_text(value: Any, path: str) -> str | None:
    """The path of the first string (key or value) UTF-8 cannot encode, if any."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "(body)"
        return None
    children: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if _invalid_text(key, child) is not None:
                return child.encode("utf-8", "backslashreplace").decode()
            children.append((child, item))
    elif isinstance(value, list):
        children = [(f"{path}[{index}]", item) for index, item in enumerate(value)]
    for child, item in children:
        found = _invalid_text(item, child)
        if found is not None:
            return found
    return None


def _enum_parameter(parameters: Mapping[str, str], name: str, kind: type[E]) -> E | None:
    value = parameters.get(name)
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in kind)
        raise InvalidParameterError(f"{name} must be one of {allowed}", field=name) from None


def _bool_parameter(parameters: Mapping[str, str], name: str) -> bool:
    value = parameters.get(name, "false").lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidParameterError(f"{name} must be true or false", field=name)


def _int_parameter(parameters: Mapping[str, str], name: str, *, default: int) -> int:
    value = parameters.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidParameterError(f"{name} must be a whole number", field=name) from None


def _json(value: msgspec.Struct, *, status: int = HTTPStatus.OK) -> web.Response:
    return web.Response(
        body=msgspec.json.encode(value), status=status, content_type="application/json"
    )
