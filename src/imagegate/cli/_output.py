"""Rendering CLI results as a table, JSON or YAML."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import msgspec
import yaml

from imagegate.api import (
    ClusterOut,
    DeploymentRecordOut,
    EnvironmentOut,
    RecordResultOut,
    ScanListOut,
    StoredScanOut,
)

FORMATS = ("table", "json", "yaml")


def render_document(value: object, output: str) -> str:
    """``value`` (a wire struct or list of them) as JSON or YAML."""
    builtins = msgspec.to_builtins(value)
    if output == "yaml":
        return yaml.safe_dump(builtins, sort_keys=False).rstrip("\n")
    return json.dumps(builtins, indent=2)


def render_records(records: Sequence[DeploymentRecordOut], output: str) -> str:
    if output != "table":
        return render_document(list(records), output)
    rows = [
        [
            str(record.id),
            record.environment,
            record.logical_environment,
            record.deployment_name,
            record.kind,
            record.artifact.reference,
            _platform(record),
            record.status,
            record.last_seen_at,
        ]
        for record in records
    ]
    header = [
        "ID",
        "ENVIRONMENT",
        "LOGICAL ENV",
        "DEPLOYMENT",
        "KIND",
        "ARTIFACT",
        "PLATFORM",
        "STATUS",
        "LAST SEEN",
    ]
    return _table(header, rows)


def render_environments(environments: Sequence[EnvironmentOut], output: str) -> str:
    if output != "table":
        return render_document(list(environments), output)
    rows = [[e.name, e.description, e.created_at] for e in environments]
    return _table(["NAME", "DESCRIPTION", "CREATED"], rows)


def render_cluster(cluster: ClusterOut, output: str) -> str:
    """Where records come from, then what is not recorded (and, if asked, what is)."""
    if output != "table":
        return render_document(cluster, output)
    lines = [f"Recording: {cluster.source} ({cluster.reason})"]
    if cluster.leader is not None:
        lines.append(f"Leader:    {'yes' if cluster.leader else 'no (another replica watches)'}")
    if cluster.synced is not None:
        lines.append(f"Synced:    {'yes' if cluster.synced else 'no (still listing)'}")
        lines.append(f"Workloads: {cluster.workloads}")
        lines.append(f"Reconciled: {cluster.last_reconciled_at or 'not yet'}")
    sections = ["\n".join(lines)]
    unrecorded = [[u.namespace, u.kind, u.name, u.container, u.reason] for u in cluster.unrecorded]
    if unrecorded:
        header = ["NAMESPACE", "KIND", "NAME", "CONTAINER", "REASON"]
        sections.append("Unrecorded:\n" + _table(header, unrecorded))
    else:
        sections.append("Unrecorded: none")
    if cluster.parked:
        parked = [[p.deployment_name, p.error_code, p.error] for p in cluster.parked]
        sections.append("Parked:\n" + _table(["DEPLOYMENT", "CODE", "ERROR"], parked))
    if cluster.records is not None:
        rows = [
            [
                r.deployment_name,
                r.digest,
                str(r.pods_running_digest),
                str(r.pods_running_other),
            ]
            for r in cluster.records
        ]
        sections.append(
            "Records:\n" + _table(["DEPLOYMENT", "DIGEST", "PODS ON DIGEST", "PODS ON OTHER"], rows)
        )
    return "\n\n".join(sections)


def render_environment(environment: EnvironmentOut, output: str) -> str:
    if output != "table":
        return render_document(environment, output)
    return "\n".join(
        [
            f"Name:        {environment.name}",
            f"Description: {environment.description}",
            f"Created:     {environment.created_at}",
        ]
    )


def render_result(result: RecordResultOut, output: str) -> str:
    if output != "table":
        return render_document(result, output)
    record = result.record
    if record is None:
        return f"{result.outcome}: nothing was deployed under this key"
    where = f"{record.environment}/{record.logical_environment}"
    line = (
        f"{result.outcome}: record {record.id} {record.status} "
        f"({record.deployment_name} in {where}: {record.artifact.reference})"
    )
    if result.superseded is not None:
        line += f"; record {result.superseded.id} superseded"
    return line


def render_scans(scans: ScanListOut, output: str) -> str:
    if output != "table":
        return render_document(scans, output)
    if not scans.items:
        return f"no scan was posted for {scans.digest}"
    rows = [
        [
            scan.id,
            scan.scanner,
            scan.scanned_at,
            scan.received_at,
            f"{scan.counts.critical}/{scan.counts.high}/{scan.counts.total}",
            _scan_state(scan),
        ]
        for scan in scans.items
    ]
    header = ["ID", "SCANNER", "SCANNED", "RECEIVED", "CRIT/HIGH/ALL", "STATE"]
    return _table(header, rows)


def render_retired_scan(scan: StoredScanOut, output: str) -> str:
    if output != "table":
        return render_document(scan, output)
    return f"retired scan {scan.id} of {scan.digest} ({scan.scanner} at {scan.scanned_at})"


def _scan_state(scan: StoredScanOut) -> str:
    if scan.retirement is not None:
        return f"retired {scan.retirement.retired_at}: {scan.retirement.reason}"
    return "counts" if scan.counting else "older"


def _platform(record: DeploymentRecordOut) -> str:
    platform = record.platform
    if platform is None:
        return "-"
    text = f"{platform.os}/{platform.architecture}"
    return f"{text}/{platform.variant}" if platform.variant else text


def _table(header: list[str], rows: list[list[Any]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in [header, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)
