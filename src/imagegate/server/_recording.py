"""Where this process's records come from, as /readyz, the API and the CLI tell it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imagegate.api import ClusterOut, ClusterRecordOut, ParkedOut, UnrecordedOut
from imagegate.cluster import ClusterStatus, ClusterWatch
from imagegate.kube import LeaderLease
from imagegate.recording import Spool


@dataclass(slots=True)
class Recording:
    """Where records come from in this process, and why; the watch while it runs."""

    source: str
    """``cluster`` (the watch: what the API server persisted) or ``admission``."""
    reason: str
    watch: ClusterWatch | None = None
    """The cluster watch this replica runs now (None while another replica leads)."""
    lease: LeaderLease | None = None
    """The Lease that elects the one replica that watches; None without election."""

    @property
    def leader(self) -> bool | None:
        return self.lease.leading.is_set() if self.lease is not None else None

    def detail(self) -> dict[str, Any]:
        """What /readyz says about recording."""
        detail: dict[str, Any] = {"source": self.source, "reason": self.reason}
        if self.lease is not None:
            detail["leader"] = self.leader
        if self.watch is not None:
            status = self.watch.status()
            detail.update(
                synced=status.synced,
                workloads=status.workloads,
                unrecorded=len(self.watch.state.unrecorded()),
                last_reconciled_at=_timestamp(status),
            )
        return detail


class ServedCluster:
    """``GET /api/v1/cluster`` from the running watch and the spool's parked requests."""

    def __init__(self, recording: Recording, spool: Spool) -> None:
        self._recording = recording
        self._spool = spool

    async def cluster(self, *, records: bool) -> ClusterOut:
        recording = self._recording
        watch = recording.watch
        parked = [
            ParkedOut(
                deployment_name=item.request.key.deployment_name,
                error_code=item.error_code,
                error=item.error,
            )
            for item in await self._spool.parked()
        ]
        if watch is None:
            return ClusterOut(
                source="cluster" if recording.source == "cluster" else "admission",
                reason=recording.reason,
                leader=recording.leader,
                synced=None,
                workloads=None,
                last_reconciled_at=None,
                unrecorded=[],
                parked=parked,
                records=[] if records else None,
            )
        status = watch.status()
        state = watch.state
        return ClusterOut(
            source="cluster",
            reason=recording.reason,
            leader=recording.leader,
            synced=status.synced,
            workloads=status.workloads,
            last_reconciled_at=_timestamp(status),
            unrecorded=[
                UnrecordedOut(
                    namespace=item.workload[1],
                    kind=item.workload[0],
                    name=item.workload[2],
                    container=item.container,
                    reason=item.reason,
                )
                for item in state.unrecorded()
            ],
            parked=parked,
            records=[
                ClusterRecordOut(
                    namespace=run.workload[1],
                    kind=run.workload[0],
                    name=run.workload[2],
                    container=run.container,
                    deployment_name=run.request.key.deployment_name,
                    digest=run.request.artifact.digest if run.request.artifact else "",
                    pods_running_digest=run.pods_running_digest,
                    pods_running_other=run.pods_running_other,
                )
                for run in state.record_runs()
            ]
            if records
            else None,
        )


def _timestamp(status: ClusterStatus) -> str | None:
    moment = status.last_reconciled_at
    return moment.isoformat() if moment is not None else None
