"""Errors of the tracking core, for callers that record or query deployments.

Each error carries ``code`` (machine-readable, stable) and ``field`` (the input at
fault, if one is) so that every front door (HTTP API, CLI, admission) can report
it without knowing its type in detail.
"""

from __future__ import annotations


class TrackingError(Exception):
    """Base of errors a caller of the tracking core can cause and correct."""

    code = "tracking_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidReferenceError(TrackingError):
    """An image reference or digest does not follow the reference grammar."""

    code = "invalid_reference"

    def __init__(self, reference: str, reason: str, *, field: str | None = None) -> None:
        super().__init__(f"invalid image reference {reference!r}: {reason}", field=field)
        self.reference = reference


class DigestRequiredError(TrackingError):
    """A tag-only reference was given where the exact image must be known."""

    code = "digest_required"

    def __init__(self, reference: str, *, field: str | None = None) -> None:
        super().__init__(
            f"image reference {reference!r} has no digest: a deployment record needs the "
            "image digest (repo@sha256:...), because a tag is mutable and may point to a "
            "different image tomorrow; resolve it with e.g. "
            "'docker buildx imagetools inspect' or 'crane digest'",
            field=field,
        )
        self.reference = reference


class InvalidNameError(TrackingError):
    """A name (environment, logical environment, deployment) is malformed."""

    code = "invalid_name"


class InvalidFieldError(TrackingError):
    """A request field is missing, malformed or contradicts another one."""

    code = "invalid_field"


class InvalidParameterError(TrackingError):
    """A query parameter (filter, limit, cursor) is malformed or unknown."""

    code = "invalid_parameter"


class UnknownEnvironmentError(TrackingError):
    """Recording into an environment that was never created, with auto-creation off."""

    code = "unknown_environment"

    def __init__(self, name: str, *, field: str | None = None) -> None:
        super().__init__(
            f"environment {name!r} does not exist; create it first "
            f"('imagegate environment create --name {name}' or POST /api/v1/environments), "
            "or start the server with --auto-create-environments",
            field=field,
        )
        self.name = name


class EnvironmentExistsError(TrackingError):
    """Creating an environment whose name is taken."""

    code = "environment_exists"

    def __init__(self, name: str) -> None:
        super().__init__(f"environment {name!r} already exists", field="name")
        self.name = name


class AmbiguousDeploymentError(TrackingError):
    """A deployment name was left to default where several deployments share a repository."""

    code = "ambiguous_deployment"

    def __init__(self, repository: str, environment: str, names: list[str]) -> None:
        listed = ", ".join(repr(name) for name in names)
        super().__init__(
            f"repository {repository!r} is already deployed in environment {environment!r} "
            f"under deployment name {listed}; when several images of one repository are "
            "deployed in an environment, each must carry a unique image.name so that "
            "imagegate knows which one this record replaces",
            field="image.name",
        )


class ArtifactMismatchError(TrackingError):
    """Decommissioning an artifact that is not the one deployed under the key."""

    code = "artifact_mismatch"

    def __init__(self, requested: str, active: str) -> None:
        super().__init__(
            f"cannot decommission {requested}: the deployed artifact under this key is {active}",
            field="reference",
        )


class StoreError(Exception):
    """The record store failed; not the caller's fault (maps to 503, not 4xx)."""


class StoreMissingError(StoreError):
    """A command that only reads was pointed at a store that does not exist: it is not
    created, as an empty store there would hide a mistyped path."""


class StoreUnavailableError(StoreError):
    """The record store cannot be reached or written right now; retrying later may work."""
