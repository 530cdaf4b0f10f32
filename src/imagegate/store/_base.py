"""The store every database shares: ``tracking.Store``, ``auth.ApiKeyStore`` and
``evidence.EvidenceStore`` written once over the store logic; a database adds how it
runs statements (``_read``, ``_write``), opens, migrates and closes."""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import ClassVar, TypeVar

from imagegate.auth import ApiKey
from imagegate.facts import Evidence, Provenance, ScanReport, StoredScan
from imagegate.store import _api_keys, _evidence, _records
from imagegate.store._sql import Dialect, Steps
from imagegate.tracking import (
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

T = TypeVar("T")


class SqlStore(abc.ABC):
    """The three store protocols on one SQL database."""

    dialect: ClassVar[Dialect]

    @abc.abstractmethod
    async def _read(self, steps: Steps[T]) -> T:
        """Run ``steps`` outside a transaction of their own."""

    @abc.abstractmethod
    async def _write(self, steps: Callable[[], Steps[T]]) -> T:
        """Run new ``steps`` in one write transaction (again, should it lose a race)."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def schema_version(self) -> int:
        """The migration level of the database."""

    # --- tracking.Store ---------------------------------------------------------

    async def record(
        self, request: RecordRequest, *, now: datetime, create_environment: bool
    ) -> RecordResult:
        return await self._write(
            lambda: _records.record(self.dialect, request, now, create_environment)
        )

    async def record_queued(
        self,
        source: str,
        items: Sequence[QueuedRequest],
        *,
        now: datetime,
        create_environment: bool,
    ) -> list[QueuedResult]:
        return await self._write(
            lambda: _records.record_queued(self.dialect, source, items, now, create_environment)
        )

    async def queue_position(self, source: str) -> int:
        return await self._read(_records.queue_position(self.dialect, source))

    async def list_deployments(self, query: DeploymentQuery) -> DeploymentPage:
        return await self._read(_records.list_deployments(self.dialect, query))

    async def active_deployment_names(
        self, *, environment: str, logical_environment: str, kind: Kind, repository: str
    ) -> list[str]:
        return await self._read(
            _records.active_deployment_names(
                self.dialect,
                environment=environment,
                logical_environment=logical_environment,
                kind=kind,
                repository=repository,
            )
        )

    async def create_environment(
        self, name: str, *, description: str, now: datetime
    ) -> Environment:
        return await self._write(
            lambda: _records.create_environment(self.dialect, name, description, now)
        )

    async def get_environment(self, name: str) -> Environment | None:
        return await self._read(_records.get_environment(self.dialect, name))

    async def list_environments(self) -> list[Environment]:
        return await self._read(_records.list_environments(self.dialect))

    async def list_logical_environments(self) -> list[LogicalEnvironment]:
        return await self._read(_records.list_logical_environments(self.dialect))

    # --- auth.ApiKeyStore -------------------------------------------------------

    async def add_api_key(self, key: ApiKey) -> None:
        await self._write(lambda: _api_keys.add_api_key(self.dialect, key))

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        return await self._read(_api_keys.get_api_key(self.dialect, key_id))

    async def list_api_keys(self) -> list[ApiKey]:
        return await self._read(_api_keys.list_api_keys(self.dialect))

    async def revoke_api_key(self, key_id: str, *, now: datetime) -> bool:
        return await self._write(lambda: _api_keys.revoke_api_key(self.dialect, key_id, now))

    # --- evidence.EvidenceStore ----------------------------------------------------

    async def add_scan(self, report: ScanReport, *, now: datetime) -> None:
        await self._write(lambda: _evidence.add_scan(self.dialect, report, now))

    async def latest_scan(self, digest: str) -> ScanReport | None:
        return await self._read(_evidence.latest_scan(self.dialect, digest))

    async def scans(self, digest: str) -> list[StoredScan]:
        return await self._read(_evidence.scans(self.dialect, digest))

    async def retire_scan(
        self, digest: str, scan_id: int, *, reason: str, now: datetime
    ) -> StoredScan:
        return await self._write(
            lambda: _evidence.retire_scan(self.dialect, digest, scan_id, reason, now)
        )

    async def set_provenance(
        self,
        digest: str,
        provenance: Provenance,
        labels: Mapping[str, str],
        *,
        now: datetime,
    ) -> None:
        await self._write(
            lambda: _evidence.set_provenance(self.dialect, digest, provenance, labels, now)
        )

    async def evidence(self, digest: str) -> Evidence:
        return await self._read(_evidence.evidence(self.dialect, digest))
