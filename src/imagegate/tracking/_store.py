"""The seam between the tracking core and a database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

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
)


class Store(Protocol):
    """Durable deployment records and environments.

    Implementations must enforce "at most one ``deployed`` record per key" in the
    database itself and must run each ``record`` call as one transaction that
    reads the deployed record, decides with ``plan_recording`` and writes.
    Failures to reach or write the database raise ``StoreUnavailableError``.
    """

    async def record(
        self, request: RecordRequest, *, now: datetime, create_environment: bool
    ) -> RecordResult:
        """Apply ``request`` atomically.

        Raises UnknownEnvironmentError if the environment does not exist and
        ``create_environment`` is false. Unknown logical environments are created.
        """
        ...

    async def record_queued(
        self,
        source: str,
        items: Sequence[QueuedRequest],
        *,
        now: datetime,
        create_environment: bool,
    ) -> list[QueuedResult]:
        """Apply requests from the durable queue ``source`` in one transaction.

        The highest sequence applied is committed with the records, so a batch that
        is replayed after a crash is recognised and not applied twice: delivery from
        the queue becomes exactly-once. A request the store refuses for good (a
        RefusedError) is reported in its result and does not stop the others.
        """
        ...

    async def queue_position(self, source: str) -> int:
        """The highest sequence of ``source`` applied so far; 0 if none."""
        ...

    async def list_deployments(self, query: DeploymentQuery) -> DeploymentPage:
        """Records matching ``query``, newest first."""
        ...

    async def active_deployment_names(
        self, *, environment: str, logical_environment: str, kind: Kind, repository: str
    ) -> list[str]:
        """Names of the deployed records of ``repository`` under the given environment."""
        ...

    async def create_environment(
        self, name: str, *, description: str, now: datetime
    ) -> Environment:
        """Create an environment; raises EnvironmentExistsError if the name is taken."""
        ...

    async def get_environment(self, name: str) -> Environment | None:
        """The environment called ``name``, if any."""
        ...

    async def list_environments(self) -> list[Environment]:
        """All environments, by name."""
        ...

    async def list_logical_environments(self) -> list[LogicalEnvironment]:
        """All logical environments, by name."""
        ...

    async def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...
