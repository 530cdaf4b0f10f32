"""What the cluster state reports to its readers: unrecorded containers, the records
it keeps and the pods that run them, and what a reconciliation writes.

Plain values, so that the watch, the API's cluster view and tests read them alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from imagegate.tracking import Origin, RecordRequest

WorkloadId = tuple[str, str, str]
"""(kind, namespace, name) of a workload object."""

# Records that a reconciliation may retire when the cluster no longer holds their
# workload: those made from the cluster (by admission, or by this watch). Records a
# pipeline made through the API or CLI in the cluster's environment are its own.
RECONCILED_ORIGINS = frozenset({Origin.ADMISSION, Origin.CLUSTER, Origin.UNKNOWN})


@dataclass(frozen=True, slots=True)
class UnrecordedContainer:
    """A container of a workload the cluster holds that has no record, and why."""

    workload: WorkloadId
    container: str
    reason: str


@dataclass(frozen=True, slots=True)
class RecordRun:
    """A record the watch keeps for a workload, and whether its pods run that digest."""

    workload: WorkloadId
    container: str
    request: RecordRequest
    pods_running_digest: int
    """Pods of the workload whose node reports the recorded digest for the container."""
    pods_running_other: int
    """Pods whose node reports another digest (an older rollout, or a moved tag)."""


@dataclass(frozen=True, slots=True)
class ReconcilePlan:
    """What one reconciliation writes, by why."""

    requests: tuple[RecordRequest, ...]
    recorded: int
    """Deployed in the cluster but not (or otherwise) in the store."""
    refreshed: int
    """Already recorded as they are: only ``last_seen_at`` moves."""
    decommissioned: int
    """Recorded as deployed, but the cluster holds no such workload."""
