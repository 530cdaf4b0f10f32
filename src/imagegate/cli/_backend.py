"""Where CLI commands act: the local store, or a remote imagegate server over HTTP."""

from __future__ import annotations

import json
import ssl
import urllib.parse
from collections.abc import Mapping
from typing import Protocol, TypeVar

import aiohttp
import msgspec

from imagegate.api import (
    ClusterOut,
    DeploymentBody,
    DeploymentPageOut,
    EnvironmentBody,
    EnvironmentOut,
    EvidenceOut,
    ProvenanceEvidenceOut,
    RecordResultOut,
    ScanListOut,
    ScanReportOut,
    ScanRetirementBody,
    StoredScanOut,
    add_scan_evidence,
    deployment_query_from,
    environment_to_wire,
    evidence_digest,
    get_evidence,
    list_scans,
    page_to_wire,
    record_full,
    result_to_wire,
    retire_scan,
    set_provenance_evidence,
)
from imagegate.errors import ImagegateError
from imagegate.evidence import EvidenceStore, ScanFormat
from imagegate.store import PostgresStore, SqliteStore, open_store
from imagegate.tracking import Origin, Tracker, utc_now

T = TypeVar("T")

_TIMEOUT_S = 30.0


class CliError(ImagegateError):
    """A failure to report as one line on stderr, with the process exit code."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class CommandFailed(Exception):
    """A command that ran and reports failure: its output goes to stdout, then the exit code.

    Unlike CliError (one line on stderr), the findings are the command's result.
    """

    def __init__(self, output: str, *, exit_code: int) -> None:
        super().__init__(output)
        self.output = output
        self.exit_code = exit_code


class Backend(Protocol):
    """Operations the CLI runs, answered in the HTTP API's wire formats."""

    async def record(self, body: DeploymentBody) -> RecordResultOut: ...

    async def list_deployments(self, parameters: Mapping[str, str]) -> DeploymentPageOut: ...

    async def create_environment(self, body: EnvironmentBody) -> EnvironmentOut: ...

    async def list_environments(self) -> list[EnvironmentOut]: ...

    async def get_environment(self, name: str) -> EnvironmentOut | None: ...

    async def push_scan(
        self, digest: str, document: bytes, scan_format: ScanFormat | None
    ) -> ScanReportOut: ...

    async def push_provenance(self, digest: str, document: bytes) -> ProvenanceEvidenceOut: ...

    async def get_evidence(self, digest: str) -> EvidenceOut: ...

    async def list_scans(self, digest: str) -> ScanListOut: ...

    async def retire_scan(self, digest: str, scan_id: int, reason: str) -> StoredScanOut: ...

    async def cluster(self, *, records: bool) -> ClusterOut: ...

    async def close(self) -> None: ...


class LocalBackend:
    """Acts on the store directly, through the same tracker as the server.

    The store is opened at the first operation, after the command checked its own
    arguments: a mistake in them is reported as such, whatever the store.
    """

    def __init__(self, store_url: str, *, create: bool = True) -> None:
        self._store_url = store_url
        self._create = create
        self._store: SqliteStore | PostgresStore | None = None

    async def record(self, body: DeploymentBody) -> RecordResultOut:
        tracker = await self._tracker()
        return result_to_wire(await record_full(body, tracker=tracker, origin=Origin.CLI))

    async def list_deployments(self, parameters: Mapping[str, str]) -> DeploymentPageOut:
        query = deployment_query_from(parameters)
        page = await (await self._tracker()).list_deployments(query)
        return page_to_wire(page)

    async def create_environment(self, body: EnvironmentBody) -> EnvironmentOut:
        environment = await (await self._tracker()).create_environment(
            body.name, description=body.description
        )
        return environment_to_wire(environment)

    async def list_environments(self) -> list[EnvironmentOut]:
        return [environment_to_wire(e) for e in await (await self._tracker()).list_environments()]

    async def get_environment(self, name: str) -> EnvironmentOut | None:
        environment = await (await self._tracker()).get_environment(name)
        return environment_to_wire(environment) if environment else None

    async def push_scan(
        self, digest: str, document: bytes, scan_format: ScanFormat | None
    ) -> ScanReportOut:
        return await add_scan_evidence(
            await self._evidence(),
            digest=digest,
            document=document,
            format=scan_format,
            now=utc_now(),
        )

    async def push_provenance(self, digest: str, document: bytes) -> ProvenanceEvidenceOut:
        return await set_provenance_evidence(
            await self._evidence(), digest=digest, document=document, now=utc_now()
        )

    async def get_evidence(self, digest: str) -> EvidenceOut:
        checked = evidence_digest(digest)  # before the store opens: a bad digest is the error
        return await get_evidence(await self._evidence(), checked)

    async def list_scans(self, digest: str) -> ScanListOut:
        checked = evidence_digest(digest)
        return await list_scans(await self._evidence(), checked)

    async def retire_scan(self, digest: str, scan_id: int, reason: str) -> StoredScanOut:
        checked = evidence_digest(digest)
        return await retire_scan(
            await self._evidence(),
            digest=checked,
            scan_id=scan_id,
            reason=reason,
            now=utc_now(),
        )

    async def cluster(self, *, records: bool) -> ClusterOut:
        raise CliError("'cluster status' asks a running server: give --server URL")

    async def close(self) -> None:
        if self._store is not None:
            await self._store.close()

    async def _opened(self) -> SqliteStore | PostgresStore:
        if self._store is None:
            self._store = await open_store(self._store_url, create=self._create)
        return self._store

    async def _tracker(self) -> Tracker:
        return Tracker(await self._opened())

    async def _evidence(self) -> EvidenceStore:
        return await self._opened()


