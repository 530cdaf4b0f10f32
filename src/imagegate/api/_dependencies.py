"""What the API's handlers need from the serving process.

The server opens these parts (store, authenticator, cluster watch) in its own
application and sets them under these keys; the API, a sub-application, finds
them through ``request.config_dict``, which looks in the parent too.
"""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from imagegate.api._auth import Authenticator
from imagegate.api._settings import ApiSettings
from imagegate.api._wire import ClusterOut
from imagegate.auth import ApiKey
from imagegate.evidence import EvidenceStore
from imagegate.tracking import Tracker


class ClusterView(Protocol):
    """Where records come from in the serving process, and what it could not record."""

    async def cluster(self, *, records: bool) -> ClusterOut: ...


TRACKER = web.AppKey("tracker", Tracker)
AUTHENTICATOR = web.AppKey("authenticator", Authenticator)
EVIDENCE_STORE = web.AppKey[EvidenceStore]("evidence_store")
"""Where posted evidence (scan reports, provenance) is kept; usually the record store."""
CLUSTER_VIEW = web.AppKey[ClusterView]("cluster_view")

API_SETTINGS = web.AppKey("api_settings", ApiSettings)
"""Set by ``api_application`` on the API's own sub-application."""
API_KEY = web.RequestKey[ApiKey]("api_key")
"""The key a request was authorized with (by ``_requires``)."""
