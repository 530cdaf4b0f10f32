"""The HTTP API under ``/api/v1``: an aiohttp sub-application and its handlers."""

from __future__ import annotations

from http import HTTPStatus
from importlib import resources

import msgspec
import structlog
from aiohttp import web

from imagegate.api._body import decode_object, read_json_body
from imagegate.api._convert import (
    environment_to_wire,
    logical_environment_to_wire,
    page_to_wire,
    record_full,
    record_simple,
    result_to_wire,
)
from imagegate.api._dependencies import (
    API_KEY,
    API_SETTINGS,
    AUTHENTICATOR,
    CLUSTER_VIEW,
    EVIDENCE_STORE,
    TRACKER,
)
from imagegate.api._errors import ApiError
from imagegate.api._evidence import (
    add_scan_evidence,
    evidence_digest,
    get_evidence,
    scan_format_from,
    set_provenance_evidence,
)
from imagegate.api._middleware import Handler
from imagegate.api._parameters import cluster_records_parameter, deployment_query_from
from imagegate.api._scans import list_scans, retire_scan, scan_id_from
from imagegate.api._settings import ApiSettings
from imagegate.api._wire import (
    DeploymentBody,
    EnvironmentBody,
    EnvironmentListOut,
    LogicalEnvironmentListOut,
    ScanRetirementBody,
    SimpleDeploymentBody,
)
from imagegate.auth import Scope
from imagegate.tracking import Outcome, utc_now

log = structlog.get_logger("imagegate.api")

API_PREFIX = "/api/v1"
"""Where the server mounts the API; the handlers' routes are relative to it."""

_CREATED_OUTCOMES = frozenset({Outcome.CREATED, Outcome.SUPERSEDED})


def api_application(settings: ApiSettings) -> web.Application:
    """The API, to be mounted at ``API_PREFIX``.

    It holds its own settings; the parts it shares with the webhooks (tracker,
    authenticator, evidence, cluster view) come from the parent application's keys.
    Errors become JSON in the parent's ``json_errors`` middleware, which also
    answers for paths no application knows.
    """
    api = web.Application()
    api[API_SETTINGS] = settings
    api.router.add_get("/openapi.json", openapi_document)
    api.router.add_post("/deployments", _requires(Scope.WRITE, record_deployment))
    api.router.add_get("/deployments", _requires(Scope.READ, list_deployments))
    api.router.add_post("/environments", _requires(Scope.WRITE, create_environment))
    api.router.add_get("/environments", _requires(Scope.READ, list_environments))
    api.router.add_get("/environments/{name}", _requires(Scope.READ, get_environment))
    api.router.add_get("/logical-environments", _requires(Scope.READ, list_logical_environments))
    api.router.add_post("/evidence/{digest}/scans", _requires(Scope.WRITE, post_scan_report))
    api.router.add_get("/evidence/{digest}/scans", _requires(Scope.READ, show_scans))
    api.router.add_post(
        "/evidence/{digest}/scans/{id}/retire", _requires(Scope.WRITE, post_retirement)
    )
    api.router.add_post("/evidence/{digest}/provenance", _requires(Scope.WRITE, post_provenance))
    api.router.add_get("/evidence/{digest}", _requires(Scope.READ, show_evidence))
    api.router.add_get("/cluster", _requires(Scope.READ, show_cluster))
    return api


async def record_deployment(request: web.Request) -> web.Response:
    """POST /api/v1/deployments: the simple payload or the full form."""
    settings = request.config_dict[API_SETTINGS]
    tracker = request.config_dict[TRACKER]
    body = await read_json_body(request, limit=settings.max_body_bytes)
    document = decode_object(body)
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
    page = await request.config_dict[TRACKER].list_deployments(query)
    return _json(page_to_wire(page))


async def create_environment(request: web.Request) -> web.Response:
    """POST /api/v1/environments."""
    body = await read_json_body(request, limit=request.config_dict[API_SETTINGS].max_body_bytes)
    payload = msgspec.convert(decode_object(body), EnvironmentBody)
    environment = await request.config_dict[TRACKER].create_environment(
        payload.name, description=payload.description
    )
    return _json(environment_to_wire(environment), status=HTTPStatus.CREATED)


