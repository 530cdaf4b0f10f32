"""The cluster watch: list-and-watch of every tracked kind, records through the spool.

Order matters at start: Nodes and Pods are listed before the workloads, so that a
workload's first records already have its nodes' platform and the digests its
pods pulled (otherwise they would be written once without, then superseded).
Once every kind is listed, the store is reconciled with the cluster, and again
every ``reconcile_interval_s``: that catches up what no event said (imagegate down,
a webhook outage) and retires records of workloads gone meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import structlog

from imagegate._backoff import Backoff
from imagegate._tasks import stop
from imagegate.cluster._reports import ReconcilePlan
from imagegate.cluster._selector import LabelSelector
from imagegate.cluster._state import ClusterState
from imagegate.kube import KubeApiError, KubeClient, ListWatch
from imagegate.metrics import Metrics
from imagegate.tracking import (
    DeploymentQuery,
    DeploymentRecord,
    Kind,
    RecordRequest,
    StoreError,
    StoreUnavailableError,
    Tracker,
    utc_now,
)

log = structlog.get_logger("imagegate.cluster")

NODES_PATH = "/api/v1/nodes"
# (kind, collection) of everything whose pods are recorded, Pods first (see above).
TRACKED_KINDS = (
    ("Pod", "/api/v1/pods"),
    ("ReplicationController", "/api/v1/replicationcontrollers"),
    ("Deployment", "/apis/apps/v1/deployments"),
    ("StatefulSet", "/apis/apps/v1/statefulsets"),
    ("DaemonSet", "/apis/apps/v1/daemonsets"),
    ("ReplicaSet", "/apis/apps/v1/replicasets"),
    ("Job", "/apis/batch/v1/jobs"),
    ("CronJob", "/apis/batch/v1/cronjobs"),
)
_STORE_PAGE = 1000
_SPOOL_CHUNK = 500


class Namespaces(Protocol):
    """Namespace labels (the namespace cache), for logical environments."""

    def cached(self, namespace: str) -> Mapping[str, str] | None: ...

    async def labels(self, namespace: str) -> Mapping[str, str] | None: ...

    def subscribe(self, changed: Callable[[str], None]) -> None: ...

    def unsubscribe(self, changed: Callable[[str], None]) -> None: ...


class RecordSink(Protocol):
    """Where record requests go (the HeartbeatThrottle in front of the spool)."""

    def hold(self, requests: Sequence[RecordRequest]) -> bool: ...

    async def append(self, requests: Sequence[RecordRequest]) -> None: ...


@dataclass(frozen=True, slots=True)
class ClusterWatchSettings:
    """What the watch leaves out, and how often it reconciles."""

    excluded_namespaces: frozenset[str] = frozenset({"kube-system", "kube-node-lease"})
    """Namespaces whose workloads are never recorded: those the webhook is not called for."""
    reconcile_interval_s: float = 300.0
    """How often the store is compared with the whole cluster (besides every event)."""
    leader_election_namespace: str | None = None
    """Namespace of the Lease that makes one replica the only one to watch and write;
    None: no election (a single instance)."""
    leader_election_name: str = "imagegate-cluster-watch"
    """Name of that Lease."""
    object_selector: LabelSelector = field(default_factory=LabelSelector)
    """The webhook's objectSelector: objects it leaves out are not recorded either."""


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    """What /readyz and the API say about the watch."""

    synced: bool
    workloads: int
    last_reconciled_at: datetime | None
    last_reconcile: ReconcilePlan | None


