"""Deployment policies: which images may run where, and why not.

Policies are DeploymentPolicy documents (YAML) plus a built-in baseline; each
rule is a small pure check over one container's image and the facts looked up
for it. ``evaluate`` is pure; looking the facts up is the caller's job, guided
by ``needs_of``.
"""

from imagegate.policy._documents import API_VERSION, KIND, DeploymentPolicy
from imagegate.policy._engine import Evaluation, Excepted, evaluate, matching, needs_of
from imagegate.policy._loading import (
    PolicyLoadError,
    PolicyProblem,
    PolicySource,
    baseline_policy,
    compile_document,
    load_policies,
)
from imagegate.policy._model import Mode, Violation
from imagegate.policy._patterns import PatternError, Patterns
from imagegate.policy._policy import CompiledException, CompiledPolicy, Target
from imagegate.policy._subject import (
    Deployed,
    Finding,
    ImageSubject,
    Need,
    Outcome,
    Unavailable,
    Unknown,
)
from imagegate.policy.rules import (
    REVISION_LABEL,
    RULE_NAMES,
    RULES,
    SOURCE_LABEL,
    CompiledRule,
    RuleConfigError,
    RuleDocument,
    compile_rule,
    parse_duration,
)

__all__ = [
    "API_VERSION",
    "KIND",
    "REVISION_LABEL",
    "RULES",
    "RULE_NAMES",
    "SOURCE_LABEL",
    "CompiledException",
    "CompiledPolicy",
    "CompiledRule",
    "Deployed",
    "DeploymentPolicy",
    "Evaluation",
    "Excepted",
    "Finding",
    "ImageSubject",
    "Mode",
    "Need",
    "Outcome",
    "PatternError",
    "Patterns",
    "PolicyLoadError",
    "PolicyProblem",
    "PolicySource",
    "RuleConfigError",
    "RuleDocument",
    "Target",
    "Unavailable",
    "Unknown",
    "Violation",
    "baseline_policy",
    "compile_document",
    "compile_rule",
    "evaluate",
    "load_policies",
    "matching",
    "needs_of",
    "parse_duration",
]
