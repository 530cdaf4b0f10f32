"""The CLI's sub-commands: arguments in, rendered text out."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from imagegate._bounded import TooLargeError, read_at_most
from imagegate.api import (
    ApiSettings,
    DeploymentBody,
    DeploymentRecordOut,
    EnvironmentBody,
    EvidenceOut,
    PlatformBody,
    ProvenanceOut,
    ScanReportOut,
    SeverityCountsOut,
    scan_id_from,
)
from imagegate.auth import Scope, issue_key
from imagegate.cli._backend import Backend, CliError
from imagegate.cli._output import (
    render_cluster,
    render_document,
    render_environment,
    render_environments,
    render_records,
    render_result,
    render_retired_scan,
    render_scans,
)
from imagegate.cli._policy import check_policy
from imagegate.evidence import ScanFormat, retirement_reason
from imagegate.store import open_store
from imagegate.tls import generate_certificates, write_certificates
from imagegate.tracking import MAX_PAGE_SIZE, Kind, utc_now


@dataclass(frozen=True, slots=True)
class BackendCommand:
    """A command that acts on records: through the local store or ``--server``."""

    run: Callable[[argparse.Namespace, Backend], Awaitable[str]]
    server_only: bool = False
    """About a running server's state (its cluster watch), which no store holds."""
    reads_only: bool = False
    """Reads, or changes only what is already there: on a local store that does not
    exist it fails, rather than create an empty one that hides a mistyped path."""


@dataclass(frozen=True, slots=True)
class StandaloneCommand:
    """A command that needs no backend: offline, or on the local store by itself."""

    run: Callable[[argparse.Namespace], Awaitable[str]]
    local_store_only: bool = False
    """Works on the local store only (API keys are never managed over the API)."""
    reads_only: bool = False


Command = BackendCommand | StandaloneCommand

_CA_VALID_DAYS = 3650


async def record_deployment(arguments: argparse.Namespace, backend: Backend) -> str:
    if arguments.oci_ref is None and arguments.name is None and arguments.status == "deployed":
        raise CliError("name the artifact: --oci-ref REPO[:TAG]@DIGEST, or --name REPO --digest …")
    if arguments.oci_ref is not None and (arguments.digest or arguments.tag):
        raise CliError("--digest and --tag go with --name, not with --oci-ref")
    if (arguments.name is None) != (arguments.digest is None):
        raise CliError("--name and --digest go together")
    platform = None
    if arguments.os or arguments.arch or arguments.variant:
        platform = PlatformBody(
            os=arguments.os or "linux",
            architecture=arguments.arch or "amd64",
            variant=arguments.variant,
        )
    body = DeploymentBody(
        environment=arguments.env,
        logical_environment=arguments.logical_env,
        deployment_name=arguments.deployment_name,
        kind=Kind(arguments.kind),
        reference=arguments.oci_ref,
        repository=arguments.name,
        digest=arguments.digest,
        tag=arguments.tag,
        platform=platform,
        status=arguments.status,
    )
    return render_result(await backend.record(body), arguments.output)


async def list_deployments(arguments: argparse.Namespace, backend: Backend) -> str:
    if arguments.limit is not None and arguments.limit < 1:
        raise CliError("--limit must be at least 1")
    filters = {
        "environment": arguments.env,
        "logical_environment": arguments.logical_env,
        "deployment_name": arguments.deployment_name,
        "kind": arguments.kind,
        "status": arguments.status,
    }
    parameters = {name: value for name, value in filters.items() if value is not None}
    if arguments.history:
        parameters["history"] = "true"
    wanted = arguments.limit
    records: list[DeploymentRecordOut] = []
    while True:
        page_size = min(MAX_PAGE_SIZE, wanted - len(records)) if wanted else MAX_PAGE_SIZE
        page = await backend.list_deployments({**parameters, "limit": str(page_size)})
        records.extend(page.items)
        if page.next_cursor is None or (wanted and len(records) >= wanted):
            break
        parameters["cursor"] = page.next_cursor
    return render_records(records, arguments.output)


async def create_environment(arguments: argparse.Namespace, backend: Backend) -> str:
    body = EnvironmentBody(name=arguments.name, description=arguments.description)
    return render_environment(await backend.create_environment(body), arguments.output)


