"""List, then watch, one collection of the Kubernetes API, for as long as a task runs.

The informer pattern without the cache: a paginated list hands every object to
``on_list`` (which replaces what the caller knew), then each watch event goes to
``on_event``. A watch that the server ends is resumed from the last
resourceVersion seen (bookmarks move it too); one that is too old (410 Gone)
lists again, so nothing that happened meanwhile is missed; a failure reconnects
with backoff and lists again.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Callable
from typing import Any

import structlog

from imagegate._backoff import Backoff
from imagegate.kube._client import KubeApiError, KubeClient

log = structlog.get_logger("imagegate.kube")

WATCH_TIMEOUT_S = 300
_LIST_PAGE = 500
_HTTP_GONE = 410

Event = tuple[str, dict[str, Any]]
"""(ADDED | MODIFIED | DELETED, object) of one watch event."""


class ListWatch:
    """One collection (e.g. ``/apis/apps/v1/deployments``), listed then watched."""

    def __init__(
        self,
        client: KubeClient,
        path: str,
        *,
        on_list: Callable[[list[dict[str, Any]]], None],
        on_event: Callable[[str, dict[str, Any]], None],
        label_selector: str | None = None,
        retry_initial_s: float = 0.5,
        retry_max_s: float = 30.0,
        page_size: int = _LIST_PAGE,
        watch_timeout_s: int = WATCH_TIMEOUT_S,
    ) -> None:
        self._client = client
        self.path = path
        self._on_list = on_list
        self._on_event = on_event
        self._label_selector = label_selector
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._page_size = page_size
        self._watch_timeout_s = watch_timeout_s
        self.synced = asyncio.Event()
        """Set once the first full list has been handed to ``on_list``."""
        self.lists = 0
        """Full lists read so far (the first, then one after each 410 or failure)."""

    async def run(self) -> None:
        """List and watch until cancelled; never raises for API failures."""
        backoff = Backoff(self._retry_initial_s, self._retry_max_s)
        while True:
            try:
                resource_version = await self._list()
                backoff.reset()
                while True:
                    resource_version = await self._watch(resource_version)
            except _RelistNeededError:
                continue
            except KubeApiError as error:
                log.warning(
                    "watch_failed", path=self.path, error=str(error), retry_in_s=backoff.next_s
                )
                # Reconnect pacing while the API is unreachable.
                await backoff.wait()

    async def _list(self) -> str:
        items: list[dict[str, Any]] = []
        continue_token = ""
        while True:
            params = {"limit": str(self._page_size)}
            if continue_token:
                params["continue"] = continue_token
            if self._label_selector:
                params["labelSelector"] = self._label_selector
            try:
                document = await self._client.get(
                    f"{self.path}?{urllib.parse.urlencode(params)}", timeout_s=60
                )
            except KubeApiError as error:
                if error.status == _HTTP_GONE:
                    # The continue token expired between pages: start the list over.
                    raise _RelistNeededError from error
                raise
            items.extend(document.get("items") or [])
            metadata = document.get("metadata") or {}
            continue_token = str(metadata.get("continue") or "")
            if not continue_token:
                break
        self._on_list(items)
        self.lists += 1
        self.synced.set()
        return str(metadata.get("resourceVersion", ""))

    async def _watch(self, resource_version: str) -> str:
        async for event in self._client.watch(
            self.path,
            resource_version=resource_version,
            timeout_s=self._watch_timeout_s,
            label_selector=self._label_selector,
        ):
            kind = str(event.get("type", ""))
            item = event.get("object") or {}
            if kind == "ERROR":
                if item.get("code") == _HTTP_GONE:
                    raise _RelistNeededError
                raise KubeApiError(f"watch error: {item.get('message')}", status=item.get("code"))
            metadata = item.get("metadata") or {}
            resource_version = str(metadata.get("resourceVersion", resource_version))
            if kind in ("ADDED", "MODIFIED", "DELETED"):
                self._on_event(kind, item)
        return resource_version


class _RelistNeededError(Exception):
    """The watch's resourceVersion is too old (410 Gone): list again."""
