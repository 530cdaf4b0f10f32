"""The tracking core: what runs where, as an append-only audit trail.

Knows nothing of HTTP or Kubernetes; every front door (admission webhook, HTTP
API, CLI) records through ``Tracker``.
"""

from imagegate.tracking._errors import (
    AmbiguousDeploymentError,
    ArtifactMismatchError,
    DigestRequiredError,
    EnvironmentExistsError,
    InvalidFieldError,
    InvalidNameError,
    InvalidParameterError,
    InvalidReferenceError,
    StoreError,
    StoreUnavailableError,
    TrackingError,
    UnknownEnvironmentError,
)
from imagegate.tracking._model import (
    DEFAULT_ENVIRONMENT,
    DEFAULT_LOGICAL_ENVIRONMENTS,
    Artifact,
    DeploymentKey,
    DeploymentPage,
    DeploymentQuery,
    DeploymentRecord,
    Environment,
    Kind,
    LogicalEnvironment,
    Outcome,
    Platform,
    QueuedRequest,
    QueuedResult,
    RecordRequest,
    RecordResult,
    Status,
)
from imagegate.tracking._names import (
    validate_deployment_name,
    validate_description,
    validate_environment_name,
)
from imagegate.tracking._planning import Plan, coalesce, plan_recording
from imagegate.tracking._reference import (
    DEFAULT_REGISTRY,
    ImageReference,
    parse_pinned_reference,
    parse_reference,
    parse_repository,
    validate_digest,
)
from imagegate.tracking._service import MAX_PAGE_SIZE, Tracker, TrackerSettings, utc_now
from imagegate.tracking._store import Store

__all__ = [
    "DEFAULT_ENVIRONMENT",
    "DEFAULT_LOGICAL_ENVIRONMENTS",
    "DEFAULT_REGISTRY",
    "MAX_PAGE_SIZE",
    "AmbiguousDeploymentError",
    "Artifact",
    "ArtifactMismatchError",
    "DeploymentKey",
    "DeploymentPage",
    "DeploymentQuery",
    "DeploymentRecord",
    "DigestRequiredError",
    "Environment",
    "EnvironmentExistsError",
    "ImageReference",
    "InvalidFieldError",
    "InvalidNameError",
    "InvalidParameterError",
    "InvalidReferenceError",
    "Kind",
    "LogicalEnvironment",
    "Outcome",
    "Plan",
    "Platform",
    "QueuedRequest",
    "QueuedResult",
    "RecordRequest",
    "RecordResult",
    "Status",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "Tracker",
    "TrackerSettings",
    "TrackingError",
    "UnknownEnvironmentError",
    "coalesce",
    "parse_pinned_reference",
    "parse_reference",
    "parse_repository",
    "plan_recording",
    "utc_now",
    "validate_deployment_name",
    "validate_description",
    "validate_digest",
    "validate_environment_name",
]
