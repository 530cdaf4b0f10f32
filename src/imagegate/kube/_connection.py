"""How to reach the Kubernetes API: from a kubeconfig file or from inside a pod."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from imagegate.errors import InvalidInputError


class KubeConfigError(InvalidInputError):
    """No usable Kubernetes connection settings."""


@dataclass(frozen=True, slots=True)
class KubeConnection:
    """Server URL, TLS trust and credentials for the Kubernetes API."""

    server: str
    ssl_context: ssl.SSLContext
    bearer_token: Callable[[], str | None]
    """Called per request: in-cluster tokens are rotated on disk by the kubelet."""


def load_connection(kubeconfig: str | None = None, *, context: str | None = None) -> KubeConnection:
    """Settings from ``kubeconfig`` (or $KUBECONFIG/~/.kube/config), else the pod's service account.

    The official client parses the settings (exec credential plugins included);
    imagegate then speaks to the API with aiohttp, without blocking threads.
    """
    # Imported here: the official client takes a quarter of a second to import, and
    # only a server that talks to a cluster needs it (not the CLI, not the API alone).
    from kubernetes import client as kube_client  # noqa: PLC0415
    from kubernetes import config as kube_config  # noqa: PLC0415
    from kubernetes.config.config_exception import ConfigException  # noqa: PLC0415

    # The official client has no type hints; these are the calls imagegate makes.
    load_kube_config: Callable[..., None] = kube_config.load_kube_config
    load_incluster_config: Callable[..., None] = kube_config.load_incluster_config
    configuration = kube_client.Configuration()
    try:
        if kubeconfig is not None:
            load_kube_config(
                config_file=kubeconfig, context=context, client_configuration=configuration
            )
        else:
            try:
                load_incluster_config(client_configuration=configuration)
            except ConfigException:
                load_kube_config(context=context, client_configuration=configuration)
    except (ConfigException, OSError, ValueError) as error:
        raise KubeConfigError(f"no Kubernetes connection settings: {error}") from error
    return KubeConnection(
        server=configuration.host.rstrip("/"),
        ssl_context=_ssl_context(configuration),
        bearer_token=lambda: _bearer_token(configuration),
    )


def _ssl_context(configuration: Any) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
    if configuration.cert_file and configuration.key_file:
        context.load_cert_chain(configuration.cert_file, configuration.key_file)
    if not configuration.verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _bearer_token(configuration: Any) -> str | None:
    refresh = getattr(configuration, "refresh_api_key_hook", None)
    if refresh is not None:
        refresh(configuration)
    # The official client keeps the token under "BearerToken" (older versions under
    # "authorization"): ask for either. Its value carries the scheme, written
    # "Bearer" from a kubeconfig but "bearer" from a pod's service account.
    value = configuration.get_api_key_with_prefix("BearerToken", alias="authorization")
    if not value:
        return None
    scheme, _, token = str(value).strip().partition(" ")
    if token and scheme.lower() == "bearer":
        return token.strip() or None
    return scheme or None
