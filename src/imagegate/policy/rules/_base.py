"""What every rule is: a document form that compiles itself into a check.

A rule is one msgspec Struct, tagged with its name as written in a policy
(``rule: digest-pinned``); its fields are its settings, and its ``compile``
returns the check with the facts it needs. Adding a rule means writing that one
class and listing it in ``RULES`` (``rules/__init__.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from imagegate.errors import InvalidInputError
from imagegate.policy._subject import ImageSubject, Need, Outcome

Check = Callable[[ImageSubject], Outcome]

FACT_FREE: frozenset[Need] = frozenset()
IMAGE_FACTS = frozenset({Need.REGISTRY, Need.EVIDENCE})
# Scans are evidence posted by digest: the registry is asked only to resolve a tag
# (the gatherer does that for a reference without a digest), not for a pinned image.
SCAN_FACTS = frozenset({Need.EVIDENCE})


class RuleConfigError(InvalidInputError):
    """A rule whose settings cannot work (a bad duration, an empty list)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        """The rule's setting at fault, e.g. ``maxAge``."""


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready to judge: its name, the facts it needs, and the check."""

    name: str
    needs: frozenset[Need]
    check: Check
    mutates: bool = False
    """A mutation rule (pin-tags): it patches instead of judging."""


class RuleDocument(msgspec.Struct, tag_field="rule", forbid_unknown_fields=True, rename="camel"):
    """Base of the rules; ``rule`` names which one."""

    @classmethod
    def rule_name(cls) -> str:
        """The name a policy writes in ``rule:``."""
        return str(cls.__struct_config__.tag)

    def compile(self) -> CompiledRule:
        """The check of this rule with these settings; RuleConfigError if they cannot work."""
        raise NotImplementedError

    def compiled(self, needs: frozenset[Need], check: Check) -> CompiledRule:
        return CompiledRule(self.rule_name(), needs, check)
