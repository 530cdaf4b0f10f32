"""What the cluster holds, and the record requests that follow from each change of it.

Pure: list results and watch events in, ``RecordRequest``s out. The cluster watch
(``_watch.py``) feeds it and spools what it returns; tests feed it objects.

Records are made for the long-lived workloads only, the objects nothing controls
(a Deployment, not its ReplicaSets or Pods), as at admission. Pods still count:
the digest a node pulled (``imageID``) records a tag-only image. The platforms of
the cluster's Nodes bound a workload's: its spec's constraints are intersected with
them, and a spec that says nothing gets them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from imagegate.admission import (
    RecordTarget,
    Unrecorded,
    decommissioned,
    deployed_records,
    record_keys,
)
from imagegate.cluster._objects import PodRun, node_platform, pod_run
from imagegate.cluster._reports import (
    RECONCILED_ORIGINS,
    ReconcilePlan,
    RecordRun,
    UnrecordedContainer,
    WorkloadId,
)
from imagegate.cluster._selector import LabelSelector
from imagegate.tracking import (
    DeploymentKey,
    DeploymentRecord,
    Origin,
    Platform,
    RecordRequest,
)
from imagegate.workloads import (
    ExtractedWorkload,
    InvalidObjectError,
    ParsedObject,
    WorkloadIdentity,
    extract_parsed,
    parse_object,
    workload_identity,
)

_PodId = tuple[str, str]


@dataclass(slots=True)
class _Tracked:
    parsed: ParsedObject
    sent: dict[DeploymentKey, RecordRequest] = field(default_factory=dict)
    """The deployed requests made for it so far, as the store should now hold them."""
    containers: dict[DeploymentKey, str] = field(default_factory=dict)
    unrecorded: tuple[Unrecorded, ...] = ()


class ClusterState:
    """Workloads, pods and nodes of one cluster, and the records they call for."""

    def __init__(
        self,
        *,
        target_of: Callable[[str], RecordTarget],
        default_platform: Platform,
        excluded_namespaces: frozenset[str] = frozenset(),
        selector: LabelSelector | None = None,
    ) -> None:
        self._target_of = target_of
        self._selector = selector or LabelSelector()
        self._default_platform = default_platform
        self._excluded = excluded_namespaces
        self._workloads: dict[WorkloadId, _Tracked] = {}
        self._owners: dict[DeploymentKey, set[WorkloadId]] = {}
        self._runs: dict[_PodId, tuple[WorkloadId, PodRun]] = {}
        self._runs_by_owner: dict[WorkloadId, set[_PodId]] = {}
        self._job_cron: dict[_PodId, str] = {}
        self._cron_jobs: dict[_PodId, set[str]] = {}
        self._nodes: dict[str, Platform] = {}
        self._deferred = False
        """While a list of Pods or Jobs is applied: recompute workloads after it, not during."""

    # -- workloads (every tracked kind, Pods and Jobs included) ------------------

    def listed(
        self, kind: str, items: Iterable[Mapping[str, Any]], now: datetime
    ) -> list[RecordRequest]:
        """A full list of ``kind``: it replaces what was known of that kind."""
        requests: list[RecordRequest] = []
        seen: set[WorkloadId] = set()
        # Digests and platforms come from pods, and CronJobs find theirs through Jobs: a
        # workload recomputed while only some of its pods are back would flap, so every
        # workload is recomputed once the whole list is in.
        rebuilding = kind in ("Pod", "Job")
        if kind == "Pod":
            self._runs.clear()
            self._runs_by_owner.clear()
        if kind == "Job":
            self._job_cron.clear()
            self._cron_jobs.clear()
        self._deferred = rebuilding
        try:
            for item in items:
                requests.extend(self._upsert(kind, item, now, seen=seen))
        finally:
            self._deferred = False
        for workload in [w for w in self._workloads if w[0] == kind and w not in seen]:
            requests.extend(self._forget(workload, now))
        if rebuilding:
            requests.extend(self._refresh_all(now))
        return requests

    def changed(
        self, kind: str, event: str, obj: Mapping[str, Any], now: datetime
    ) -> list[RecordRequest]:
        """One watch event (ADDED, MODIFIED or DELETED) of an object of ``kind``."""
        if event != "DELETED":
            return self._upsert(kind, obj, now, seen=set())
        metadata = obj.get("metadata") or {}
        namespace, name = str(metadata.get("namespace", "")), str(metadata.get("name", ""))
        # Forgotten first: a Pod that is its own workload is not recomputed without itself.
        requests = self._forget((kind, namespace, name), now)
        if kind == "Pod":
            requests.extend(self._drop_run((namespace, name), now))
        if kind == "Job":
            cron = self._job_cron.pop((namespace, name), None)
            if cron is not None:
                self._cron_jobs.get((namespace, cron), set()).discard(name)
        return requests

    # -- nodes -------------------------------------------------------------------

    def nodes_listed(
        self, items: Iterable[Mapping[str, Any]], now: datetime
    ) -> list[RecordRequest]:
        """A full list of Nodes."""
        before = set(self._nodes.values())
        self._nodes = {}
        for item in items:
            name, platform = node_platform(item)
            if name and platform is not None:
                self._nodes[name] = platform
        return self._refresh_all(now) if set(self._nodes.values()) != before else []

    def node_changed(
        self, event: str, obj: Mapping[str, Any], now: datetime
    ) -> list[RecordRequest]:
        """One watch event of a Node; workloads are recomputed only when the set of
        node platforms changes (a node of a new platform joins, or the last one leaves)."""
        before = set(self._nodes.values())
        name, platform = node_platform(obj)
        if event == "DELETED" or platform is None:
            self._nodes.pop(name, None)
        elif name:
            self._nodes[name] = platform
        return self._refresh_all(now) if set(self._nodes.values()) != before else []

    # -- everything --------------------------------------------------------------

    def refresh(self, now: datetime) -> list[RecordRequest]:
        """Recompute every workload's records (namespace labels may have changed)."""
        return self._refresh_all(now)

    def refresh_namespace(self, namespace: str, now: datetime) -> list[RecordRequest]:
        """Recompute the records of ``namespace``'s workloads (its labels changed)."""
        requests: list[RecordRequest] = []
        for workload in [w for w in self._workloads if w[1] == namespace]:
            requests.extend(self._refresh(workload, now))
        return requests

    def reconcile(self, stored: Iterable[DeploymentRecord], now: datetime) -> ReconcilePlan:
        """Requests that make the store's deployed records of this cluster (``stored``)
        what the cluster holds: each desired record deployed (a refresh where it is
        already), each one made from the cluster whose workload is gone decommissioned."""
        requests: list[RecordRequest] = []
        active = {record.key: record for record in stored}
        recorded = refreshed = retired = 0
        for key, request in self._desired().items():
            record = active.get(key)
            if (
                record is not None
                and request.artifact is not None
                and record.is_same_deployment(request.artifact, request.platform)
            ):
                refreshed += 1
            else:
                recorded += 1
            requests.append(replace(request, observed_at=now))
        desired = self._owners
        for key, record in active.items():
            if key not in desired and record.origin in RECONCILED_ORIGINS:
                retired += 1
                requests.append(decommissioned(key, now=now, origin=Origin.CLUSTER))
        return ReconcilePlan(tuple(requests), recorded, refreshed, retired)

    def unrecorded(self) -> list[UnrecordedContainer]:
        """Containers of workloads the cluster holds that have no record, and why."""
        return [
            UnrecordedContainer(workload=workload, container=container, reason=reason)
            for workload, tracked in sorted(self._workloads.items())
            for container, reason in tracked.unrecorded
        ]

    def record_runs(self) -> list[RecordRun]:
        """Every record kept, with how many of its workload's pods run its digest."""
        runs = []
        for workload, tracked in sorted(self._workloads.items()):
            pods = [run for _, run in self._runs_of(workload)]
            for key, request in tracked.sent.items():
                container = tracked.containers[key]
                digest = request.artifact.digest if request.artifact else None
                reported = [run.digests[container][1] for run in pods if container in run.digests]
                running = sum(1 for value in reported if value == digest)
                runs.append(
                    RecordRun(
                        workload=workload,
                        container=container,
                        request=request,
                        pods_running_digest=running,
                        pods_running_other=len(reported) - running,
                    )
                )
        return runs

    @property
    def workload_count(self) -> int:
        return len(self._workloads)

    # -- internals ---------------------------------------------------------------

    def _upsert(
        self, kind: str, obj: Mapping[str, Any], now: datetime, *, seen: set[WorkloadId]
    ) -> list[RecordRequest]:
        try:
            parsed = parse_object(obj, kind=kind)
        except InvalidObjectError:
            return []
        metadata = parsed.metadata
        namespace, name = metadata.namespace, metadata.name
        if not name or namespace in self._excluded:
            return []
        identity = workload_identity(kind, metadata, request_name="", namespace=namespace)
        requests: list[RecordRequest] = []
        if kind == "Pod":
            requests.extend(self._set_run((namespace, name), identity, obj, now))
        if kind == "Job" and identity.owned and identity.kind == "CronJob":
            self._job_cron[(namespace, name)] = identity.name
            jobs = self._cron_jobs.setdefault((namespace, identity.name), set())
            if name not in jobs:
                jobs.add(name)
                requests.extend(self._refresh(("CronJob", namespace, identity.name), now))
        workload = (kind, namespace, name)
        if identity.owned or not self._selector.matches(metadata.labels):
            # A controlled object says nothing of its own: its controller is the workload.
            # One the webhook's objectSelector leaves out is not judged, so not recorded.
            requests.extend(self._forget(workload, now))
            return requests
        seen.add(workload)
        tracked = self._workloads.get(workload)
        if tracked is None:
            self._workloads[workload] = _Tracked(parsed=parsed)
        elif tracked.parsed == parsed:
            return requests  # a status change only: the records stay what they are
        else:
            tracked.parsed = parsed
        requests.extend(self._refresh(workload, now))
        return requests

    def _set_run(
        self, pod: _PodId, identity: WorkloadIdentity, obj: Mapping[str, Any], now: datetime
    ) -> list[RecordRequest]:
        owner: WorkloadId = (identity.kind, identity.namespace, identity.name)
        run = pod_run(obj)
        previous = self._runs.get(pod)
        if previous == (owner, run):
            return []
        requests = self._drop_run(pod, now) if previous and previous[0] != owner else []
        self._runs[pod] = (owner, run)
        self._runs_by_owner.setdefault(owner, set()).add(pod)
        requests.extend(self._refresh(self._workload_of(owner), now))
        return requests

    def _drop_run(self, pod: _PodId, now: datetime) -> list[RecordRequest]:
        previous = self._runs.pop(pod, None)
        if previous is None:
            return []
        owner = previous[0]
        pods = self._runs_by_owner.get(owner)
        if pods is not None:
            pods.discard(pod)
            if not pods:
                del self._runs_by_owner[owner]
        return self._refresh(self._workload_of(owner), now)

    def _workload_of(self, owner: WorkloadId) -> WorkloadId:
        kind, namespace, name = owner
        cron = self._job_cron.get((namespace, name)) if kind == "Job" else None
        return ("CronJob", namespace, cron) if cron else owner

    def _runs_of(self, workload: WorkloadId) -> Iterator[tuple[_PodId, PodRun]]:
        kind, namespace, name = workload
        owners = [workload]
        if kind == "CronJob":
            owners += [
                ("Job", namespace, job) for job in self._cron_jobs.get((namespace, name), ())
            ]
        for owner in owners:
            for pod in self._runs_by_owner.get(owner, ()):
                yield pod, self._runs[pod][1]

    def _refresh_all(self, now: datetime) -> list[RecordRequest]:
        requests: list[RecordRequest] = []
        for workload in list(self._workloads):
            requests.extend(self._refresh(workload, now))
        return requests

    def _refresh(self, workload: WorkloadId, now: datetime) -> list[RecordRequest]:
        """Recompute ``workload``'s records; the requests that take the store there."""
        tracked = self._workloads.get(workload)
        if tracked is None or self._deferred:
            return []
        extracted, runs = self._extracted(workload, tracked.parsed)
        target = self._target_of(workload[1])
        records, unrecorded = deployed_records(
            extracted, target, now=now, origin=Origin.CLUSTER, digests=_pulled(extracted, runs)
        )
        desired = {record.key: record for record in records}
        containers = _containers_of(extracted, target, desired)
        requests = self._retire(workload, [k for k in tracked.sent if k not in desired], now)
        for key, request in desired.items():
            self._owners.setdefault(key, set()).add(workload)
            if not _same(tracked.sent.get(key), request):
                requests.append(request)
        tracked.sent, tracked.containers, tracked.unrecorded = desired, containers, unrecorded
        return requests

    def _extracted(
        self, workload: WorkloadId, parsed: ParsedObject
    ) -> tuple[ExtractedWorkload, list[PodRun]]:
        runs = [run for _, run in self._runs_of(workload)]
        # The platforms of the cluster's nodes, not of the nodes its pods happen to run on
        # now: those change with every rollout and rescheduling, and the records would
        # churn with them.
        extracted = extract_parsed(
            parsed, default_platform=self._default_platform, nodes=set(self._nodes.values())
        )
        return extracted, runs

    def _forget(self, workload: WorkloadId, now: datetime) -> list[RecordRequest]:
        tracked = self._workloads.pop(workload, None)
        if tracked is None:
            return []
        return self._retire(workload, list(tracked.sent), now)

    def _retire(
        self, workload: WorkloadId, keys: list[DeploymentKey], now: datetime
    ) -> list[RecordRequest]:
        """``workload`` no longer asks for ``keys``: decommission those nobody else does."""
        requests = []
        tracked = self._workloads.get(workload)
        for key in keys:
            owners = self._owners.get(key, set())
            owners.discard(workload)
            if tracked is not None:
                tracked.sent.pop(key, None)
            if owners:
                # Another workload renders the same name: its record stands.
                other = self._workloads[next(iter(sorted(owners)))]
                requests.append(replace(other.sent[key], observed_at=now))
                continue
            self._owners.pop(key, None)
            requests.append(decommissioned(key, now=now, origin=Origin.CLUSTER))
        return requests

    def _desired(self) -> dict[DeploymentKey, RecordRequest]:
        desired: dict[DeploymentKey, RecordRequest] = {}
        for key, owners in self._owners.items():
            desired[key] = self._workloads[min(owners)].sent[key]
        return desired


def _pulled(workload: ExtractedWorkload, runs: list[PodRun]) -> dict[str, str]:
    """By container, the digest most of the workload's pods pulled for the image its
    spec names now (pods of an older rollout run another image, and do not count)."""
    digests: dict[str, str] = {}
    for container in workload.containers:
        counts = Counter(
            digest
            for run in runs
            if (digest := run.digest(container.name, container.image)) is not None
        )
        if counts:
            # Most pods win; a tie goes to the greatest digest, so the choice is stable.
            digests[container.name] = max(counts.items(), key=lambda item: (item[1], item[0]))[0]
    return digests


def _containers_of(
    workload: ExtractedWorkload,
    target: RecordTarget,
    desired: Mapping[DeploymentKey, RecordRequest],
) -> dict[DeploymentKey, str]:
    return {key: container for key, _, container in record_keys(workload, target) if key in desired}


def _same(sent: RecordRequest | None, request: RecordRequest) -> bool:
    return (
        sent is not None and sent.artifact == request.artifact and sent.platform == request.platform
    )
