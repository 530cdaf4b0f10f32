"""Settings of registry access and of the facts cache."""

from __future__ import annotations

from dataclasses import dataclass

LOOPBACK_REGISTRIES = frozenset({"localhost", "127.0.0.1", "[::1]"})
"""Hosts reached over plain HTTP unless ``insecure_registries`` is set otherwise."""


@dataclass(frozen=True, slots=True)
class RegistrySettings:
    """How registries are reached and how long answers are kept."""

    timeout_s: float = 5.0
    """Longest one HTTP request (connect, send, read the whole body) may take."""
    tag_ttl_s: float = 60.0
    """How long a tag's digest is reused before the registry is asked again (tags move)."""
    insecure_registries: frozenset[str] = LOOPBACK_REGISTRIES
    """Registries spoken to over plain HTTP: ``host`` (any port) or ``host:port``.

    The default is the loopback names only; every other registry uses HTTPS. When
    setting it, include the loopback names if they should stay plain HTTP.
    """
    max_cached_digests: int = 10_000
    """Most facts (by digest) and tag resolutions kept; the least recently used go first."""

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, not {self.timeout_s}")
        if self.tag_ttl_s < 0:
            raise ValueError(f"tag_ttl_s must be zero or positive, not {self.tag_ttl_s}")
        if self.max_cached_digests < 1:
            raise ValueError(
                f"max_cached_digests must be at least 1, not {self.max_cached_digests}"
            )
