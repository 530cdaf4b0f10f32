"""Registry credentials from a pod's imagePullSecrets, read through the Kubernetes API."""

from __future__ import annotations

import base64
import binascii
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping

import structlog

from imagegate.kube._client import KubeApiError, KubeClient
from imagegate.registry import Credentials, DockerConfigError, credentials_from_docker_config

log = structlog.get_logger("imagegate.kube")

_DOCKER_CONFIG_JSON = "kubernetes.io/dockerconfigjson"
_DOCKER_CONFIG_KEY = ".dockerconfigjson"


class PullSecrets:
    """Reads ``kubernetes.io/dockerconfigjson`` Secrets, caching them for ``ttl_s``.

    The cache keeps admission from reading the same Secret for every pod of a
    rollout; the short TTL lets a rotated password take effect soon.
    """

    def __init__(
        self,
        client: KubeClient,
        *,
        ttl_s: float = 60.0,
        timeout_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._timeout_s = timeout_s
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, dict[str, Credentials]]] = {}

    async def credentials(self, namespace: str, names: Iterable[str]) -> dict[str, Credentials]:
        """Credentials by registry host from the named Secrets; the first Secret naming a
        host wins, as with the kubelet. Unreadable Secrets are logged and skipped."""
        merged: dict[str, Credentials] = {}
        for name in names:
            for host, credentials in (await self._secret(namespace, name)).items():
                merged.setdefault(host, credentials)
        return merged

    async def _secret(self, namespace: str, name: str) -> dict[str, Credentials]:
        key = (namespace, name)
        cached = self._cache.get(key)
        if cached is not None and self._clock() - cached[0] < self._ttl_s:
            return cached[1]
        path = (
            f"/api/v1/namespaces/{urllib.parse.quote(namespace, safe='')}"
            f"/secrets/{urllib.parse.quote(name, safe='')}"
        )
        try:
            document = await self._client.get(path, timeout_s=self._timeout_s)
            credentials = credentials_of_secret(document)
        except (KubeApiError, DockerConfigError) as error:
            log.warning(
                "pull_secret_unreadable", namespace=namespace, secret=name, error=str(error)
            )
            credentials = {}
        self._cache[key] = (self._clock(), credentials)
        return credentials


def credentials_of_secret(document: Mapping[str, object]) -> dict[str, Credentials]:
    """Credentials in a Secret object; {} for a Secret of another type."""
    if document.get("type") != _DOCKER_CONFIG_JSON:
        return {}
    data = document.get("data")
    encoded = data.get(_DOCKER_CONFIG_KEY) if isinstance(data, dict) else None
    if not isinstance(encoded, str):
        raise DockerConfigError(f"docker config: the Secret has no {_DOCKER_CONFIG_KEY} key")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise DockerConfigError(f"docker config: {_DOCKER_CONFIG_KEY} is not base64") from error
    return credentials_from_docker_config(raw)
