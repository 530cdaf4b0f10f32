"""The tracking core's entry point: every front door records through a ``Tracker``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from imagegate.errors import RefusedError
from imagegate.tracking._errors import (
    AmbiguousDeploymentError,
    InvalidFieldError,
    InvalidParameterError,
)
from imagegate.tracking._model import (
    DeploymentPage,
    DeploymentQuery,
    Environment,
    Kind,
    LogicalEnvironment,
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
from imagegate.tracking._planning import coalesce
from imagegate.tracking._store import Store

MAX_PAGE_SIZE = 1000


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class TrackerSettings:
    """How the tracker treats names it has not seen."""

    auto_create_environments: bool = False
    """Create an unknown environment on first record instead of refusing it.

    Off by default: a typo in a pipeline (``k8s-eats``) should fail loudly rather
    than start a new, silently empty environment.
    """


class Tracker:
    """Validates requests and applies them to a ``Store``."""

    def __init__(
        self,
        store: Store,
        *,
        settings: TrackerSettings | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._settings = settings or TrackerSettings()
        self._clock = clock

    async def record(self, request: RecordRequest) -> RecordResult:
        """Record a deployment: create, supersede, refresh or decommission, atomically."""
        _validate_request(request)
        return await self._store.record(
            request,
            now=self._clock(),
            create_environment=self._settings.auto_create_environments,
        )

    async def record_queued(
        self, source: str, items: Sequence[QueuedRequest]
    ) -> list[QueuedResult]:
        """Apply requests taken from the durable queue ``source``, exactly once.

        Results come in the order of ``items``; an invalid request is reported in
        its result and the others are applied all the same.
        """
        valid: list[QueuedRequest] = []
        refused: dict[int, QueuedResult] = {}
        for item in items:
            try:
                _validate_request(item.request)
            except RefusedError as error:
                refused[item.sequence] = QueuedResult(sequence=item.sequence, error=error)
            else:
                valid.append(item)
        applied: list[QueuedResult] = []
        kept, dropped = coalesce(valid)
        if kept:
            applied = await self._store.record_queued(
                source,
                kept,
                now=self._clock(),
                create_environment=self._settings.auto_create_environments,
            )
        coalesced = {
            sequence: QueuedResult(sequence=sequence, coalesced=True) for sequence in dropped
        }
        by_sequence = {result.sequence: result for result in applied} | refused | coalesced
        return [by_sequence[item.sequence] for item in items]

    async def queue_position(self, source: str) -> int:
        """The highest sequence of the queue ``source`` that the store has applied."""
        return await self._store.queue_position(source)

    async def default_deployment_name(
        self, *, environment: str, logical_environment: str, kind: Kind, repository: str
    ) -> str:
        """The deployment name for a record that names none: its repository.

        Refused when the repository is already deployed under other names there,
        since the record could then replace any of them.
        """
        names = await self._store.active_deployment_names(
            environment=environment,
            logical_environment=logical_environment,
            kind=kind,
            repository=repository,
        )
        others = sorted(name for name in names if name != repository)
        if others:
            raise AmbiguousDeploymentError(repository, environment, others)
        return repository

    async def list_deployments(self, query: DeploymentQuery) -> DeploymentPage:
        """Records matching ``query``, newest first, one page."""
        if not 1 <= query.limit <= MAX_PAGE_SIZE:
            raise InvalidParameterError(f"limit must be 1 to {MAX_PAGE_SIZE}", field="limit")
        return await self._store.list_deployments(query)

    async def create_environment(self, name: str, *, description: str = "") -> Environment:
        """Create an environment (e.g. a cluster)."""
        validate_environment_name(name, field="name")
        validate_description(description)
        return await self._store.create_environment(
            name, description=description, now=self._clock()
        )

    async def get_environment(self, name: str) -> Environment | None:
        """The environment called ``name``, if it exists."""
        return await self._store.get_environment(name)

    async def list_environments(self) -> list[Environment]:
        """All environments, by name."""
        return await self._store.list_environments()

    async def list_logical_environments(self) -> list[LogicalEnvironment]:
        """All logical environments, by name."""
        return await self._store.list_logical_environments()


def _validate_request(request: RecordRequest) -> None:
    validate_environment_name(request.key.environment, field="environment")
    validate_environment_name(request.key.logical_environment, field="logical_environment")
    validate_deployment_name(request.key.deployment_name)
    if request.status is Status.SUPERSEDED:
        raise InvalidFieldError(
            "status 'superseded' is set by imagegate when a newer artifact is recorded; "
            "record the new artifact instead",
            field="status",
        )
    if request.status is Status.DEPLOYED and request.artifact is None:
        raise InvalidFieldError("a deployed record needs an artifact", field="reference")
