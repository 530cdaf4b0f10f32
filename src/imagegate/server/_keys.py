"""The keys of the server's application: each part it opens, under one typed name.

The API's and the webhooks' own keys (tracker, authenticator, admission service)
live in their packages, which cannot import this one.
"""

from __future__ import annotations

from aiohttp import web

from imagegate.admission import RegistryFacts
from imagegate.kube import NamespaceCache, PullSecrets
from imagegate.metrics import Metrics
from imagegate.policy import PolicySource
from imagegate.recording import HeartbeatThrottle, Recorder, Spool
from imagegate.server._readiness import Readiness
from imagegate.server._recording import Recording
from imagegate.server._settings import ServerSettings
from imagegate.store import PostgresStore, SqliteStore
from imagegate.tls import ReloadingTLSContext

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
TLS = web.AppKey("tls", ReloadingTLSContext)
"""The server's TLS context, reloaded as its files change; absent for plain HTTP."""
