"""Kubernetes API integration, optional at run time: namespace labels, self-managed certificates.

The official client parses connection settings; requests go through aiohttp so
that nothing blocks the event loop.
"""

from imagegate.kube._certificate_plan import (
    CertificateAction,
    CertificateOutcome,
    CertificatePlan,
    CertificateRequirements,
    ca_bundle_patch,
    certificates_from_secret,
    plan_certificates,
    secret_data,
)
from imagegate.kube._certificates import (
    CertificateManager,
    CertificateSettings,
    CertificateSetupError,
    connect_for_certificates,
)
from imagegate.kube._client import KubeApiError, KubeClient
from imagegate.kube._connection import KubeConfigError, KubeConnection, load_connection
from imagegate.kube._lease import LeaderLease, LeaseSettings
from imagegate.kube._list_watch import ListWatch
from imagegate.kube._namespaces import NamespaceCache, NamespaceLookupError
from imagegate.kube._pull_secrets import PullSecrets, credentials_of_secret

__all__ = [
    "CertificateAction",
    "CertificateManager",
    "CertificateOutcome",
    "CertificatePlan",
    "CertificateRequirements",
    "CertificateSettings",
    "CertificateSetupError",
    "KubeApiError",
    "KubeClient",
    "KubeConfigError",
    "KubeConnection",
    "LeaderLease",
    "LeaseSettings",
    "ListWatch",
    "NamespaceCache",
    "NamespaceLookupError",
    "PullSecrets",
    "ca_bundle_patch",
    "certificates_from_secret",
    "connect_for_certificates",
    "credentials_of_secret",
    "load_connection",
    "plan_certificates",
    "secret_data",
]
