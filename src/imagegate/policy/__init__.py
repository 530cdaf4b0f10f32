"""Deployment policies: which images may run where, and why not.

Policies are DeploymentPolicy documents (YAML) plus a built-in baseline; each
rule is a small pure check over one container's image and the facts looked up
for it. ``evaluate`` is pure; looking the facts up is the caller's job, guided
by ``needs_of``.
"""

from imagegate.policy._documents import API_VERSION, KIND, RULE_NAMES, DeploymentPolicy
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
from imagegate.policy._rules import (
    REVISION_LABEL,
    SOURCE_LABEL,
    CompiledRule,
    RuleConfigError,
    RuleResult,
    compile_rule,
    digest_pinned,
    no_latest,
    parse_duration,
)
from imagegate.policy._subject import (
    Deployed,
    Finding,
    ImageSubject,
    Need,
    Outcome,
    Unavailable,
    Unknown,
)

__all__ = [
    "API_VERSION",
    "KIND",
    "REVISION_LABEL",
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
    "RuleResult",
    "Target",
    "Unavailable",
    "Unknown",
    "Violation",
    "baseline_policy",
    "compile_document",
    "compile_rule",
    "digest_pinned",
    "evaluate",
    "load_policies",
    "matching",
    "needs_of",
    "no_latest",
    "parse_duration",
]
