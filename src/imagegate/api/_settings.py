"""What an operator can tune in the HTTP API."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Behaviour of the HTTP API."""

    max_body_bytes: int = 64 * 1024
    """Largest accepted request body; a deployment record is well under 1 KiB."""
    api_key_cache_ttl_s: float = 10.0
    """How long a looked-up API key is trusted before the store is asked again.

    Bounds both the store load of busy pipelines and how late a revocation bites.
    """
    default_logical_environment: str = "production"
    """Logical environment of simple payloads, which name none.

    ``production`` because it is the strictest: a record that names no stage is
    judged as if it ran where it matters most.
    """
    max_scan_bytes: int = 16 * 1024 * 1024
    """Largest accepted scan report; a scanner's JSON of a large image runs to megabytes."""
