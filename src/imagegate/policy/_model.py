"""Values of policy evaluation."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Mode(enum.StrEnum):
    """What a violation does to an admission."""

    ENFORCE = "enforce"
    """Deny the object."""
    AUDIT = "audit"
    """Admit it, with a warning the user sees (kubectl prints it)."""
    OFF = "off"
    """Do not evaluate."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One rule broken by one container's image, with how to fix it."""

    policy: str
    rule: str
    mode: Mode
    container: str
    image: str
    reason: str
    fix: str
    described: str = ""
    """How messages name what runs the image (``image volume 'models'``); empty:
    ``container '<container>'``."""

    def describe(self, *, with_reason: bool = True) -> str:
        """One line naming policy, rule, container, image, why and the fix."""
        what = self.described or f"container {self.container!r}"
        subject = f"[{self.policy}/{self.rule}] {what} image {self.image!r}"
        if with_reason:
            return f"{subject}: {self.reason}; fix: {self.fix}"
        return f"{subject}; fix: {self.fix}"
