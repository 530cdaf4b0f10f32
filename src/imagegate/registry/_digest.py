"""Content addressing: a digest is the hash of the exact bytes it names."""

from __future__ import annotations

import hashlib
import hmac

from imagegate.registry._errors import RegistryProtocolError
from imagegate.tracking import InvalidReferenceError, validate_digest

_ALGORITHMS = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}


def digest_of(content: bytes, algorithm: str = "sha256") -> str:
    """The ``algorithm:hex`` digest of ``content``."""
    return f"{algorithm}:{_ALGORITHMS[algorithm](content).hexdigest()}"


def checked_digest(text: str, *, what: str) -> str:
    """``text`` as a normalised digest; a malformed one is the registry's fault."""
    try:
        return validate_digest(text.strip())
    except InvalidReferenceError as e:
        raise RegistryProtocolError(f"{what} is not a valid digest: {text!r}") from e


def verify_digest(content: bytes, digest: str, *, what: str) -> None:
    """Refuse ``content`` unless it hashes to ``digest``.

    A registry (or anything between it and us) that serves other bytes than the
    digest names must not be believed: the digest is what admission pins.
    """
    algorithm = digest.partition(":")[0]
    if algorithm not in _ALGORITHMS:
        raise RegistryProtocolError(f"{what}: unsupported digest algorithm in {digest!r}")
    actual = digest_of(content, algorithm)
    if not hmac.compare_digest(actual, digest):
        raise RegistryProtocolError(
            f"{what}: content does not match its digest (asked for {digest}, got {actual})"
        )
