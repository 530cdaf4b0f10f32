"""Between wire formats and tracking values; shared by the HTTP API and the local CLI."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar

from imagegate.api._wire import (
    ArtifactOut,
    DeploymentBody,
    DeploymentPageOut,
    DeploymentRecordOut,
    EnvironmentOut,
    LogicalEnvironmentOut,
    PlatformBody,
    RecordResultOut,
    SimpleDeploymentBody,
)
from imagegate.errors import RefusedError
from imagegate.tracking import (
    DEFAULT_ENVIRONMENT,
    Artifact,
    DeploymentKey,
    DeploymentPage,
    DeploymentRecord,
    Environment,
    ImageReference,
    InvalidFieldError,
    InvalidParameterError,
    Kind,
    LogicalEnvironment,
    Origin,
    Platform,
    RecordRequest,
    RecordResult,
    Status,
    Tracker,
    parse_pinned_reference,
    parse_repository,
    validate_deployment_name,
    validate_digest,
    validate_environment_name,
)

T = TypeVar("T")

_CURSOR_ALPHABET = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What an encoded cursor is written with (as the document's pattern says)."""
_CURSOR_PREFIX = "v1:"


async def request_from_simple(
    body: SimpleDeploymentBody, *, tracker: Tracker, logical_environment: str
) -> RecordRequest:
    """The record request a simple payload means.

    Its logical environment is the server's default one; its deployment name is
    ``image.name``, else the repository (refused if that is ambiguous).
    """
    reference = _field(lambda: parse_pinned_reference(body.image.url), "image.url")
    environment = (body.environment.name if body.environment else None) or DEFAULT_ENVIRONMENT
    # Fields of the simple payload sit at other paths than in the full form.
    validate_environment_name(environment, field="environment.name")
    if body.image.name is not None:
        deployment_name = validate_deployment_name(body.image.name, field="image.name")
    else:
        deployment_name = await tracker.default_deployment_name(
            environment=environment,
            logical_environment=logical_environment,
            kind=Kind.CONTAINER_IMAGE,
            repository=reference.repository,
        )
    key = DeploymentKey(
        environment=environment,
        logical_environment=logical_environment,
        deployment_name=deployment_name,
        kind=Kind.CONTAINER_IMAGE,
    )
    return RecordRequest(
        key=key,
        artifact=_artifact_of(reference),
        platform=_platform(body.platform) or Platform(),
    )


async def record_simple(
    body: SimpleDeploymentBody, *, tracker: Tracker, logical_environment: str
) -> RecordResult:
    """Record a simple payload; errors name the payload's own fields."""
    fields = {
        "environment": "environment.name",
        "reference": "image.url",
        "deployment_name": "image.name" if body.image.name is not None else "image.url",
    }
    with _renamed_fields(fields):
        request = await request_from_simple(
            body, tracker=tracker, logical_environment=logical_environment
        )
        return await tracker.record(request)


async def record_full(
    body: DeploymentBody, *, tracker: Tracker, origin: Origin = Origin.API
) -> RecordResult:
    """Record a full-form payload; errors name the payload's own fields."""
    # An artifact given as repository + digest is at fault in its digest, not "reference".
    named_by_digest = body.reference is None and body.digest is not None
    fields = {"reference": "digest"} if named_by_digest else {}
    with _renamed_fields(fields):
        return await tracker.record(replace(request_from_full(body), origin=origin))


def request_from_full(body: DeploymentBody) -> RecordRequest:
    """The record request of a full-form payload."""
    status = Status(body.status)
    artifact = _artifact(body)
    if artifact is None and status is Status.DEPLOYED:
        raise InvalidFieldError(
            "name the artifact: 'reference' (repo[:tag]@sha256:…) or 'repository' and 'digest'",
            field="reference",
        )
    platform = _platform(body.platform)
    if platform is None and body.kind is Kind.CONTAINER_IMAGE:
        platform = Platform()
    return RecordRequest(
        key=DeploymentKey(
            environment=body.environment,
            logical_environment=body.logical_environment,
            deployment_name=body.deployment_name,
            kind=body.kind,
        ),
        artifact=artifact,
        platform=platform,
        status=status,
    )


def record_to_wire(record: DeploymentRecord) -> DeploymentRecordOut:
    platform = record.platform
    return DeploymentRecordOut(
        id=record.id,
        environment=record.key.environment,
        logical_environment=record.key.logical_environment,
        deployment_name=record.key.deployment_name,
        kind=record.key.kind.value,
        artifact=ArtifactOut(
            repository=record.artifact.repository,
            digest=record.artifact.digest,
            tag=record.artifact.tag,
            reference=record.artifact.reference,
        ),
        platform=(
            PlatformBody(
                os=platform.os, architecture=platform.architecture, variant=platform.variant
            )
            if platform
            else None
        ),
        status=record.status.value,
        created_at=timestamp_to_wire(record.created_at),
        updated_at=timestamp_to_wire(record.updated_at),
        last_seen_at=timestamp_to_wire(record.last_seen_at),
        superseded_by=record.superseded_by,
        origin=record.origin.value,
        ended_by=record.ended_by.value if record.ended_by else None,
    )


