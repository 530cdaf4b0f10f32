"""A small async client for the few Kubernetes API calls imagegate makes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from imagegate.errors import UnavailableError
from imagegate.kube._connection import KubeConnection


class KubeApiError(UnavailableError):
    """The Kubernetes API answered with an error status, or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class KubeClient:
    """JSON over HTTPS to one API server, on one aiohttp session."""

    def __init__(self, connection: KubeConnection, session: aiohttp.ClientSession) -> None:
        self._connection = connection
        self._session = session

    @classmethod
    def open(cls, connection: KubeConnection) -> KubeClient:
        """A client with its own session; ``close`` it when done."""
        connector = aiohttp.TCPConnector(ssl=connection.ssl_context)
        return cls(connection, aiohttp.ClientSession(connector=connector))

    async def close(self) -> None:
        await self._session.close()

    async def get(self, path: str, *, timeout_s: float) -> dict[str, Any]:
        """GET ``path`` (e.g. ``/api/v1/namespaces/default``) as JSON."""
        try:
            async with self._session.get(
                self._connection.server + path,
                headers=self._headers(),
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as response:
                await _raise_for_status(response, path)
                document: dict[str, Any] = await response.json()
                return document
        except (aiohttp.ClientError, TimeoutError) as error:
            raise KubeApiError(f"GET {path}: {error or type(error).__name__}") from error

    async def post(self, path: str, body: dict[str, Any], *, timeout_s: float) -> dict[str, Any]:
        """POST ``body`` to the collection at ``path`` (create); the created object."""
        return await self._send("POST", path, body, "application/json", timeout_s)

    async def put(self, path: str, body: dict[str, Any], *, timeout_s: float) -> dict[str, Any]:
        """PUT ``body`` at ``path`` (replace; its ``resourceVersion`` is a precondition)."""
        return await self._send("PUT", path, body, "application/json", timeout_s)

    async def patch(
        self,
        path: str,
        body: dict[str, Any],
        *,
        content_type: str = "application/merge-patch+json",
        timeout_s: float,
    ) -> dict[str, Any]:
        """PATCH ``path`` with ``body``; ``content_type`` names the kind of patch."""
        return await self._send("PATCH", path, body, content_type, timeout_s)

    async def watch(
        self,
        path: str,
        *,
        resource_version: str,
        timeout_s: int,
        label_selector: str | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Watch events of the collection at ``path`` from ``resource_version``.

        The server ends the watch after ``timeout_s``; the caller watches again.
        """
        params = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_s),
        }
        if label_selector:
            params["labelSelector"] = label_selector
        try:
            async with self._session.get(
                self._connection.server + path,
                params=params,
                headers=self._headers(),
                # No total timeout: a watch is meant to stay open; the server closes it.
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=10, sock_read=timeout_s + 30
                ),
            ) as response:
                await _raise_for_status(response, path)
                async for line in response.content:
                    if line.strip():
                        yield json.loads(line)
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise KubeApiError(f"watch {path}: {error or type(error).__name__}") from error

    async def _send(
        self, method: str, path: str, body: dict[str, Any], content_type: str, timeout_s: float
    ) -> dict[str, Any]:
        headers = {**self._headers(), "Content-Type": content_type}
        try:
            async with self._session.request(
                method,
                self._connection.server + path,
                data=json.dumps(body),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as response:
                await _raise_for_status(response, path)
                document: dict[str, Any] = await response.json()
                return document
        except (aiohttp.ClientError, TimeoutError) as error:
            raise KubeApiError(f"{method} {path}: {error or type(error).__name__}") from error

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        token = self._connection.bearer_token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers


async def _raise_for_status(response: aiohttp.ClientResponse, path: str) -> None:
    if response.status < 400:
        return
    try:
        message = (await response.json()).get("message", "")
    except (aiohttp.ContentTypeError, ValueError):
        message = (await response.text())[:200]
    raise KubeApiError(f"{path}: HTTP {response.status}: {message}", status=response.status)
