"""Kubernetes API integration, optional at run time: namespace labels and more.

The official client parses connection settings; requests go through aiohttp so
that nothing blocks the event loop.
"""

from imagegate.kube._client import KubeApiError, KubeClient
from imagegate.kube._connection import KubeConfigError, KubeConnection, load_connection
from imagegate.kube._namespaces import NamespaceCache, NamespaceLookupError

__all__ = [
    "KubeApiError",
    "KubeClient",
    "KubeConfigError",
    "KubeConnection",
    "NamespaceCache",
    "NamespaceLookupError",
    "load_connection",
]