def _ca_context(ca_file: str) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=ca_file)
    except OSError as error:  # ssl.SSLError included
        reason = error.strerror or str(error)
        raise CliError(f"--ca-file {ca_file}: not a readable PEM CA bundle ({reason})") from None


class RemoteBackend:
    """Acts through an imagegate server's HTTP API with a bearer token."""

    def __init__(self, server: str, *, token: str | None, ca_file: str | None = None) -> None:
        self._server = server.rstrip("/")
        self._token = token
        self._ssl = _ca_context(ca_file) if ca_file else None
        self._session: aiohttp.ClientSession | None = None

    async def record(self, body: DeploymentBody) -> RecordResultOut:
        return await self._call("POST", "/api/v1/deployments", RecordResultOut, body=body)

    async def list_deployments(self, parameters: Mapping[str, str]) -> DeploymentPageOut:
        query = urllib.parse.urlencode(parameters)
        return await self._call("GET", f"/api/v1/deployments?{query}", DeploymentPageOut)

    async def create_environment(self, body: EnvironmentBody) -> EnvironmentOut:
        return await self._call("POST", "/api/v1/environments", EnvironmentOut, body=body)

    async def list_environments(self) -> list[EnvironmentOut]:
        listing = await self._call("GET", "/api/v1/environments", _EnvironmentList)
        return listing.items

    async def get_environment(self, name: str) -> EnvironmentOut | None:
        path = f"/api/v1/environments/{urllib.parse.quote(name, safe='')}"
        try:
            return await self._call("GET", path, EnvironmentOut)
        except _NotFoundError:
            return None

    async def push_scan(
        self, digest: str, document: bytes, scan_format: ScanFormat | None
    ) -> ScanReportOut:
        query = f"?format={scan_format.value}" if scan_format else ""
        path = f"{_evidence_path(digest)}/scans{query}"
        return await self._call("POST", path, ScanReportOut, data=document)

    async def push_provenance(self, digest: str, document: bytes) -> ProvenanceEvidenceOut:
        path = f"{_evidence_path(digest)}/provenance"
        return await self._call("POST", path, ProvenanceEvidenceOut, data=document)

    async def get_evidence(self, digest: str) -> EvidenceOut:
        return await self._call("GET", _evidence_path(digest), EvidenceOut)

    async def list_scans(self, digest: str) -> ScanListOut:
        return await self._call("GET", f"{_evidence_path(digest)}/scans", ScanListOut)

    async def retire_scan(self, digest: str, scan_id: int, reason: str) -> StoredScanOut:
        path = f"{_evidence_path(digest)}/scans/{scan_id}/retire"
        body = ScanRetirementBody(reason=reason)
        return await self._call("POST", path, StoredScanOut, body=body)

    async def cluster(self, *, records: bool) -> ClusterOut:
        query = "?records=true" if records else ""
        return await self._call("GET", f"/api/v1/cluster{query}", ClusterOut)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _call(
        self,
        method: str,
        path: str,
        answer: type[T],
        *,
        body: msgspec.Struct | None = None,
        data: bytes | None = None,
    ) -> T:
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        # ``data`` is a JSON document sent as it is (a scanner's report).
        if body is not None:
            data = msgspec.json.encode(body)
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=_TIMEOUT_S),
                connector=aiohttp.TCPConnector(ssl=self._ssl if self._ssl else True),
            )
        try:
            async with self._session.request(
                method, self._server + path, data=data, headers=headers
            ) as response:
                content = await response.read()
                if response.status >= 400:
                    raise _http_error(response.status, response.reason, content)
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            reason = "no answer in time" if isinstance(error, TimeoutError) else error
            raise CliError(f"cannot reach {self._server}: {reason}", exit_code=3) from None
        try:
            return msgspec.json.decode(content, type=answer)
        except msgspec.DecodeError as error:
            raise CliError(f"unexpected answer from {self._server}: {error}") from None


class _EnvironmentList(msgspec.Struct):
    items: list[EnvironmentOut]


class _NotFoundError(CliError):
    pass


def _evidence_path(digest: str) -> str:
    return f"/api/v1/evidence/{urllib.parse.quote(digest, safe=':')}"


def _http_error(status: int, reason: str | None, content: bytes) -> CliError:
    try:
        detail = json.loads(content)["error"]
        message = str(detail["message"])
    except (ValueError, KeyError, TypeError):
        message = f"HTTP {status} {reason or ''}".rstrip()
    if status == 404:
        return _NotFoundError(message)
    return CliError(message, exit_code=3 if status >= 500 else 1)
