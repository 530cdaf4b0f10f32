"""Deployment policies: which images may run where, and why not."""

from imagegate.policy._default import DEFAULT_POLICY_NAME, DefaultPolicy
from imagegate.policy._model import Mode, Violation
from imagegate.policy._rules import RuleResult, digest_pinned

__all__ = [
    "DEFAULT_POLICY_NAME",
    "DefaultPolicy",
    "Mode",
    "RuleResult",
    "Violation",
    "digest_pinned",
]
