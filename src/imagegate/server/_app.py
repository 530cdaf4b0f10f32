"""The aiohttp application: routes, middlewares and the lifecycle of its parts.

Each part opens in a ``cleanup_ctx`` generator, in this order, and closes in
reverse order on shutdown: self-managed certificates, the TLS context built from
their files, store, spool and recorder, namespace cache, cluster watch, registry
client, policies, admission. The webhooks are routes of this application; the
API is a sub-application under ``/api/v1`` that finds these parts through
``request.config_dict``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import structlog
from aiohttp import web

from imagegate._tasks import stop
from imagegate.admission import (
    ADMISSION,
    AdmissionService,
    CredentialedRegistry,
    FactsGatherer,
    NamespaceLabels,
    add_admission_routes,
)
from imagegate.api import (
    API_PREFIX,
    AUTHENTICATOR,
    EVIDENCE_STORE,
    TRACKER,
    Authenticator,
    api_application,
    json_errors,
)
from imagegate.evidence import CachedEvidence
from imagegate.kube import (
    CertificateManager,
    KubeClient,
    KubeConfigError,
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
from imagegate.server._cluster_part import cluster_context
from imagegate.server._keys import (
    HEARTBEATS,
    METRICS,
    NAMESPACES,
    POLICIES,
    PULL_SECRETS,
    READINESS,
    RECORDER,
    RECORDING,
    REGISTRY,
    SETTINGS,
    SPOOL,
    STORE,
    TLS,
)
from imagegate.server._readiness import Readiness
from imagegate.server._settings import ServerSettings
from imagegate.server._supervision import supervised
from imagegate.store import open_store
from imagegate.tls import ReloadingTLSContext
from imagegate.tracking import EnvironmentExistsError, Tracker

log = structlog.get_logger("imagegate.server")


def build_app(settings: ServerSettings) -> web.Application:
    """The application; its parts open on startup and close on shutdown."""
    app = web.Application(middlewares=[json_errors])
    metrics = Metrics()
    app[SETTINGS] = settings
    app[METRICS] = metrics
    readiness = Readiness()
    for condition in ("store", "spool", "policies", "admission"):
        readiness.require(condition)
    app[READINESS] = readiness
    app.cleanup_ctx.extend(
        [
            _certificates_context,
            _tls_context,
            _store_context,
            _recording_context,
            _namespaces_context,
            cluster_context,
            _registry_context,
            _policies_context,
            _admission_context,
        ]
    )
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_endpoint)
    add_admission_routes(app, settings.admission, metrics)
    app.add_subapp(API_PREFIX, api_application(settings.api))
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
        # Settled before the TLS context is built from the files (the next part) and
        # before anything listens; a failure here fails the start, loudly.
        await manager.ensure()
        readiness.mark("certificates")
        task = supervised(manager.run, name="certificate-rotation", metrics=app[METRICS])
        try:
            yield
        finally:
            await stop(task)
    finally:
        await client.close()


async def _tls_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    tls = reloading_tls(settings)
    if tls is None:
        yield
        return
    app[TLS] = tls
    reload = supervised(
        lambda: tls.watch(
            settings.tls_reload_interval_s, on_failure=app[METRICS].tls_reload_failures.inc
        ),
        name="tls-reload",
        metrics=app[METRICS],
    )
    try:
        yield
    finally:
        await stop(reload)


def reloading_tls(settings: ServerSettings) -> ReloadingTLSContext | None:
    """TLS 1.2+ from the configured files, reloaded when they change; None for plain HTTP."""
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    callers = settings.admission.callers
    return ReloadingTLSContext(
        settings.tls_cert,
        settings.tls_key,
        client_ca_file=callers.ca_file if callers is not None else None,
    )


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
