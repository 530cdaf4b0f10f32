"""Kubernetes API integration, optional at run time: namespace labels and more.

The official client parses connection settings; requests go through aiohttp so
that nothing blocks the event loop.
"""

from imagegate.kube._client import KubeApiError, KubeClient
from imagegate.kube._connection import KubeConfigError, KubeConnection, load_connection
from imagegate.kube._namespaces import NamespaceCache, NamespaceLookupError
from imagegate.kube._pull_secrets import PullSecrets, credentials_of_secret

__all__ = [
    "KubeApiError",
    "KubeClient",
    "KubeConfigError",
    "KubeConnection",
    "NamespaceCache",
    "NamespaceLookupError",
    "PullSecrets",
    "credentials_of_secret",
    "load_connection",
]