class ClusterWatch:
    """Keeps the records of ``cluster`` what the API server holds."""

    def __init__(
        self,
        client: KubeClient,
        *,
        state: ClusterState,
        sink: RecordSink,
        tracker: Tracker,
        cluster: str,
        metrics: Metrics,
        settings: ClusterWatchSettings,
        namespaces: Namespaces | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._client = client
        self._namespaces = namespaces
        self._changes: asyncio.Queue[tuple[str, Callable[[], list[RecordRequest]]]] = (
            asyncio.Queue()
        )
        self.state = state
        self._sink = sink
        self._tracker = tracker
        self._cluster = cluster
        self._metrics = metrics
        self._settings = settings
        self._clock = clock
        self._pending: list[RecordRequest] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.synced = asyncio.Event()
        """Set once every kind has been listed and the store reconciled once."""
        self._last_reconciled_at: datetime | None = None
        self._last_reconcile: ReconcilePlan | None = None

    def status(self) -> ClusterStatus:
        return ClusterStatus(
            synced=self.synced.is_set(),
            workloads=self.state.workload_count,
            last_reconciled_at=self._last_reconciled_at,
            last_reconcile=self._last_reconcile,
        )

    async def run(self) -> None:
        """Watch and reconcile until cancelled; API and store failures are retried."""
        tasks: list[asyncio.Task[None]] = []
        try:
            tasks.append(asyncio.create_task(self._write(), name="imagegate-cluster-writer"))
            tasks.append(asyncio.create_task(self._apply(), name="imagegate-cluster-changes"))
            if self._namespaces is not None:
                self._namespaces.subscribe(self._namespace_changed)
            first = [self._node_watch(), self._kind_watch(*TRACKED_KINDS[0])]
            rest = [self._kind_watch(kind, path) for kind, path in TRACKED_KINDS[1:]]
            for group in (first, rest):
                for watch in group:
                    tasks.append(
                        asyncio.create_task(watch.run(), name=f"imagegate-watch {watch.path}")
                    )
                synced = asyncio.gather(*(watch.synced.wait() for watch in group))
                await _while_running(synced, tasks)
            log.info("cluster_listed", workloads=self.state.workload_count)
            while True:
                await _while_running(self._reconcile_until_done(), tasks)
                self._metrics.cluster_synced.set(1)
                self.synced.set()
                # Reconciliation pacing: a full comparison every interval, events between.
                await _while_running(asyncio.sleep(self._settings.reconcile_interval_s), tasks)
        finally:
            if self._namespaces is not None:
                self._namespaces.unsubscribe(self._namespace_changed)
            await stop(*tasks)

    async def settled(self) -> None:
        """Return once every request made so far has been handed to the sink."""
        # Every push clears it, and the writer sets it only once nothing is pending.
        await self._idle.wait()

    def _node_watch(self) -> ListWatch:
        state = self.state

        def listed(items: list[dict[str, Any]]) -> None:
            self._queue("", lambda: state.nodes_listed(items, self._clock()))

        def changed(event: str, obj: dict[str, Any]) -> None:
            self._queue("", lambda: state.node_changed(event, obj, self._clock()))

        return ListWatch(self._client, NODES_PATH, on_list=listed, on_event=changed)

    def _kind_watch(self, kind: str, path: str) -> ListWatch:
        state = self.state

        def listed(items: list[dict[str, Any]]) -> None:
            self._queue("", lambda: state.listed(kind, items, self._clock()))

        def changed(event: str, obj: dict[str, Any]) -> None:
            namespace = str((obj.get("metadata") or {}).get("namespace", ""))
            self._queue(namespace, lambda: state.changed(kind, event, obj, self._clock()))

        return ListWatch(self._client, path, on_list=listed, on_event=changed)

    def _namespace_changed(self, namespace: str) -> None:
        self._queue("", lambda: self.state.refresh_namespace(namespace, self._clock()))

    def _queue(self, namespace: str, change: Callable[[], list[RecordRequest]]) -> None:
        self._changes.put_nowait((namespace, change))

    async def _apply(self) -> None:
        """Apply changes in the order they came, each once its namespace is known: a
        namespace created a moment before its first workload may not have reached the
        namespace watch yet, and its labels decide the records' logical environment."""
        while True:
            namespace, change = await self._changes.get()
            try:
                namespaces = self._namespaces
                if namespace and namespaces is not None and namespaces.cached(namespace) is None:
                    with contextlib.suppress(Exception):  # unknown: the default environment
                        await namespaces.labels(namespace)
                self._push(change())
                self._metrics.cluster_workloads.set(self.state.workload_count)
            except Exception:
                # The object is recomputed at its next event, or when its kind is listed.
                self._metrics.cluster_change_failures.inc()
                log.exception("cluster_change_failed", namespace=namespace)
            finally:
                self._changes.task_done()

    def _push(self, requests: list[RecordRequest]) -> None:
        if requests:
            self._pending.extend(requests)
            self._idle.clear()
            self._wake.set()

    async def _write(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:_SPOOL_CHUNK], self._pending[_SPOOL_CHUNK:]
                await self._spool(batch)
            self._unrecorded_gauges()
            self._idle.set()

    async def _spool(self, batch: list[RecordRequest]) -> None:
        if self._sink.hold(batch):
            return
        try:
            await self._sink.append(batch)
        except StoreUnavailableError as error:
            # The spool is a local file: failing to write it is the disk's failure. The
            # next reconciliation writes these again.
            self._metrics.unrecorded_images.labels(reason="spool_failed").inc(len(batch))
            log.exception("spool_append_failed", error=str(error), records=len(batch))
            return
        recorded = [r.key.deployment_name for r in batch]
        log.info("cluster_recorded", records=len(batch), deployments=recorded[:20])

    def _unrecorded_gauges(self) -> None:
        counts: dict[str, int] = {}
        for unrecorded in self.state.unrecorded():
            counts[unrecorded.reason] = counts.get(unrecorded.reason, 0) + 1
        gauge = self._metrics.unrecorded_workloads
        gauge.clear()
        for reason, count in counts.items():
            gauge.labels(reason=reason).set(count)

    async def _reconcile_until_done(self) -> None:
        backoff = Backoff(1.0, 30.0)
        while True:
            try:
                await self.reconcile()
            except (StoreError, KubeApiError) as error:
                self._metrics.reconciliations.labels(outcome="failed").inc()
                log.warning("reconcile_failed", error=str(error), retry_in_s=backoff.next_s)
                # Retry pacing while the store is down.
                await backoff.wait()
            else:
                return

    async def reconcile(self) -> ReconcilePlan:
        """Compare the store with what the cluster holds now, and write the difference."""
        started = time.perf_counter()
        await self._changes.join()  # every list and event so far is in the state
        stored = await self._stored()
        now = self._clock()
        # Namespace labels may have moved a workload to another logical environment.
        self._push(self.state.refresh(now))
        plan = self.state.reconcile(stored, now)
        self._push(list(plan.requests))
        await self.settled()
        metrics = self._metrics
        metrics.reconciliations.labels(outcome="ok").inc()
        metrics.reconciled_records.labels(action="recorded").inc(plan.recorded)
        metrics.reconciled_records.labels(action="refreshed").inc(plan.refreshed)
        metrics.reconciled_records.labels(action="decommissioned").inc(plan.decommissioned)
        self._last_reconciled_at, self._last_reconcile = now, plan
        log.info(
            "cluster_reconciled",
            workloads=self.state.workload_count,
            recorded=plan.recorded,
            refreshed=plan.refreshed,
            decommissioned=plan.decommissioned,
            unrecorded=len(self.state.unrecorded()),
            seconds=round(time.perf_counter() - started, 3),
        )
        return plan

    async def _stored(self) -> list[DeploymentRecord]:
        """The deployed container-image records of this cluster, every page."""
        records: list[DeploymentRecord] = []
        after: int | None = None
        while True:
            page = await self._tracker.list_deployments(
                DeploymentQuery(
                    environment=self._cluster,
                    kind=Kind.CONTAINER_IMAGE,
                    limit=_STORE_PAGE,
                    after_id=after,
                )
            )
            records.extend(page.records)
            if page.next_after_id is None:
                return records
            after = page.next_after_id


async def cluster_access(client: KubeClient, *, timeout_s: float = 10.0) -> str | None:
    """None if imagegate may list every collection the watch reads, else why not."""
    for path in (NODES_PATH, *(path for _, path in TRACKED_KINDS)):
        try:
            await client.get(f"{path}?limit=1", timeout_s=timeout_s)
        except KubeApiError as error:
            return str(error)
    return None


async def _while_running(step: Awaitable[Any], tasks: list[asyncio.Task[None]]) -> None:
    """Await ``step``; if one of the watch's own tasks ends first, raise what ended it (so
    that the whole watch is started again, not left half alive)."""
    waited = asyncio.ensure_future(step)
    try:
        done, _ = await asyncio.wait([waited, *tasks], return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not waited.done():
            waited.cancel()
    if waited in done:
        waited.result()
        return
    ended = next(task for task in tasks if task in done)
    ended.result()  # its exception, if it failed
    raise RuntimeError(f"the cluster watch's task {ended.get_name()!r} ended")
