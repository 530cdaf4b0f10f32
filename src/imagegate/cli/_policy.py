"""``imagegate policy check``: judge manifests offline with the admission engine."""

from __future__ import annotations

import argparse
from pathlib import Path

from imagegate.admission import (
    AdmissionContext,
    DeploymentNameTemplate,
    ObjectVerdict,
    check_objects,
    manifest_objects,
)
from imagegate.cli._backend import CommandFailed
from imagegate.policy import Mode, baseline_policy, load_policies
from imagegate.tracking import Platform, utc_now


async def check_policy(arguments: argparse.Namespace) -> str:
    """Judge every workload in ``-f`` against ``--policy``; fail on enforced violations."""
    baseline = baseline_policy(Mode(arguments.require_digest))
    documents = load_policies(Path(arguments.policy)) if arguments.policy else ()
    context = AdmissionContext(
        cluster=arguments.cluster_name,
        logical_environment=arguments.logical_env,
        name_template=DeploymentNameTemplate(),
        default_platform=Platform(),
        policies=((baseline,) if baseline else ()) + documents,
        now=utc_now(),
    )
    verdicts = check_objects(
        manifest_objects(Path(arguments.file)),
        context=context,
        default_namespace=arguments.namespace,
    )
    report = render_verdicts(verdicts)
    if any(verdict.denied for verdict in verdicts):
        raise CommandFailed(report, exit_code=1)
    return report


def render_verdicts(verdicts: list[ObjectVerdict]) -> str:
    """One block per object, findings worded as in admission, and a summary line."""
    lines = []
    for verdict in verdicts:
        state = "DENY" if verdict.denied else "WARN" if verdict.violations else "OK"
        subject = f"{verdict.kind} {verdict.namespace}/{verdict.name}"
        lines.append(f"{state:<5}{subject}  ({verdict.source})")
        for violation in verdict.violations:
            lines.append(f"  {violation.mode.value}: {violation.describe()}")
        for excepted in verdict.excepted:
            lines.append(f"  excepted ({excepted.reason}): {excepted.violation.describe()}")
        if verdict.skipped:
            lines.append(
                f"  not checked offline (need registry or evidence facts): "
                f"{', '.join(verdict.skipped)}"
            )
    denied = sum(verdict.denied for verdict in verdicts)
    warned = sum(bool(verdict.violations) and not verdict.denied for verdict in verdicts)
    lines.append(f"{len(verdicts)} workloads: {denied} denied, {warned} with warnings")
    return "\n".join(lines)
