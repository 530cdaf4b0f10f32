"""The records a workload makes: one deployment key per container and platform.

Pure, and shared by the two ways records are made: at admission (when no cluster
watch runs) and from what the API server persisted (the cluster watch).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from imagegate.admission._naming import DeploymentNameTemplate, fitted_name
from imagegate.tracking import (
    Artifact,
    DeploymentKey,
    Kind,
    Origin,
    Platform,
    RecordRequest,
    Status,
)
from imagegate.workloads import ExtractedWorkload

Unrecorded = tuple[str, str]
"""(container, reason) of a container whose image cannot be recorded."""


@dataclass(frozen=True, slots=True)
class RecordTarget:
    """Where a workload's records go."""

    cluster: str
    logical_environment: str
    name_template: DeploymentNameTemplate


def record_keys(
    workload: ExtractedWorkload, target: RecordTarget
) -> list[tuple[DeploymentKey, Platform, str]]:
    """(key, platform, container) of every record; several platforms get a suffix each."""
    identity = workload.identity
    keys = []
    for container in workload.containers:
        name = target.name_template.render(
            cluster=target.cluster,
            namespace=identity.namespace,
            kind=identity.kind,
            workload=identity.name,
            container=container.name,
        )
        for platform in workload.platforms:
            suffix = "" if len(workload.platforms) == 1 else f"@{platform}"
            key = DeploymentKey(
                environment=target.cluster,
                logical_environment=target.logical_environment,
                deployment_name=fitted_name(name, suffix),
                kind=Kind.CONTAINER_IMAGE,
            )
            keys.append((key, platform, container.name))
    return keys


def deployed_records(
    workload: ExtractedWorkload,
    target: RecordTarget,
    *,
    now: datetime,
    origin: Origin,
    digests: Mapping[str, str],
) -> tuple[tuple[RecordRequest, ...], tuple[Unrecorded, ...]]:
    """The ``deployed`` requests of ``workload``, and the containers it cannot record.

    ``digests`` gives, by container, the digest a tag-only image runs as (resolved in
    the registry, or reported by a node); without one such an image is not recorded.
    """
    if not workload.platforms:
        # Contradictory node constraints: the pod can never run, so nothing is deployed.
        return (), tuple((c.name, "no schedulable platform") for c in workload.containers)
    records: list[RecordRequest] = []
    unrecorded: list[Unrecorded] = []
    by_container = {container.name: container for container in workload.containers}
    for key, platform, container_name in record_keys(workload, target):
        reference = by_container[container_name].reference
        digest = reference.digest if reference is not None else None
        if reference is not None and digest is None:
            digest = digests.get(container_name)
        if reference is None or digest is None:
            reason = "invalid image reference" if reference is None else "no digest"
            if (container_name, reason) not in unrecorded:
                unrecorded.append((container_name, reason))
            continue
        artifact = Artifact(repository=reference.repository, digest=digest, tag=reference.tag)
        records.append(
            RecordRequest(
                key=key, artifact=artifact, platform=platform, observed_at=now, origin=origin
            )
        )
    return tuple(records), tuple(unrecorded)


def decommissioned(key: DeploymentKey, *, now: datetime, origin: Origin) -> RecordRequest:
    """The request that retires whatever is deployed under ``key``."""
    return RecordRequest(
        key=key,
        artifact=None,
        platform=None,
        status=Status.DECOMMISSIONED,
        observed_at=now,
        origin=origin,
    )
