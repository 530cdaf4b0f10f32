"""Records follow the cluster: what the API server persisted, not what was admitted.

A list-and-watch of every workload kind, of Pods and of Nodes feeds a pure
``ClusterState``; the requests it returns go through the same spool as
admission's. Reconciliation with the store on start and periodically catches up
whatever the watch could not see (imagegate down, a failurePolicy Ignore outage).
"""

from imagegate.cluster._objects import PodRun, digest_of_image_id, node_platform, pod_run
from imagegate.cluster._reports import (
    RECONCILED_ORIGINS,
    ReconcilePlan,
    RecordRun,
    UnrecordedContainer,
    WorkloadId,
)
from imagegate.cluster._selector import LabelSelector, SelectorError, parse_selector
from imagegate.cluster._state import ClusterState
from imagegate.cluster._watch import (
    TRACKED_KINDS,
    ClusterStatus,
    ClusterWatch,
    ClusterWatchSettings,
    cluster_access,
)

__all__ = [
    "RECONCILED_ORIGINS",
    "TRACKED_KINDS",
    "ClusterState",
    "ClusterStatus",
    "ClusterWatch",
    "ClusterWatchSettings",
    "LabelSelector",
    "PodRun",
    "ReconcilePlan",
    "RecordRun",
    "SelectorError",
    "UnrecordedContainer",
    "WorkloadId",
    "cluster_access",
    "digest_of_image_id",
    "node_platform",
    "parse_selector",
    "pod_run",
]
