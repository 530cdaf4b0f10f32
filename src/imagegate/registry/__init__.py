"""A client of OCI distribution registries, self-contained: resolving tags to
digests, reading image indexes (platforms), config labels and provenance
attestations, with registry authentication (Basic, Bearer token realms, Docker config
files) and a cache of what it found (``FactsCache``)."""

from imagegate.registry._auth import Credentials
from imagegate.registry._client import RegistryClient
from imagegate.registry._dockerconfig import DockerConfigError, credentials_from_docker_config
from imagegate.registry._errors import (
    ImageNotFoundError,
    RegistryAuthError,
    RegistryError,
    RegistryProtocolError,
    RegistryUnavailableError,
)
from imagegate.registry._facts_cache import FactsCache
from imagegate.registry._settings import LOOPBACK_REGISTRIES, RegistrySettings

__all__ = [
    "LOOPBACK_REGISTRIES",
    "Credentials",
    "DockerConfigError",
    "FactsCache",
    "ImageNotFoundError",
    "RegistryAuthError",
    "RegistryClient",
    "RegistryError",
    "RegistryProtocolError",
    "RegistrySettings",
    "RegistryUnavailableError",
    "credentials_from_docker_config",
]
