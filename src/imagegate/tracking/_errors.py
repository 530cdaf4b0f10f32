"""Errors of the tracking core, for callers that record or query deployments.

Each is one of the kinds of ``imagegate.errors`` and carries ``code`` (stable)
and ``field`` (the input at fault, if one is), so that every front door (HTTP
API, CLI, admission) reports it by its kind, without knowing its type.
"""

from __future__ import annotations

from imagegate.errors import (
    ConflictError,
    InternalError,
    InvalidInputError,
    UnavailableError,
)


class InvalidReferenceError(InvalidInputError):
    """An image reference or digest does not follow the reference grammar."""

    code = "invalid_reference"

    def __init__(self, reference: str, reason: str, *, field: str | None = None) -> None:
        super().__init__(f"invalid image reference {reference!r}: {reason}", field=field)
        self.reference = reference


class DigestRequiredError(InvalidInputError):
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


class InvalidNameError(InvalidInputError):
    """A name (environment, logical environment, deployment) is malformed."""

    code = "invalid_name"


class InvalidFieldError(InvalidInputError):
    """A request field is missing, malformed or contradicts another one."""

    code = "invalid_field"


class InvalidParameterError(InvalidInputError):
    """A query parameter (filter, limit, cursor) is malformed or unknown."""

    code = "invalid_parameter"


class UnknownEnvironmentError(InvalidInputError):
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


class EnvironmentExistsError(ConflictError):
    """Creating an environment whose name is taken."""

    code = "environment_exists"

    def __init__(self, name: str) -> None:
        super().__init__(f"environment {name!r} already exists", field="name")
        self.name = name


class AmbiguousDeploymentError(ConflictError):
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


class ArtifactMismatchError(ConflictError):
    """Decommissioning an artifact that is not the one deployed under the key."""

    code = "artifact_mismatch"

    def __init__(self, requested: str, active: str) -> None:
        super().__init__(
            f"cannot decommission {requested}: the deployed artifact under this key is {active}",
            field="reference",
        )


class StoreError(InternalError):
    """The record store failed; not the caller's fault (a 500, not a 4xx)."""

    code = "store_error"


class StoreMissingError(StoreError):
    """A command that only reads was pointed at a store that does not exist: it is not
    created, as an empty store there would hide a mistyped path."""


class StoreUnavailableError(StoreError, UnavailableError):
    """The record store cannot be reached or written right now; retrying later may work
    (a 503: of the two kinds, unavailable is the one a caller can act on)."""

    code = "store_unavailable"
