"""Every error imagegate reports, by what the one who reads it can do about it.

::

    ImagegateError                 code, message, field
    ├── RefusedError               the request cannot be done as asked; fix it  (CLI exit 1)
    │   ├── InvalidInputError      malformed input or settings           HTTP 422
    │   ├── NotFoundError          it names something that is not there   HTTP 404
    │   └── ConflictError          it contradicts what is stored          HTTP 409
    └── FailedError                not the caller's fault                 (CLI exit 3)
        ├── UnavailableError       a part imagegate needs does not answer now; retry  HTTP 503
        └── InternalError          imagegate or its store failed          HTTP 500

Each package's errors derive from one of the five kinds (an unknown environment
is an ``InvalidInputError``, an environment that exists a ``ConflictError``, an
unreachable store an ``UnavailableError``); a package may add a base of its own
for its callers (``tracking.StoreError``, ``registry.RegistryError``). The front
doors map the kinds in one place each: ``api/_errors.py`` to HTTP responses,
``cli/__init__.py`` to exit codes. Errors of other libraries (sqlite3, asyncpg,
aiohttp, PyYAML) are translated where they are caught, never passed on.

``InvalidInputError`` is also a ``ValueError``, as Python's own errors of a bad
value are.
"""

from __future__ import annotations

from typing import Self


class ImagegateError(Exception):
    """Base of every error imagegate reports on purpose."""

    code = "error"
    """Machine-readable and stable: an API error's ``code``."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        """The input at fault (``image.url``, ``spec.rules[1].maxAge``), if one is."""

    def at(self, field: str | None) -> Self:
        """The same error, attributed to ``field`` (raise it ``from`` this one): a layer
        that knows where its caller put a value renames the path, and changes nothing
        that was raised before."""
        # Built without __init__ (whose arguments differ by class), then given this
        # one's attributes: copy.copy would call __init__ with the message alone.
        located = type(self).__new__(type(self), *self.args)
        located.__dict__.update(self.__dict__)
        located.field = field
        return located


class RefusedError(ImagegateError):
    """The request cannot be done as asked; the caller can correct it."""

    code = "refused"


class InvalidInputError(RefusedError, ValueError):
    """Malformed input: a request field, a name, an argument, a file, a setting."""

    code = "invalid_input"


class NotFoundError(RefusedError):
    """The request names something that does not exist."""

    code = "not_found"


class ConflictError(RefusedError):
    """The request contradicts what is already stored."""

    code = "conflict"


class FailedError(ImagegateError):
    """The request could not be done, and not because of the caller."""

    code = "failed"


class UnavailableError(FailedError):
    """A part imagegate needs (store, registry, Kubernetes API) does not answer now;
    retrying later may work."""

    code = "unavailable"


class InternalError(FailedError):
    """imagegate or one of its parts failed; the logs say more."""

    code = "internal_error"
