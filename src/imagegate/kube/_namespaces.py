"""Namespace labels, kept in memory by a list-and-watch of the Kubernetes API."""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Mapping
from typing import Any

import structlog

from imagegate.kube._client import KubeApiError, KubeClient

log = structlog.get_logger("imagegate.kube")

_WATCH_TIMEOUT_S = 300
_HTTP_GONE = 410
_HTTP_NOT_FOUND = 404


class NamespaceLookupError(Exception):
    """A namespace's labels could not be read (API unreachable or too slow)."""


class NamespaceCache:
    """Labels of every namespace, from a watch, with a bounded direct read on a miss.

    A namespace created a moment ago may not have reached the watch yet; its first
    pod must still get the right environment, hence the direct read on a miss.
    """

    def __init__(
        self,
        client: KubeClient,
        *,
        lookup_timeout_s: float = 0.5,
        retry_initial_s: float = 0.5,
        retry_max_s: float = 30.0,
    ) -> None:
        self._client = client
        self._lookup_timeout_s = lookup_timeout_s
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._labels: dict[str, dict[str, str]] = {}
        self.synced = asyncio.Event()
        """Set once the first full list has been read."""

    async def labels(self, namespace: str) -> Mapping[str, str] | None:
        """The labels of ``namespace``; None if it does not exist."""
        cached = self._labels.get(namespace)
        if cached is not None:
            return cached
        try:
            document = await self._client.get(
                f"/api/v1/namespaces/{urllib.parse.quote(namespace, safe='')}",
                timeout_s=self._lookup_timeout_s,
            )
        except KubeApiError as error:
            if error.status == _HTTP_NOT_FOUND:
                return None
            raise NamespaceLookupError(str(error)) from error
        labels = _labels_of(document)
        self._labels[namespace] = labels
        return labels

    async def run(self) -> None:
        """List, then watch, for as long as the task runs; reconnects after failures."""
        delay = self._retry_initial_s
        while True:
            try:
                resource_version = await self._list()
                delay = self._retry_initial_s
                while True:
                    resource_version = await self._watch(resource_version)
            except _RelistNeededError:
                continue
            except KubeApiError as error:
                log.warning("namespace_watch_failed", error=str(error), retry_in_s=delay)
                # Reconnect pacing while the API is unreachable: nothing to await but time.
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max_s)

    async def _list(self) -> str:
        document = await self._client.get("/api/v1/namespaces", timeout_s=30)
        self._labels = {
            item["metadata"]["name"]: _labels_of(item) for item in document.get("items", [])
        }
        if not self.synced.is_set():
            log.info("namespaces_synced", namespaces=len(self._labels))
        self.synced.set()
        return str(document.get("metadata", {}).get("resourceVersion", ""))

    async def _watch(self, resource_version: str) -> str:
        async for event in self._client.watch(
            "/api/v1/namespaces", resource_version=resource_version, timeout_s=_WATCH_TIMEOUT_S
        ):
            kind = event.get("type")
            item = event.get("object", {})
            if kind == "ERROR":
                if item.get("code") == _HTTP_GONE:
                    raise _RelistNeededError
                raise KubeApiError(f"watch error: {item.get('message')}", status=item.get("code"))
            metadata = item.get("metadata", {})
            resource_version = str(metadata.get("resourceVersion", resource_version))
            name = metadata.get("name")
            if kind in ("ADDED", "MODIFIED") and name:
                self._labels[name] = _labels_of(item)
            elif kind == "DELETED" and name:
                self._labels.pop(name, None)
        return resource_version


class _RelistNeededError(Exception):
    """The watch's resourceVersion is too old (410 Gone): list again."""


def _labels_of(document: dict[str, Any]) -> dict[str, str]:
    labels = document.get("metadata", {}).get("labels") or {}
    return {str(key): str(value) for key, value in labels.items()}
