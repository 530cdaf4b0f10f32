"""Errors of registry access, one type per thing a caller decides differently on.

An outage (retry later, or fail open/closed by policy) is not a missing image (deny),
which is not a credentials problem (fix the pull secret), which is not a registry
speaking nonsense (refuse: integrity). Every aiohttp error is wrapped in one of these.
"""

from __future__ import annotations

from imagegate.errors import ImagegateError, NotFoundError, UnavailableError


class RegistryError(ImagegateError):
    """Base of errors while asking a registry about an image."""

    code = "registry_error"

    def __init__(self, message: str, *, reference: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reference = reference
        """The image reference (or repository) being looked up, if one was."""


class RegistryUnavailableError(RegistryError, UnavailableError):
    """The registry could not be reached or failed: refused, timed out, 5xx, 429."""

    code = "registry_unavailable"


class ImageNotFoundError(RegistryError, NotFoundError):
    """The repository, tag or digest does not exist (404, MANIFEST_UNKNOWN, NAME_UNKNOWN)."""

    code = "image_not_found"


class RegistryAuthError(RegistryError, UnavailableError):
    """Access refused even after authenticating (401/403), or credentials are needed.

    Docker Hub also answers so for a repository that does not exist, since it
    cannot tell an anonymous caller whether a private repository exists.
    """

    code = "registry_auth"


class RegistryProtocolError(RegistryError, UnavailableError):
    """The registry answered something unusable: bad JSON, a digest mismatch, an
    unknown media type, a malformed header. Refused rather than guessed at."""

    code = "registry_protocol"
