"""The aiohttp application: routes, middlewares and the lifecycle of its parts.

Each part opens in a ``cleanup_ctx`` generator and closes in reverse order on
shutdown: store, then spool and recorder, then namespace cache, then admission.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from typing import Any

import structlog
from aiohttp import web

from imagegate._tasks import stop
from imagegate.admission import (
    ADMISSION,
    ADMISSION_METRICS,
    MAX_REVIEW_BYTES,
    WEBHOOK_CALLERS,
    AdmissionService,
    CredentialedRegistry,
    FactsGatherer,
    NamespaceLabels,
    RecordTarget,
    RegistryFacts,
    add_admission_routes,
)
from imagegate.api import (
    API_SETTINGS,
    AUTHENTICATOR,
    CLUSTER_VIEW,
    EVIDENCE_STORE,
    TRACKER,
    Authenticator,
    add_api_routes,
    json_errors,
)
from imagegate.cluster import ClusterState, ClusterWatch, cluster_access
from imagegate.evidence import CachedEvidence
from imagegate.kube import (
    CertificateManager,
    KubeClient,
    KubeConfigError,
    LeaderLease,
    LeaseSettings,
    NamespaceCache,
    PullSecrets,
    connect_for_certificates,
    load_connection,
)
from imagegate.metrics import Metrics
from imagegate.policy import PolicySource, baseline_policy
from imagegate.recording import HeartbeatThrottle, Recorder, Spool
from imagegate.registry import (
    DockerConfigError,
    FactsCache,
    RegistryClient,
    credentials_from_docker_config,
)
from imagegate.server._readiness import Readiness
from imagegate.server._recording import Recording, ServedCluster
from imagegate.server._settings import ServerSettings, SettingsError
from imagegate.server._supervision import supervised
from imagegate.store import PostgresStore, SqliteStore, open_store
from imagegate.tracking import EnvironmentExistsError, Tracker

log = structlog.get_logger("imagegate.server")


SETTINGS = web.AppKey("settings", ServerSettings)
METRICS = web.AppKey("metrics", Metrics)
READINESS = web.AppKey("readiness", Readiness)
RECORDER = web.AppKey("recorder", Recorder)
SPOOL = web.AppKey("spool", Spool)
HEARTBEATS = web.AppKey("heartbeats", HeartbeatThrottle)
NAMESPACES = web.AppKey("namespaces", NamespaceCache)
POLICIES = web.AppKey("policies", PolicySource)
PULL_SECRETS = web.AppKey("pull_secrets", PullSecrets)
STORE = web.AppKey[SqliteStore | PostgresStore]("store")
REGISTRY = web.AppKey("registry", RegistryFacts)
RECORDING = web.AppKey("recording", Recording)


def build_app(settings: ServerSettings) -> web.Application:
    """The application; its parts open on startup and close on shutdown."""
    app = web.Application(middlewares=[json_errors])
    metrics = Metrics()
    app[SETTINGS] = settings
    app[API_SETTINGS] = settings.api
    app[METRICS] = metrics
    app[ADMISSION_METRICS] = metrics
    app[MAX_REVIEW_BYTES] = settings.admission.max_body_bytes
    app[WEBHOOK_CALLERS] = settings.admission.callers
    readiness = Readiness()
    for condition in ("store", "spool", "policies", "admission"):
        readiness.require(condition)
    app[READINESS] = readiness
    app.cleanup_ctx.extend(
        [
            _certificates_context,
            _store_context,
            _recording_context,
            _namespaces_context,
            _cluster_context,
            _registry_context,
            _policies_context,
            _admission_context,
        ]
    )
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_endpoint)
    add_admission_routes(app)
    add_api_routes(app)
    return app


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process serves requests."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: store, spool, policies (and namespace cache, if used) are loaded; the
    detail says where records come from and, for the cluster watch, how far it is."""
    unmet = request.app[READINESS].unmet()
    recording = _recording_detail(request.app)
    if unmet:
        return web.json_response(
            {"status": "not ready", "waiting_for": unmet, "recording": recording}, status=503
        )
    return web.json_response({"status": "ready", "recording": recording})


def _recording_detail(app: web.Application) -> dict[str, Any]:
    recording = app.get(RECORDING)
    return recording.detail() if recording is not None else {}


async def metrics_endpoint(request: web.Request) -> web.Response:
    """Prometheus text exposition."""
    body, content_type = request.app[METRICS].exposition()
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response


async def _certificates_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if settings.certificates is None:
        yield
        return
    readiness = app[READINESS]
    readiness.require("certificates")
    client = KubeClient.open(connect_for_certificates(settings.admission.kubeconfig))
    try:
        manager = CertificateManager(client, settings.certificates)
        # ``imagegate serve`` did a pass before building its TLS context; this one is
        # normally a no-op, and keeps an app that does not come from it from serving
        # before its certificate is settled. A failure here fails the start, loudly.
        await manager.ensure()
        readiness.mark("certificates")
        task = supervised(manager.run, name="certificate-rotation", metrics=app[METRICS])
        try:
            yield
        finally:
            await stop(task)
    finally:
        await client.close()


