"""Evaluating policies: pure, over subjects whose facts were looked up before."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from imagegate.policy._model import Mode, Violation
from imagegate.policy._policy import CompiledPolicy, Target
from imagegate.policy._subject import Finding, ImageSubject, Need, Unknown


@dataclass(frozen=True, slots=True)
class Excepted:
    """A violation a policy exception waived, and the exception's reason."""

    violation: Violation
    reason: str


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Every violation found, the ones waived, and the containers to pin by digest."""

    violations: tuple[Violation, ...] = ()
    excepted: tuple[Excepted, ...] = ()
    pin: frozenset[str] = frozenset()
    """Names of containers whose tag a pin-tags rule asks to pin to its digest."""


def matching(policies: Iterable[CompiledPolicy], target: Target) -> list[CompiledPolicy]:
    """The policies that apply to ``target``, in order."""
    return [policy for policy in policies if policy.applies_to(target)]


def needs_of(policies: Iterable[CompiledPolicy]) -> frozenset[Need]:
    """The facts that ``policies`` need looked up."""
    return frozenset(need for policy in policies for need in policy.needs)


def evaluate(
    *, policies: Sequence[CompiledPolicy], target: Target, subjects: Sequence[ImageSubject]
) -> Evaluation:
    """Apply every policy that matches ``target`` to every subject; all violations count."""
    violations: list[Violation] = []
    excepted: list[Excepted] = []
    pin: set[str] = set()
    for policy in matching(policies, target):
        for subject in subjects:
            container = subject.container
            exception = policy.exception_for(container, target, subject.now.date())
            for rule in policy.rules:
                if rule.mutates:
                    if exception is None:
                        pin.add(container.name)
                    continue
                outcome = rule.check(subject)
                if outcome is None:
                    continue
                violation = _violation(policy, rule.name, subject, outcome)
                if exception is not None:
                    excepted.append(Excepted(violation, exception.reason))
                else:
                    violations.append(violation)
    return Evaluation(tuple(violations), tuple(excepted), frozenset(pin))


def _violation(
    policy: CompiledPolicy, rule: str, subject: ImageSubject, outcome: Finding | Unknown
) -> Violation:
    if isinstance(outcome, Unknown):
        # Facts that cannot be read: the policy says whether that blocks or warns.
        mode = policy.mode if policy.facts_unavailable == "deny" else Mode.AUDIT
        return Violation(
            policy=policy.name,
            rule=rule,
            mode=mode,
            container=subject.container.name,
            described=subject.container.described,
            image=subject.container.image,
            reason=f"could not be checked: {outcome.reason}",
            fix="it could not be checked now; retry once the registry and evidence store answer",
        )
    return Violation(
        policy=policy.name,
        rule=rule,
        mode=policy.mode,
        container=subject.container.name,
        described=subject.container.described,
        image=subject.container.image,
        reason=outcome.reason,
        fix=outcome.fix,
    )
