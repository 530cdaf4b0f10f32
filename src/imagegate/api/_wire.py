"""Wire formats of the HTTP API, as msgspec Structs: decoding validates them.

Unknown fields are refused, so a misspelt field (``enviroment``) is an error
rather than a silently applied default.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from imagegate.tracking import Kind


class PlatformBody(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=False):
    """OS/architecture/variant the image runs on."""

    os: str = "linux"
    architecture: str = "amd64"
    variant: str | None = None


class SimpleImageBody(msgspec.Struct, forbid_unknown_fields=True):
    url: str
    """``host/repo[:tag]@sha256:…``: the digest is required."""
    name: str | None = None
    """Deployment name; defaults to the repository, must be unique per repository."""


class SimpleEnvironmentBody(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None


class SimpleDeploymentBody(msgspec.Struct, forbid_unknown_fields=True):
    """The simple payload: an image, where it runs, on which platform."""

    image: SimpleImageBody
    environment: SimpleEnvironmentBody | None = None
    platform: PlatformBody | None = None


class DeploymentBody(msgspec.Struct, forbid_unknown_fields=True):
    """The full form: every part of the key said explicitly."""

    environment: str
    logical_environment: str
    deployment_name: str
    kind: Kind = Kind.CONTAINER_IMAGE
    reference: str | None = None
    """``repo[:tag]@digest``; or give ``repository`` and ``digest`` (and ``tag``)."""
    repository: str | None = None
    digest: str | None = None
    tag: str | None = None
    platform: PlatformBody | None = None
    """Container images default to linux/amd64; Helm charts have none."""
    status: Literal["deployed", "decommissioned"] = "deployed"


class EnvironmentBody(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    description: str = ""


class ArtifactOut(msgspec.Struct):
    repository: str
    digest: str
    tag: str | None
    reference: str


class DeploymentRecordOut(msgspec.Struct):
    id: int
    environment: str
    logical_environment: str
    deployment_name: str
    kind: str
    artifact: ArtifactOut
    platform: PlatformBody | None
    status: str
    created_at: str
    updated_at: str
    last_seen_at: str
    superseded_by: int | None
    origin: str
    """What created the record: admission, cluster, api, cli or unknown."""
    ended_by: str | None
    """What superseded or decommissioned it; null while deployed."""


class RecordResultOut(msgspec.Struct):
    outcome: str
    record: DeploymentRecordOut | None
    superseded: DeploymentRecordOut | None


class DeploymentPageOut(msgspec.Struct):
    items: list[DeploymentRecordOut]
    next_cursor: str | None


class EnvironmentOut(msgspec.Struct):
    name: str
    description: str
    created_at: str


class EnvironmentListOut(msgspec.Struct):
    items: list[EnvironmentOut]


class LogicalEnvironmentOut(msgspec.Struct):
    name: str
    created_at: str


class LogicalEnvironmentListOut(msgspec.Struct):
    items: list[LogicalEnvironmentOut]


class ErrorDetail(msgspec.Struct, omit_defaults=True):
    code: str
    message: str
    field: str | None = None


class ErrorOut(msgspec.Struct):
    error: ErrorDetail


class VulnerabilityOut(msgspec.Struct):
    id: str
    package: str
    version: str
    severity: str
    fixed_in: str | None


class SeverityCountsOut(msgspec.Struct):
    critical: int
    high: int
    medium: int
    low: int
    negligible: int
    unknown: int
    total: int


class ScanReportOut(msgspec.Struct):
    digest: str
    scanner: str
    scanned_at: str
    counts: SeverityCountsOut
    vulnerabilities: list[VulnerabilityOut]
    """Gravest first, then by id."""


class ProvenanceOut(msgspec.Struct):
    builder_id: str | None
    source_repository: str | None
    commit: str | None


class ProvenanceEvidenceOut(msgspec.Struct):
    digest: str
    provenance: ProvenanceOut
    labels: dict[str, str]


class EvidenceOut(msgspec.Struct):
    """What CI posted about a digest: the newest scan, provenance and labels."""

    digest: str
    scan: ScanReportOut | None
    provenance: ProvenanceOut | None
    labels: dict[str, str]


class ScanRetirementBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: str


class ScanRetirementOut(msgspec.Struct):
    retired_at: str
    reason: str


class StoredScanOut(msgspec.Struct):
    """One scan of a digest's history, without its vulnerabilities (``evidence`` shows
    those of the scan that counts)."""

    id: int
    digest: str
    scanner: str
    scanned_at: str
    received_at: str
    counts: SeverityCountsOut
    counting: bool
    """Whether this is the scan policies judge the digest by."""
    retirement: ScanRetirementOut | None


class ScanListOut(msgspec.Struct):
    digest: str
    items: list[StoredScanOut]
    """Newest first, as scans are ranked; retired scans included."""


class UnrecordedOut(msgspec.Struct):
    """A container of a workload the cluster holds that has no record, and why."""

    namespace: str
    kind: str
    name: str
    container: str
    reason: str


class ClusterRecordOut(msgspec.Struct):
    """A record the cluster watch keeps, and whether its workload's pods run its digest."""

    namespace: str
    kind: str
    name: str
    container: str
    deployment_name: str
    digest: str
    pods_running_digest: int
    pods_running_other: int


class ParkedOut(msgspec.Struct):
    """A record request the store refused for good, kept aside in the spool."""

    deployment_name: str
    error_code: str
    error: str


class ClusterOut(msgspec.Struct):
    """Where records come from, and what the cluster holds that is not recorded."""

    source: Literal["cluster", "admission"]
    reason: str
    leader: bool | None
    synced: bool | None
    workloads: int | None
    last_reconciled_at: str | None
    unrecorded: list[UnrecordedOut]
    parked: list[ParkedOut]
    records: list[ClusterRecordOut] | None