async def show_cluster(request: web.Request) -> web.Response:
    """GET /api/v1/cluster: the recording source, unrecorded containers, parked records."""
    records = cluster_records_parameter(request.query)
    return _json(await request.config_dict[CLUSTER_VIEW].cluster(records=records))


async def list_environments(request: web.Request) -> web.Response:
    """GET /api/v1/environments."""
    environments = await request.config_dict[TRACKER].list_environments()
    return _json(EnvironmentListOut(items=[environment_to_wire(e) for e in environments]))


async def get_environment(request: web.Request) -> web.Response:
    """GET /api/v1/environments/{name}."""
    name = request.match_info["name"]
    environment = await request.config_dict[TRACKER].get_environment(name)
    if environment is None:
        raise ApiError(
            HTTPStatus.NOT_FOUND, "environment_not_found", f"environment {name!r} does not exist"
        )
    return _json(environment_to_wire(environment))


async def list_logical_environments(request: web.Request) -> web.Response:
    """GET /api/v1/logical-environments."""
    environments = await request.config_dict[TRACKER].list_logical_environments()
    return _json(
        LogicalEnvironmentListOut(items=[logical_environment_to_wire(e) for e in environments])
    )


async def post_scan_report(request: web.Request) -> web.Response:
    """POST /api/v1/evidence/{digest}/scans: a scanner's JSON report, as it wrote it."""
    # Digest and format are checked before a report of megabytes is read.
    digest = evidence_digest(request.match_info["digest"])
    scan_format = scan_format_from(request.query)
    body = await read_json_body(request, limit=request.config_dict[API_SETTINGS].max_scan_bytes)
    report = await add_scan_evidence(
        request.config_dict[EVIDENCE_STORE],
        digest=digest,
        document=body,
        format=scan_format,
        now=utc_now(),
    )
    return _json(report, status=HTTPStatus.CREATED)


async def post_provenance(request: web.Request) -> web.Response:
    """POST /api/v1/evidence/{digest}/provenance: replaces what was posted before."""
    digest = evidence_digest(request.match_info["digest"])
    body = await read_json_body(request, limit=request.config_dict[API_SETTINGS].max_body_bytes)
    posted = await set_provenance_evidence(
        request.config_dict[EVIDENCE_STORE], digest=digest, document=body, now=utc_now()
    )
    return _json(posted)


async def show_scans(request: web.Request) -> web.Response:
    """GET /api/v1/evidence/{digest}/scans: every scan kept, newest first, retired included."""
    return _json(
        await list_scans(request.config_dict[EVIDENCE_STORE], request.match_info["digest"])
    )


async def post_retirement(request: web.Request) -> web.Response:
    """POST /api/v1/evidence/{digest}/scans/{id}/retire: the scan no longer counts."""
    digest = evidence_digest(request.match_info["digest"])
    scan_id = scan_id_from(request.match_info["id"])
    body = await read_json_body(request, limit=request.config_dict[API_SETTINGS].max_body_bytes)
    payload = msgspec.convert(decode_object(body), ScanRetirementBody)
    retired = await retire_scan(
        request.config_dict[EVIDENCE_STORE],
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
    evidence = await get_evidence(request.config_dict[EVIDENCE_STORE], request.match_info["digest"])
    return _json(evidence)


async def openapi_document(request: web.Request) -> web.Response:
    """GET /api/v1/openapi.json: public, so that clients can be generated without a key."""
    return web.Response(body=load_openapi_document(), content_type="application/json")


def load_openapi_document() -> bytes:
    """The OpenAPI 3 document shipped in the package."""
    return resources.files("imagegate.api").joinpath("openapi.json").read_bytes()


def _requires(scope: Scope, handler: Handler) -> Handler:
    async def authorized(request: web.Request) -> web.StreamResponse:
        key = await request.config_dict[AUTHENTICATOR].authorize(
            request.headers.get("Authorization"), scope
        )
        request[API_KEY] = key
        return await handler(request)

    authorized.__name__ = handler.__name__
    authorized.__doc__ = handler.__doc__
    return authorized


def _json(value: msgspec.Struct, *, status: int = HTTPStatus.OK) -> web.Response:
    return web.Response(
        body=msgspec.json.encode(value), status=status, content_type="application/json"
    )
