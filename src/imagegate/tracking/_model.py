"""Typed, immutable values of the tracking core."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from imagegate.errors import RefusedError

DEFAULT_LOGICAL_ENVIRONMENTS = ("development", "staging", "production")
"""Logical environments that exist from the start; others are created on first use."""

DEFAULT_ENVIRONMENT = "deployed"
"""Environment of the simple payload when it names none; exists from the start."""


class Kind(enum.StrEnum):
    """What kind of artifact a deployment record tracks."""

    CONTAINER_IMAGE = "CONTAINER_IMAGE"
    HELM_CHART = "HELM_CHART"


class Status(enum.StrEnum):
    """Life of a record: ``deployed`` until replaced (superseded) or removed (decommissioned)."""

    DEPLOYED = "deployed"
    SUPERSEDED = "superseded"
    DECOMMISSIONED = "decommissioned"


class Origin(enum.StrEnum):
    """Where a change of the records came from, kept with each record for the audit trail."""

    ADMISSION = "admission"
    """The admission webhook, when no cluster watch confirms what the API server stored."""
    CLUSTER = "cluster"
    """The cluster watch: an object the API server persisted (or removed), or a
    reconciliation of the records with what the cluster holds."""
    API = "api"
    """A call to the HTTP API (a CD pipeline)."""
    CLI = "cli"
    """``imagegate deployment record`` on a local store."""
    UNKNOWN = "unknown"
    """Records written before origins were kept."""


class Outcome(enum.StrEnum):
    """What one recording call did to the store."""

    CREATED = "created"
    """No record was deployed under the key; a new one is."""
    SUPERSEDED = "superseded"
    """Another artifact was deployed under the key; it is superseded by a new record."""
    REFRESHED = "refreshed"
    """The same artifact was already deployed; only its ``last_seen_at`` moved."""
    DECOMMISSIONED = "decommissioned"
    """The deployed record under the key is now decommissioned."""
    UNCHANGED = "unchanged"
    """Nothing was deployed under the key, so there was nothing to decommission."""


@dataclass(frozen=True, slots=True)
class Platform:
    """OS/architecture/variant an image runs on, as in OCI image indexes."""

    os: str = "linux"
    architecture: str = "amd64"
    variant: str | None = None

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text


@dataclass(frozen=True, slots=True)
class Artifact:
    """The exact artifact deployed: normalised repository and digest, tag kept for reading."""

    repository: str
    """Fully qualified, normalised repository, e.g. ``docker.io/library/nginx``."""
    digest: str
    """Content digest ``algorithm:hex``; the identity of the artifact."""
    tag: str | None = None
    """Tag the deployer used, if any; informative only, since tags move."""

    @property
    def reference(self) -> str:
        """The artifact as a pullable reference, ``repo[:tag]@digest``."""
        tagged = f"{self.repository}:{self.tag}" if self.tag else self.repository
        return f"{tagged}@{self.digest}"


@dataclass(frozen=True, slots=True)
class DeploymentKey:
    """What a deployment record is about; at most one record per key is ``deployed``."""

    environment: str
    logical_environment: str
    deployment_name: str
    kind: Kind


@dataclass(frozen=True, slots=True)
class DeploymentRecord:
    """One entry of the audit trail: an artifact deployed under a key, and its fate."""

    id: int
    key: DeploymentKey
    artifact: Artifact
    platform: Platform | None
    """``None`` for kinds without a platform (Helm charts)."""
    status: Status
    created_at: datetime
    updated_at: datetime
    """When the status last changed (creation, superseding, decommissioning)."""
    last_seen_at: datetime
    """When the artifact was last reported deployed under the key (heartbeat)."""
    superseded_by: int | None = None
    """Id of the record that replaced this one, once superseded."""
    origin: Origin = Origin.UNKNOWN
    """What created this record."""
    ended_by: Origin | None = None
    """What superseded or decommissioned it; ``None`` while deployed."""

    def is_same_deployment(self, artifact: Artifact, platform: Platform | None) -> bool:
        """Whether recording ``artifact`` on ``platform`` is only a heartbeat of this record.

        The digest, not the tag, names the artifact: re-tagging the same image is no
        new deployment.
        """
        return (
            self.artifact.repository == artifact.repository
            and self.artifact.digest == artifact.digest
            and self.platform == platform
        )


@dataclass(frozen=True, slots=True)
class Environment:
    """A place deployments run in, e.g. a cluster."""

    name: str
    description: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LogicalEnvironment:
    """A stage of delivery (development, staging, production, or a custom one)."""

    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RecordRequest:
    """A validated request to record a deployment (or its decommissioning)."""

    key: DeploymentKey
    artifact: Artifact | None
    """May only be ``None`` when decommissioning: then whatever is deployed goes."""
    platform: Platform | None
    status: Status = Status.DEPLOYED
    observed_at: datetime | None = None
    """When the deployment was seen (e.g. admitted); the record is dated by it.

    ``None`` means "now". Set when a request is written later than it happened,
    so that a record replayed after a store outage keeps its true time.
    """
    origin: Origin = Origin.API
    """Who asks: kept on the record it creates, or as what ended the one it retires."""


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What a recording did, with the record it left deployed or decommissioned."""

    outcome: Outcome
    record: DeploymentRecord | None
    """``None`` only for ``unchanged``."""
    superseded: DeploymentRecord | None = None
    """The record this one replaced, for ``superseded``."""


@dataclass(frozen=True, slots=True)
class QueuedRequest:
    """A record request taken from a durable queue, at its place in that queue."""

    sequence: int
    """Position in the queue; strictly increasing."""
    request: RecordRequest


@dataclass(frozen=True, slots=True)
class QueuedResult:
    """What applying one queued request did.

    Exactly one of ``result`` and ``error`` is set, unless ``already_applied``.
    """

    sequence: int
    result: RecordResult | None = None
    """Its outcome; a store may leave out the records (the recorder counts outcomes)."""
    error: RefusedError | None = None
    """A permanent refusal (e.g. an unknown environment); retrying cannot help."""
    already_applied: bool = False
    """The store had applied this request before (a replay after a crash)."""
    coalesced: bool = False
    """A heartbeat between two identical requests of its batch: those two were applied,
    which leaves the same records as applying all of them."""


@dataclass(frozen=True, slots=True)
class DeploymentQuery:
    """Filters for listing records; active (``deployed``) records only unless ``history``."""

    environment: str | None = None
    logical_environment: str | None = None
    deployment_name: str | None = None
    kind: Kind | None = None
    status: Status | None = None
    history: bool = False
    limit: int = 100
    after_id: int | None = None
    """Keyset cursor: return records with ids below this one (newest first)."""


@dataclass(frozen=True, slots=True)
class DeploymentPage:
    """One page of records, newest first; ``next_after_id`` continues it."""

    records: tuple[DeploymentRecord, ...]
    next_after_id: int | None