async def list_environments(arguments: argparse.Namespace, backend: Backend) -> str:
    return render_environments(await backend.list_environments(), arguments.output)


async def describe_environment(arguments: argparse.Namespace, backend: Backend) -> str:
    environment = await backend.get_environment(arguments.name)
    if environment is None:
        raise CliError(f"environment {arguments.name!r} does not exist")
    return render_environment(environment, arguments.output)


async def create_api_key(arguments: argparse.Namespace) -> str:
    store = await open_store(arguments.store, create=creates_store(arguments))
    try:
        issued = issue_key(
            name=arguments.name,
            scopes=frozenset(Scope(scope) for scope in arguments.scope),
            now=utc_now(),
        )
        await store.add_api_key(issued.key)
    finally:
        await store.close()
    # The token goes to stdout alone so that scripts can capture it; it is never shown again.
    return issued.token


async def list_api_keys(arguments: argparse.Namespace) -> str:
    store = await open_store(arguments.store, create=creates_store(arguments))
    try:
        keys = await store.list_api_keys()
    finally:
        await store.close()
    described: list[dict[str, str | list[str] | None]] = [
        {
            "key_id": key.key_id,
            "name": key.name,
            "scopes": sorted(key.scopes),
            "created_at": key.created_at.isoformat(),
            "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        }
        for key in keys
    ]
    if arguments.output != "table":
        return render_document(described, arguments.output)
    lines = [f"{'KEY ID':<14}{'SCOPES':<12}{'STATE':<9}NAME"]
    for key in keys:
        state = "revoked" if key.revoked_at else "active"
        scopes = ",".join(sorted(key.scopes))
        lines.append(f"{key.key_id:<14}{scopes:<12}{state:<9}{key.name}")
    return "\n".join(lines)


async def revoke_api_key(arguments: argparse.Namespace) -> str:
    store = await open_store(arguments.store, create=creates_store(arguments))
    try:
        revoked = await store.revoke_api_key(arguments.key_id, now=utc_now())
    finally:
        await store.close()
    if not revoked:
        raise CliError(f"no active API key with id {arguments.key_id!r}")
    return f"revoked {arguments.key_id}"


async def generate_certificates_command(arguments: argparse.Namespace) -> str:
    if not arguments.dns and not arguments.ip:
        raise CliError("name the server: at least one --dns NAME or --ip ADDR")
    if arguments.days < 1:
        raise CliError(f"--days must be at least 1, not {arguments.days}")
    certs = generate_certificates(
        dns_names=arguments.dns,
        ip_addresses=arguments.ip,
        valid_days=arguments.days,
        # The CA must outlive every certificate it signs.
        ca_valid_days=max(arguments.days, _CA_VALID_DAYS),
        now=utc_now(),
    )
    paths = write_certificates(certs, arguments.out)
    written = ", ".join(
        str(p) for p in (paths.ca_cert, paths.ca_key, paths.tls_cert, paths.tls_key)
    )
    # The caBundle has a line of its own so that scripts can pick it out with awk.
    return f"wrote {written}\ncaBundle: {certs.ca_bundle}"


async def push_evidence(arguments: argparse.Namespace, backend: Backend) -> str:
    if arguments.provenance is not None:
        if arguments.format is not None:
            raise CliError("--format goes with --scan, not with --provenance")
        document = _read_document(arguments.provenance, limit=ApiSettings().max_body_bytes)
        posted = await backend.push_provenance(arguments.digest, document)
        if arguments.output != "table":
            return render_document(posted, arguments.output)
        return f"posted provenance of {posted.digest}: " + _provenance_line(
            posted.provenance, len(posted.labels)
        )
    scan_format = ScanFormat(arguments.format) if arguments.format else None
    document = _read_document(arguments.scan, limit=ApiSettings().max_scan_bytes)
    report = await backend.push_scan(arguments.digest, document, scan_format)
    if arguments.output != "table":
        return render_document(report, arguments.output)
    return (
        f"posted scan of {report.digest} by {report.scanner} at {report.scanned_at}: "
        + _counts_line(report.counts)
    )


async def show_evidence(arguments: argparse.Namespace, backend: Backend) -> str:
    evidence = await backend.get_evidence(arguments.digest)
    if arguments.output != "table":
        return render_document(evidence, arguments.output)
    return _render_evidence(evidence)


async def list_scans(arguments: argparse.Namespace, backend: Backend) -> str:
    return render_scans(await backend.list_scans(arguments.digest), arguments.output)


async def retire_scan(arguments: argparse.Namespace, backend: Backend) -> str:
    # Checked here too, so that a remote call is not made for an id no server takes.
    retired = await backend.retire_scan(
        arguments.digest, scan_id_from(arguments.id), retirement_reason(arguments.reason)
    )
    return render_retired_scan(retired, arguments.output)


async def show_cluster(arguments: argparse.Namespace, backend: Backend) -> str:
    return render_cluster(await backend.cluster(records=arguments.records), arguments.output)


COMMANDS: dict[str, Command] = {
    "deployment record": BackendCommand(record_deployment),
    "deployment list": BackendCommand(list_deployments, reads_only=True),
    "environment create": BackendCommand(create_environment),
    "environment list": BackendCommand(list_environments, reads_only=True),
    "environment describe": BackendCommand(describe_environment, reads_only=True),
    "apikey create": StandaloneCommand(create_api_key, local_store_only=True),
    "apikey list": StandaloneCommand(list_api_keys, local_store_only=True, reads_only=True),
    "apikey revoke": StandaloneCommand(revoke_api_key, local_store_only=True, reads_only=True),
    "certs generate": StandaloneCommand(generate_certificates_command),
    "evidence push": BackendCommand(push_evidence),
    "evidence show": BackendCommand(show_evidence, reads_only=True),
    "evidence scans": BackendCommand(list_scans, reads_only=True),
    "evidence retire-scan": BackendCommand(retire_scan, reads_only=True),
    "policy check": StandaloneCommand(check_policy),
    "cluster status": BackendCommand(show_cluster, server_only=True),
}
"""Every command but ``serve``, by the words that name it on the command line."""


def creates_store(arguments: argparse.Namespace) -> bool:
    """Whether the command may create the local store it is given, if missing."""
    return not COMMANDS[arguments.command_name].reads_only


def _read_document(path: Path, *, limit: int) -> bytes:
    """The file (``-``: standard input), refused past ``limit`` bytes as the server would
    refuse it: the local store keeps no more than a server does."""
    try:
        if str(path) == "-":
            return read_at_most(sys.stdin.buffer, limit)
        with path.open("rb") as stream:
            return read_at_most(stream, limit)
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror or error}") from None
    except TooLargeError as error:
        raise CliError(f"{path} {error}, the most a server accepts") from None