async def _store_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    store = await open_store(settings.store_url)
    # Admissions and the evidence API share one cache, so evidence posted here counts
    # for the next admission.
    evidence = CachedEvidence(store, ttl_s=settings.admission.evidence_cache_ttl_s)
    try:
        app[STORE] = store
        app[EVIDENCE_STORE] = evidence
        tracker = Tracker(store, settings=settings.tracker)
        await _ensure_environment(tracker, settings.admission.cluster)
        app[TRACKER] = tracker
        app[AUTHENTICATOR] = Authenticator(store, cache_ttl_s=settings.api.api_key_cache_ttl_s)
        app[READINESS].mark("store")
        yield
    finally:
        await evidence.settled()
        await store.close()


async def _recording_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS].admission
    metrics = app[METRICS]
    spool = await Spool.open(settings.spool_path)
    recorder = Recorder(spool, app[TRACKER], metrics=metrics)
    heartbeats = HeartbeatThrottle(
        spool, interval_s=settings.heartbeat_interval_s, on_held=metrics.heartbeats_held.inc
    )
    task = supervised(recorder.run, name="recorder", metrics=metrics)
    flusher = supervised(heartbeats.run, name="heartbeat-flush", metrics=metrics)
    app[SPOOL] = spool
    app[RECORDER] = recorder
    app[HEARTBEATS] = heartbeats
    app[READINESS].mark("spool")
    try:
        yield
    finally:
        await stop(flusher)
        await heartbeats.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(recorder.drain(), app[SETTINGS].shutdown_drain_s)
        await stop(task)
        await spool.close()


async def _namespaces_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS].admission
    if not settings.namespace_labels and not settings.read_pull_secrets:
        yield
        return
    try:
        connection = load_connection(settings.kubeconfig)
    except KubeConfigError as error:
        log.info("namespace_labels_off", reason=str(error))
        yield
        return
    client = KubeClient.open(connection)
    if settings.read_pull_secrets:
        app[PULL_SECRETS] = PullSecrets(client)
    tasks: list[asyncio.Task[None]] = []
    if settings.namespace_labels:
        cache = NamespaceCache(client, lookup_timeout_s=settings.namespace_lookup_timeout_s)
        app[NAMESPACES] = cache
        readiness = app[READINESS]
        readiness.require("namespaces")
        tasks.append(supervised(cache.run, name="namespace-watch", metrics=app[METRICS]))
        tasks.append(
            asyncio.create_task(_mark_when_synced(cache, readiness), name="imagegate-ns-synced")
        )
    try:
        yield
    finally:
        await stop(*tasks)
        await client.close()


async def _cluster_context(app: web.Application) -> AsyncIterator[None]:
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


async def _registry_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS].admission
    credentials = {}
    if settings.registry_config is not None:
        # Unreadable or malformed credentials are fatal at start: DockerConfigError says why.
        try:
            config = settings.registry_config.read_bytes()
        except OSError as error:
            raise DockerConfigError(
                f"--registry-config {settings.registry_config}: cannot be read: {error.strerror}"
            ) from None
        credentials = credentials_from_docker_config(config)
    client = RegistryClient(settings.registry)
    app[REGISTRY] = CredentialedRegistry(FactsCache(client), credentials)
    try:
        yield
    finally:
        await client.close()


async def _policies_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS].admission
    # A policy set that does not load at start is fatal (PolicyLoadError says where
    # and why); later, a bad change is reported and the last good set stays.
    source = PolicySource(settings.policy_path, baseline=baseline_policy(settings.require_digest))
    app[POLICIES] = source
    app[READINESS].mark("policies")
    watch = supervised(
        lambda: source.watch(settings.policy_reload_interval_s),
        name="policy-watch",
        metrics=app[METRICS],
    )
    try:
        yield
    finally:
        await stop(watch)


async def _admission_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS].admission
    namespaces: NamespaceLabels | None = app.get(NAMESPACES)
    facts = FactsGatherer(
        registry=app.get(REGISTRY),
        evidence=app[EVIDENCE_STORE],
        tracker=app[TRACKER],
        default_platform=settings.default_platform,
        timeout_s=settings.facts_timeout_s,
        pull_secrets=app.get(PULL_SECRETS),
    )
    recording = app.get(RECORDING)
    service = AdmissionService(
        records_at_admission=recording is None or recording.source == "admission",
        settings=settings,
        sink=app[HEARTBEATS],
        metrics=app[METRICS],
        policies=app[POLICIES],
        namespaces=namespaces,
        facts=facts,
    )
    app[ADMISSION] = service
    readiness = app[READINESS]
    readiness.mark("admission")
    try:
        yield
    finally:
        await service.close()


async def _mark_when_synced(cache: NamespaceCache, readiness: Readiness) -> None:
    await cache.synced.wait()
    readiness.mark("namespaces")


async def _ensure_environment(tracker: Tracker, name: str) -> None:
    # Admission records into the cluster's environment; several replicas may race here.
    if await tracker.get_environment(name) is None:
        with contextlib.suppress(EnvironmentExistsError):
            await tracker.create_environment(name, description="this cluster (admission webhook)")
