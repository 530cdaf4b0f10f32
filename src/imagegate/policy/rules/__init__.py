"""The built-in policy rules, each defined in one place.

A rule is one class (``RuleDocument``): its name, its settings as a policy
writes them, and ``compile``, which returns its check (a small pure function over
one container's image and facts) with the facts it needs, so admission looks up
only those. ``RULES`` is the one list of them; the document's union of rules and
the list of names are derived from it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

from imagegate.policy.rules._base import CompiledRule, RuleConfigError, RuleDocument
from imagegate.policy.rules._platforms import PlatformAvailable
from imagegate.policy.rules._provenance import (
    REVISION_LABEL,
    SOURCE_LABEL,
    KnownCommit,
    RequiredLabels,
    TrustedBuilder,
)
from imagegate.policy.rules._reference import AllowedRegistries, DigestPinned, NoLatest, PinTags
from imagegate.policy.rules._vulnerabilities import (
    IgnoredVulnerability,
    NoNewVulnerabilities,
    Scanned,
    SeverityThreshold,
    SeverityWord,
    parse_duration,
)

RULES: tuple[type[RuleDocument], ...] = (
    DigestPinned,
    NoLatest,
    AllowedRegistries,
    RequiredLabels,
    TrustedBuilder,
    KnownCommit,
    Scanned,
    SeverityThreshold,
    NoNewVulnerabilities,
    PlatformAvailable,
    PinTags,
)
"""Every rule, in the order the documentation lists them."""

RULE_NAMES = tuple(rule.rule_name() for rule in RULES)

if TYPE_CHECKING:
    Rule = RuleDocument
else:
    # msgspec decodes a tagged union of the concrete classes (``rule:`` picks one);
    # type checkers only need their common base.
    Rule = Union[RULES]  # noqa: UP007


def compile_rule(rule: RuleDocument) -> CompiledRule:
    """The compiled form of a rule from a policy document."""
    return rule.compile()


__all__ = [
    "REVISION_LABEL",
    "RULES",
    "RULE_NAMES",
    "SOURCE_LABEL",
    "AllowedRegistries",
    "CompiledRule",
    "DigestPinned",
    "IgnoredVulnerability",
    "KnownCommit",
    "NoLatest",
    "NoNewVulnerabilities",
    "PinTags",
    "PlatformAvailable",
    "RequiredLabels",
    "Rule",
    "RuleConfigError",
    "RuleDocument",
    "Scanned",
    "SeverityThreshold",
    "SeverityWord",
    "TrustedBuilder",
    "compile_rule",
    "parse_duration",
]