def _counts_line(counts: SeverityCountsOut) -> str:
    by_severity = (
        f"critical {counts.critical}, high {counts.high}, medium {counts.medium}, "
        f"low {counts.low}, negligible {counts.negligible}, unknown {counts.unknown}"
    )
    return f"{counts.total} vulnerabilities ({by_severity})"


def _provenance_line(provenance: ProvenanceOut, labels: int) -> str:
    parts = [
        f"{name} {value}"
        for name, value in (
            ("commit", provenance.commit),
            ("source", provenance.source_repository),
            ("builder", provenance.builder_id),
        )
        if value
    ]
    parts.append(f"{labels} label{'' if labels == 1 else 's'}")
    return ", ".join(parts)


def _render_evidence(evidence: EvidenceOut) -> str:
    lines = [f"Digest:      {evidence.digest}"]
    scan = evidence.scan
    if scan is None:
        lines.append("Scan:        none posted")
    else:
        lines.append(f"Scan:        {scan.scanner} at {scan.scanned_at}")
        lines.append(f"Found:       {_counts_line(scan.counts)}")
    if evidence.provenance is None:
        lines.append("Provenance:  none posted")
    else:
        lines.append(f"Provenance:  {_provenance_line(evidence.provenance, len(evidence.labels))}")
    lines.extend(f"Label:       {key}={value}" for key, value in evidence.labels.items())
    if scan is not None and scan.vulnerabilities:
        lines.extend(["", *_vulnerability_table(scan)])
    return "\n".join(lines)


def _vulnerability_table(scan: ScanReportOut) -> list[str]:
    header = ["ID", "SEVERITY", "PACKAGE", "VERSION", "FIXED IN"]
    rows = [
        [v.id, v.severity, v.package, v.version, v.fixed_in or "-"] for v in scan.vulnerabilities
    ]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
