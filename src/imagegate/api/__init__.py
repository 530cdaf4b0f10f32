"""The HTTP API for CD pipelines and GitOps controllers, under ``/api/v1``."""

from imagegate.api._auth import Authenticator
from imagegate.api._convert import (
    environment_to_wire,
    page_to_wire,
    record_full,
    record_simple,
    record_to_wire,
    request_from_full,
    request_from_simple,
    result_to_wire,
)
from imagegate.api._errors import ApiError, error_response, response_for
from imagegate.api._routes import (
    API_SETTINGS,
    AUTHENTICATOR,
    TRACKER,
    ApiSettings,
    add_api_routes,
    deployment_query_from,
    json_errors,
    load_openapi_document,
)
from imagegate.api._wire import (
    DeploymentBody,
    DeploymentPageOut,
    DeploymentRecordOut,
    EnvironmentBody,
    EnvironmentOut,
    PlatformBody,
    RecordResultOut,
    SimpleDeploymentBody,
)

__all__ = [
    "API_SETTINGS",
    "AUTHENTICATOR",
    "TRACKER",
    "ApiError",
    "ApiSettings",
    "Authenticator",
    "DeploymentBody",
    "DeploymentPageOut",
    "DeploymentRecordOut",
    "EnvironmentBody",
    "EnvironmentOut",
    "PlatformBody",
    "RecordResultOut",
    "SimpleDeploymentBody",
    "add_api_routes",
    "deployment_query_from",
    "environment_to_wire",
    "error_response",
    "json_errors",
    "load_openapi_document",
    "page_to_wire",
    "record_full",
    "record_simple",
    "record_to_wire",
    "request_from_full",
    "request_from_simple",
    "response_for",
    "result_to_wire",
]
