"""Pure decision of what a recording does, given what is deployed under its key.

Stores run the plan inside the transaction that read ``active``, so the decision
and the write see the same state; the decision itself touches no IO.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from imagegate.tracking._errors import ArtifactMismatchError
from imagegate.tracking._model import (
    DeploymentKey,
    DeploymentRecord,
    Outcome,
    QueuedRequest,
    RecordRequest,
    Status,
)


@dataclass(frozen=True, slots=True)
class Plan:
    """Writes a store makes for one recording, all in one transaction."""

    outcome: Outcome
    insert: bool
    """Insert a new ``deployed`` record from the request."""
    refresh_id: int | None = None
    """Move ``last_seen_at`` of this record only."""
    retire_id: int | None = None
    """Change this record's status to ``retire_status``."""
    retire_status: Status | None = None


def plan_recording(*, active: DeploymentRecord | None, request: RecordRequest) -> Plan:
    """Decide the writes for ``request`` when ``active`` is the deployed record (or none)."""
    if request.status is Status.DECOMMISSIONED:
        return _plan_decommission(active=active, request=request)
    if request.status is not Status.DEPLOYED:
        raise ValueError(f"a recording asks for deployed or decommissioned, not {request.status}")
    assert request.artifact is not None, "validated: a deployed request names its artifact"
    if active is None:
        return Plan(outcome=Outcome.CREATED, insert=True)
    if active.is_same_deployment(request.artifact, request.platform):
        return Plan(outcome=Outcome.REFRESHED, insert=False, refresh_id=active.id)
    return Plan(
        outcome=Outcome.SUPERSEDED,
        insert=True,
        retire_id=active.id,
        retire_status=Status.SUPERSEDED,
    )


def _plan_decommission(*, active: DeploymentRecord | None, request: RecordRequest) -> Plan:
    if active is None:
        # Idempotent: tearing down twice is not an error for a pipeline that retries.
        return Plan(outcome=Outcome.UNCHANGED, insert=False)
    artifact = request.artifact
    if artifact is not None and (
        active.artifact.repository != artifact.repository
        or active.artifact.digest != artifact.digest
    ):
        raise ArtifactMismatchError(artifact.reference, active.artifact.reference)
    return Plan(
        outcome=Outcome.DECOMMISSIONED,
        insert=False,
        retire_id=active.id,
        retire_status=Status.DECOMMISSIONED,
    )


def coalesce(items: Sequence[QueuedRequest]) -> tuple[list[QueuedRequest], set[int]]:
    """Shorten each run of identical requests for one key to its first and last.

    A rollout's pods repeat one request many times; the first of a run creates (or
    refreshes) the record with its own time, the last moves ``last_seen_at``, and
    the ones between would only have moved it less far. Runs of different keys are
    independent, so only the order within a key matters. Returns the requests to
    apply, in order, and the sequences left out.
    """
    runs: dict[DeploymentKey, list[QueuedRequest]] = {}
    dropped: set[int] = set()
    for item in items:
        key = item.request.key
        run = runs.get(key)
        if run and is_repeat(run[-1].request, item.request):
            run.append(item)
            continue
        if run:
            dropped.update(middle.sequence for middle in run[1:-1])
        runs[key] = [item]
    for run in runs.values():
        dropped.update(middle.sequence for middle in run[1:-1])
    return [item for item in items if item.sequence not in dropped], dropped


def is_repeat(first: RecordRequest, second: RecordRequest) -> bool:
    """Whether ``second``, recorded after ``first`` under the same key, is only a heartbeat."""
    if first.status is not second.status or first.platform != second.platform:
        return False
    if first.artifact is None or second.artifact is None:
        return first.artifact is second.artifact
    # The digest names the artifact; a different tag for the same digest is a heartbeat.
    return (first.artifact.repository, first.artifact.digest) == (
        second.artifact.repository,
        second.artifact.digest,
    )
