"""Built-in rules: small pure functions over a container's image.

A rule returns ``None`` when the image passes, else ``(reason, fix)``.
"""

from __future__ import annotations

from imagegate.workloads import ContainerImage

RuleResult = tuple[str, str] | None


def digest_pinned(container: ContainerImage) -> RuleResult:
    """The image is referenced by digest, so what runs is exactly what was checked."""
    if container.reference is None:
        return (
            f"the image reference is invalid ({container.problem})",
            "write a valid reference, e.g. registry.example.com/team/app:1.2@sha256:<digest>",
        )
    if container.reference.digest is None:
        tagged = str(container.reference)
        return (
            "the image is not pinned by digest; a tag can move to another image at any time",
            f"use {tagged}@sha256:<digest> (find it with: crane digest {tagged})",
        )
    return None