def result_to_wire(result: RecordResult) -> RecordResultOut:
    return RecordResultOut(
        outcome=result.outcome.value,
        record=record_to_wire(result.record) if result.record else None,
        superseded=record_to_wire(result.superseded) if result.superseded else None,
    )


def page_to_wire(page: DeploymentPage) -> DeploymentPageOut:
    return DeploymentPageOut(
        items=[record_to_wire(record) for record in page.records],
        next_cursor=encode_cursor(page.next_after_id) if page.next_after_id is not None else None,
    )


def environment_to_wire(environment: Environment) -> EnvironmentOut:
    return EnvironmentOut(
        name=environment.name,
        description=environment.description,
        created_at=timestamp_to_wire(environment.created_at),
    )


def logical_environment_to_wire(environment: LogicalEnvironment) -> LogicalEnvironmentOut:
    return LogicalEnvironmentOut(
        name=environment.name, created_at=timestamp_to_wire(environment.created_at)
    )


def timestamp_to_wire(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds, e.g. ``2026-01-02T03:04:05.000006Z``."""
    # Not strftime: its %Y drops the leading zeros of a year before 1000 ("369-…").
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def encode_cursor(after_id: int) -> str:
    """An opaque page cursor, so clients do not come to depend on what is inside."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{after_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The record id a cursor continues after; InvalidParameterError for a cursor not ours."""
    # b64decode skips characters outside its alphabet: "djE6MQ!!" would pass for "djE6MQ".
    if not _CURSOR_ALPHABET.fullmatch(cursor):
        raise InvalidParameterError("cursor is not one this API returned", field="cursor")
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text.startswith(_CURSOR_PREFIX):
            after_id = int(text.removeprefix(_CURSOR_PREFIX))
            # Record ids are positive 64-bit integers; a bigger one no store can compare.
            if 0 < after_id < 2**63:
                return after_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidParameterError("cursor is not one this API returned", field="cursor")


def _artifact(body: DeploymentBody) -> Artifact | None:
    if body.reference is not None:
        if body.repository is not None or body.digest is not None or body.tag is not None:
            raise InvalidFieldError(
                "give either 'reference' or 'repository' with 'digest', not both",
                field="reference",
            )
        reference = _field(lambda: parse_pinned_reference(body.reference or ""), "reference")
        return _artifact_of(reference)
    if body.repository is None and body.digest is None:
        return None
    if body.repository is None or body.digest is None:
        missing = "repository" if body.repository is None else "digest"
        raise InvalidFieldError(
            f"'{missing}' is missing: an artifact is named by repository and digest together",
            field=missing,
        )
    repository = _field(lambda: parse_repository(body.repository or ""), "repository")
    digest = _field(lambda: validate_digest(body.digest or ""), "digest")
    if body.tag is not None:
        # Validate the tag with the reference grammar it will be printed in.
        _field(
            lambda: parse_pinned_reference(f"{repository.repository}:{body.tag}@{digest}"), "tag"
        )
    return Artifact(repository=repository.repository, digest=digest, tag=body.tag)


def _artifact_of(reference: ImageReference) -> Artifact:
    assert reference.digest is not None, "parsed with parse_pinned_reference"
    return Artifact(repository=reference.repository, digest=reference.digest, tag=reference.tag)


def _platform(body: PlatformBody | None) -> Platform | None:
    if body is None:
        return None
    parts = [("os", body.os), ("architecture", body.architecture)]
    if body.variant:  # an empty variant is none, as OCI image indexes leave it out
        parts.append(("variant", body.variant))
    for name, value in parts:
        if not value or not value.isascii() or not value.replace("_", "").isalnum():
            raise InvalidFieldError(
                f"platform {name} {value!r} must be letters, digits or '_'",
                field=f"platform.{name}",
            )
    return Platform(os=body.os, architecture=body.architecture, variant=body.variant or None)


@contextmanager
def _renamed_fields(renames: Mapping[str, str]) -> Iterator[None]:
    # The tracker names fields as in the full form; a payload of another shape has them
    # at other paths, and the user must be told the path they actually sent.
    try:
        yield
    except RefusedError as error:
        if error.field is not None and error.field in renames:
            raise error.at(renames[error.field]) from error
        raise


def _field(parse: Callable[[], T], field: str) -> T:
    """Run ``parse``; a tracking error it raises is attributed to ``field``."""
    try:
        return parse()
    except RefusedError as error:
        if error.field is None:
            raise error.at(field) from error
        raise
