"""Namespace labels, kept in memory by a list-and-watch of the Kubernetes API."""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from imagegate.errors import UnavailableError
from imagegate.kube._client import KubeApiError, KubeClient
from imagegate.kube._list_watch import ListWatch

log = structlog.get_logger("imagegate.kube")

_HTTP_NOT_FOUND = 404


class NamespaceLookupError(UnavailableError):
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
        self._labels: dict[str, dict[str, str]] = {}
        self._watch = ListWatch(
            client,
            "/api/v1/namespaces",
            on_list=self._listed,
            on_event=self._changed,
            retry_initial_s=retry_initial_s,
            retry_max_s=retry_max_s,
        )
        self._subscribers: list[Callable[[str], None]] = []
        self.synced = asyncio.Event()
        """Set once the first full list has been read."""

    def subscribe(self, changed: Callable[[str], None]) -> None:
        """Call ``changed(namespace)`` whenever the watch sees a namespace's labels change."""
        self._subscribers.append(changed)

    def unsubscribe(self, changed: Callable[[str], None]) -> None:
        """Stop calling ``changed``."""
        with contextlib.suppress(ValueError):
            self._subscribers.remove(changed)

    def cached(self, namespace: str) -> Mapping[str, str] | None:
        """The labels of ``namespace`` as the watch last saw them; None if unknown."""
        return self._labels.get(namespace)

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
        await self._watch.run()

    def _listed(self, items: list[dict[str, Any]]) -> None:
        self._labels = {item["metadata"]["name"]: _labels_of(item) for item in items}
        if not self.synced.is_set():
            log.info("namespaces_synced", namespaces=len(self._labels))
        self.synced.set()

    def _changed(self, kind: str, item: dict[str, Any]) -> None:
        name = (item.get("metadata") or {}).get("name")
        if not name:
            return
        if kind == "DELETED":
            self._labels.pop(name, None)
            return
        labels = _labels_of(item)
        if self._labels.get(name) == labels:
            return
        self._labels[name] = labels
        for changed in self._subscribers:
            changed(name)


def _labels_of(document: dict[str, Any]) -> dict[str, str]:
    labels = document.get("metadata", {}).get("labels") or {}
    return {str(key): str(value) for key, value in labels.items()}
