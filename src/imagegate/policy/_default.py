"""The policy in force when no policy documents are loaded."""

from __future__ import annotations

from dataclasses import dataclass

from imagegate.policy._model import Mode, Violation
from imagegate.policy._rules import digest_pinned
from imagegate.workloads import ExtractedWorkload

DEFAULT_POLICY_NAME = "default"


@dataclass(frozen=True, slots=True)
class DefaultPolicy:
    """Images must be pinned by digest: only a digest says exactly what runs."""

    require_digest: Mode = Mode.ENFORCE
    """``enforce`` denies tag-only images, ``audit`` admits them with a warning."""

    def evaluate(self, workload: ExtractedWorkload) -> list[Violation]:
        """Every violation in ``workload``, in container order."""
        if self.require_digest is Mode.OFF:
            return []
        violations = []
        for container in workload.containers:
            broken = digest_pinned(container)
            if broken is not None:
                reason, fix = broken
                violations.append(
                    Violation(
                        policy=DEFAULT_POLICY_NAME,
                        rule="digest-pinned",
                        mode=self.require_digest,
                        container=container.name,
                        image=container.image,
                        reason=reason,
                        fix=fix,
                    )
                )
        return violations
