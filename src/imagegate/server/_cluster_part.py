"""The cluster watch as a part of the application: records come from what the API
server persisted when the cluster can be listed and watched, else from admission.

With ``--leader-election-namespace`` only the replica holding the Lease watches.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator

import structlog
from aiohttp import web

from imagegate._tasks import stop
from imagegate.admission import RecordTarget
from imagegate.api import CLUSTER_VIEW, TRACKER
from imagegate.cluster import ClusterState, ClusterWatch, cluster_access
from imagegate.kube import KubeClient, KubeConfigError, LeaderLease, LeaseSettings, load_connection
from imagegate.server._keys import HEARTBEATS, METRICS, NAMESPACES, RECORDING, SETTINGS, SPOOL
from imagegate.server._recording import Recording, ServedCluster
from imagegate.server._settings import ServerSettings, SettingsError
from imagegate.server._supervision import supervised

log = structlog.get_logger("imagegate.server")


async def cluster_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    metrics = app[METRICS]
    client, reason = await _cluster_client(settings)
    source = "admission" if client is None else "cluster"
    recording = Recording(source=source, reason=reason)
    app[RECORDING] = recording
    app[CLUSTER_VIEW] = ServedCluster(recording, app[SPOOL])
    for name in ("cluster", "admission"):
        metrics.recording_source.labels(source=name).set(1 if name == source else 0)
    if client is None:
        log.warning("recording_at_admission", reason=reason)
        yield
        return
    log.info("recording_from_cluster", reason=reason)
    admission = settings.admission
    watch_settings = settings.cluster_watch
    namespaces = app.get(NAMESPACES)

    def target_of(namespace: str) -> RecordTarget:
        labels = namespaces.cached(namespace) if namespaces is not None else None
        logical_environment, _ = admission.environments.resolve(namespace, labels)
        return RecordTarget(
            cluster=admission.cluster,
            logical_environment=logical_environment,
            name_template=admission.name_template,
        )

    async def watch_cluster() -> None:
        # A fresh state each time this replica leads: another may have written meanwhile,
        # and the first reconciliation makes the store what the cluster holds.
        state = ClusterState(
            target_of=target_of,
            default_platform=admission.default_platform,
            excluded_namespaces=watch_settings.excluded_namespaces,
            selector=watch_settings.object_selector,
        )
        watch = ClusterWatch(
            client,
            state=state,
            sink=app[HEARTBEATS],
            tracker=app[TRACKER],
            cluster=admission.cluster,
            metrics=metrics,
            settings=watch_settings,
            namespaces=namespaces,
        )
        recording.watch = watch
        try:
            if namespaces is not None:
                # Logical environments come from namespace labels: have them first.
                await namespaces.synced.wait()
            await watch.run()
        finally:
            recording.watch = None
            metrics.cluster_synced.set(0)

    lease: LeaderLease | None = None
    if watch_settings.leader_election_namespace is None:
        log.info("leader_election_off", reason="no --leader-election-namespace, not in a pod")
    else:
        lease = LeaderLease(
            client,
            LeaseSettings(
                namespace=watch_settings.leader_election_namespace,
                name=watch_settings.leader_election_name,
                identity=replica_identity(),
            ),
        )
    recording.lease = lease

    async def campaign() -> None:
        await (watch_cluster() if lease is None else lease.run(watch_cluster))

    task = supervised(campaign, name="cluster-watch", metrics=metrics)
    try:
        yield
    finally:
        await stop(task)
        await client.close()


def replica_identity() -> str:
    """This replica's name in the Lease: its pod's name (the hostname in a pod)."""
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"


async def _cluster_client(settings: ServerSettings) -> tuple[KubeClient | None, str]:
    """A client for the cluster watch, or None (records then come from admission); why."""
    if settings.record_from == "admission":
        return None, "--record-from admission"
    try:
        connection = load_connection(settings.admission.kubeconfig)
    except KubeConfigError as error:
        if settings.record_from == "cluster":
            raise SettingsError(
                f"--record-from cluster: no cluster connection ({error})"
            ) from error
        return None, f"no cluster connection: {error}"
    client = KubeClient.open(connection)
    refused = await cluster_access(client)
    if refused is None:
        return client, f"the cluster's API at {connection.server} can be listed and watched"
    await client.close()
    if settings.record_from == "cluster":
        raise SettingsError(
            f"--record-from cluster: cannot list the cluster's workloads ({refused})"
        )
    return None, f"cannot list the cluster's workloads: {refused}"
