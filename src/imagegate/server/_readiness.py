"""Readiness: the process serves admissions only once everything they need is up."""

from __future__ import annotations


class Readiness:
    """Named conditions that must all hold before /readyz answers 200."""

    def __init__(self) -> None:
        self._conditions: dict[str, bool] = {}

    def require(self, name: str) -> None:
        """Add a condition, not yet met."""
        self._conditions.setdefault(name, False)

    def mark(self, name: str, *, ready: bool = True) -> None:
        """Record whether condition ``name`` holds now."""
        self._conditions[name] = ready

    def unmet(self) -> list[str]:
        """Conditions that do not hold, by name."""
        return sorted(name for name, ready in self._conditions.items() if not ready)
