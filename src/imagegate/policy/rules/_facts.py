"""Reading one container's facts the way every rule does: what is known, what could
not be read and why, and the words findings share."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from imagegate.facts import Evidence, ImageFacts, Provenance, ScanReport
from imagegate.policy._subject import Finding, ImageSubject, Unavailable, Unknown
from imagegate.workloads import ContainerImage

_MAX_LISTED = 5


def invalid_reference(container: ContainerImage) -> Finding:
    """The finding of every rule that reads the reference, when it does not parse."""
    return Finding(
        f"the image reference is invalid ({container.problem})",
        "write a valid reference, e.g. registry.example.com/team/app:1.2@sha256:<digest>",
    )


def known_labels(subject: ImageSubject) -> tuple[Mapping[str, str], str | None]:
    """Labels from the registry and from evidence, and why some could not be read."""
    labels: dict[str, str] = {}
    if isinstance(subject.registry, ImageFacts):
        labels.update(subject.registry.labels)
    if isinstance(subject.evidence, Evidence):
        labels.update(subject.evidence.labels)
    return labels, _unavailable(subject)


def known_provenance(subject: ImageSubject) -> tuple[Provenance | None, str | None]:
    """Provenance from the registry's attestation, each field overridden by evidence
    that sets it (posting only a commit keeps the registry's builder)."""
    registry = subject.registry.provenance if isinstance(subject.registry, ImageFacts) else None
    posted = subject.evidence.provenance if isinstance(subject.evidence, Evidence) else None
    if registry is None and posted is None:
        return None, _unavailable(subject)
    merged = Provenance(
        builder_id=_first(posted, registry, "builder_id"),
        source_repository=_first(posted, registry, "source_repository"),
        commit=_first(posted, registry, "commit"),
    )
    return merged, _unavailable(subject)


def newest_scan(subject: ImageSubject) -> ScanReport | Finding | Unknown:
    """The scan that counts for the image; a finding if none was posted, unknown if the
    evidence or the digest could not be read."""
    evidence = subject.evidence
    if isinstance(evidence, Unavailable):
        return Unknown(f"evidence cannot be read: {evidence.reason}")
    digest = subject.digest
    if digest is None:
        reason = subject.registry.reason if isinstance(subject.registry, Unavailable) else None
        return Unknown(f"the image's digest cannot be resolved: {reason or 'no digest'}")
    if not isinstance(evidence, Evidence) or evidence.scan is None:
        return Finding(
            f"no vulnerability scan was posted for {digest}",
            f"scan the image and post the report: imagegate evidence push --digest {digest} "
            "--scan report.json",
        )
    return evidence.scan


def listed(ids: list[str]) -> str:
    """The first few ids, and how many more: a finding stays one readable line."""
    shown = ", ".join(ids[:_MAX_LISTED])
    return shown + (f" and {len(ids) - _MAX_LISTED} more" if len(ids) > _MAX_LISTED else "")


def age_text(age: timedelta) -> str:
    """``7d3h``, ``5h``, ``30m``, ``45s``: the largest two units that are not zero."""
    seconds = int(age.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts[:2]) or "0s"


def _first(posted: Provenance | None, registry: Provenance | None, name: str) -> str | None:
    for provenance in (posted, registry):
        value = getattr(provenance, name, None) if provenance is not None else None
        if value:
            return str(value)
    return None


def _unavailable(subject: ImageSubject) -> str | None:
    """Why a source of labels or provenance could not be read, if one could not."""
    for source in (subject.registry, subject.evidence):
        if isinstance(source, Unavailable):
            return source.reason
    return None
