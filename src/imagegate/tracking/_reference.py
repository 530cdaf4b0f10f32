"""Container image references, parsed and normalised the way container tooling does.

The grammar follows the distribution reference grammar used by docker, containerd
and the kubelet: ``[registry[:port]/]path[:tag][@algorithm:hex]``. Normalisation
makes two spellings of one image compare equal: ``nginx``,
``docker.io/nginx`` and ``index.docker.io/library/nginx`` are the same repository.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from imagegate.tracking._errors import DigestRequiredError, InvalidReferenceError

DEFAULT_REGISTRY = "docker.io"
_LEGACY_DEFAULT_REGISTRIES = frozenset({"index.docker.io", "registry-1.docker.io"})
_OFFICIAL_NAMESPACE = "library"
MAX_NAME_LENGTH = 255
"""The longest repository name (registry/path, normalised) the container runtimes take."""

_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN_COMPONENT = r"(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])"
_REGISTRY = re.compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-f:]+\])(?::[0-9]+)?"
)
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_HEX = re.compile(r"[a-f0-9]+")


@dataclass(frozen=True, slots=True)
class ImageReference:
    """A parsed, normalised image reference; ``digest`` is absent for tag-only references."""

    registry: str
    """Registry host, with port if any, lower-case; ``docker.io`` for Docker Hub."""
    path: str
    """Repository path inside the registry, e.g. ``library/nginx``."""
    tag: str | None
    """The tag as written (tags are case-sensitive); ``None`` if none was given."""
    digest: str | None
    """Content digest ``algorithm:hex``; ``None`` for a tag-only reference."""

    @property
    def repository(self) -> str:
        """Fully qualified repository, e.g. ``docker.io/library/nginx``."""
        return f"{self.registry}/{self.path}"

    def __str__(self) -> str:
        text = self.repository
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


# Every pod of a rollout names the same few images, and a parsed reference is a
# frozen value: parse each text once (failures are not cached, they raise again).
@functools.lru_cache(maxsize=8192)
def parse_reference(text: str) -> ImageReference:
    """Parse and normalise ``text``; a reference without tag or digest gets no tag.

    Raises InvalidReferenceError with the reason when ``text`` is not a reference.
    """
    original = text
    if not text or text != text.strip():
        raise InvalidReferenceError(original, "an image reference must be non-empty, no spaces")
    if not text.isascii():
        # Python's \w and str.lower() know Unicode; the grammar is ASCII only.
        raise InvalidReferenceError(original, "an image reference holds ASCII characters only")
    name, digest = _split_digest(original, text)
    name, tag = _split_tag(original, name)
    registry, path = _split_registry(name)
    # Host names are case-insensitive; repository paths and digests are not, and the
    # container runtime refuses upper case in them ("repository name must be
    # lowercase"): lower-casing them would record an image other than the one named.
    registry = registry.lower()
    if registry in _LEGACY_DEFAULT_REGISTRIES:
        registry = DEFAULT_REGISTRY
    if registry == DEFAULT_REGISTRY and "/" not in path:
        path = f"{_OFFICIAL_NAMESPACE}/{path}"
    if not _REGISTRY.fullmatch(registry):
        raise InvalidReferenceError(original, f"{registry!r} is not a valid registry host")
    for component in path.split("/"):
        if not _PATH_COMPONENT.fullmatch(component):
            raise InvalidReferenceError(
                original,
                f"repository path component {component!r} may only hold lower-case letters, "
                "digits and single separators (. _ __ -) between them",
            )
    if len(registry) + 1 + len(path) > MAX_NAME_LENGTH:
        raise InvalidReferenceError(original, f"repository name is longer than {MAX_NAME_LENGTH}")
    return ImageReference(registry=registry, path=path, tag=tag, digest=digest)


def parse_pinned_reference(text: str) -> ImageReference:
    """Parse ``text`` and require a digest, because only a digest names one image for good."""
    reference = parse_reference(text)
    if reference.digest is None:
        raise DigestRequiredError(text)
    return reference


def parse_repository(text: str) -> ImageReference:
    """Parse a bare repository name (no tag, no digest), normalised."""
    reference = parse_reference(text)
    if reference.tag is not None or reference.digest is not None:
        raise InvalidReferenceError(text, "a repository name takes no tag and no digest")
    return reference


def validate_digest(text: str) -> str:
    """Return ``text`` as a normalised ``algorithm:hex`` digest, or raise InvalidReferenceError."""
    return _normalised_digest(text, reference=text)


def _normalised_digest(text: str, *, reference: str, strict: bool = False) -> str:
    # ``reference`` is what the user wrote, so the error names all of it. ``strict``: as
    # part of an image reference, where upper case is not the same digest to a runtime.
    algorithm, separator, encoded = text.partition(":")
    if strict and text != text.lower():
        raise InvalidReferenceError(
            reference, "a digest in an image reference is written in lower case"
        )
    expected_length = _DIGEST_LENGTHS.get(algorithm.lower())
    encoded = encoded.lower()
    if not separator or expected_length is None:
        raise InvalidReferenceError(
            reference,
            "a digest is written algorithm:hex, with algorithm one of "
            + ", ".join(sorted(_DIGEST_LENGTHS)),
        )
    if len(encoded) != expected_length or not _HEX.fullmatch(encoded):
        raise InvalidReferenceError(
            reference, f"a {algorithm.lower()} digest has exactly {expected_length} hex digits"
        )
    return f"{algorithm.lower()}:{encoded}"


def _split_digest(original: str, text: str) -> tuple[str, str | None]:
    name, separator, digest = text.partition("@")
    if not separator:
        return text, None
    if not name:
        raise InvalidReferenceError(original, "the repository name before '@' is missing")
    return name, _normalised_digest(digest, reference=original, strict=True)


def _split_tag(original: str, name: str) -> tuple[str, str | None]:
    # A colon after the last slash starts a tag; one before it belongs to a registry port.
    colon = name.rfind(":")
    if colon == -1 or colon < name.rfind("/"):
        return name, None
    tag = name[colon + 1 :]
    if not _TAG.fullmatch(tag):
        raise InvalidReferenceError(
            original,
            f"tag {tag!r} must be 1 to 128 letters, digits, '_', '.' or '-', "
            "not starting with '.' or '-'",
        )
    return name[:colon], tag


def _split_registry(name: str) -> tuple[str, str]:
    first, separator, rest = name.partition("/")
    # The first component is a registry host only if it has a dot or a port, or is
    # "localhost". (Docker also takes an upper-case first component for a host; here
    # "Team/app" is a Docker Hub path, refused for its upper case, which is the safe
    # side of that ambiguity.)
    looks_like_host = "." in first or ":" in first or first.lower() == "localhost"
    if separator and looks_like_host:
        return first, rest
    return DEFAULT_REGISTRY, name
