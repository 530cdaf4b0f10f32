"""Property-based fuzzing of what users hand imagegate as text: image references, scan
reports and policy documents. Each either parses or is refused with imagegate's own
error, with a reason; nothing else escapes. Bounded; docs/testing.md has the counts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagegate.errors import RefusedError
from imagegate.evidence import ScanFormat, parse_scan_report
from imagegate.policy._loading import load_file
from imagegate.tracking import parse_reference

FUZZ = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,  # the same inputs every run: CI fails on a change, not on luck
    suppress_health_check=[HealthCheck.too_slow],
)
DIGEST = "sha256:" + "a" * 64
RECEIVED = datetime(2026, 1, 1, tzinfo=UTC)
SCANS = Path(__file__).parents[2] / "fixtures" / "scans"

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)
reference_alphabet = st.sampled_from([*"abcXYZ019./:@_-", "sha256:", DIGEST[7:15], " "])


def refused_with(error: RefusedError) -> None:
    """A refusal is imagegate's error, with a code and a message a user can act on."""
    assert error.code
    assert error.message


@FUZZ
@given(st.text(max_size=80) | st.lists(reference_alphabet, max_size=20).map("".join))
def test_a_reference_parses_to_its_normal_form_or_says_why_not(text: str) -> None:
    try:
        parsed = parse_reference(text)
    except RefusedError as error:
        refused_with(error)
        return
    assert parse_reference(str(parsed)) == parsed  # normalising is idempotent
    assert parsed.path == parsed.path.lower()
    assert parsed.digest is None or parsed.digest == parsed.digest.lower()


def mutated(base: Any, path: list[Any], value: Any) -> Any:
    """``base`` with the member at ``path`` replaced by ``value``."""
    if not path:
        return value
    head, *rest = path
    if isinstance(base, dict):
        return {**base, head: mutated(base.get(head), rest, value)}
    if isinstance(base, list) and base:
        index = head % len(base)
        return [*base[:index], mutated(base[index], rest, value), *base[index + 1 :]]
    return base


def paths_of(document: Any, prefix: list[Any]) -> list[list[Any]]:
    found = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            found.extend(paths_of(value, [*prefix, key]))
    elif isinstance(document, list):
        for index, value in enumerate(document[:3]):
            found.extend(paths_of(value, [*prefix, index]))
    return found


REPORTS = {
    scan_format: json.loads((SCANS / f"{scan_format.value}.json").read_text())
    for scan_format in ScanFormat
}


@FUZZ
@given(st.data(), st.sampled_from(list(ScanFormat)), json_values, st.booleans())
def test_a_mutated_scan_report_parses_or_is_refused_with_a_reason(
    data: st.DataObject, scan_format: ScanFormat, value: Any, named: bool
) -> None:
    base = REPORTS[scan_format]
    path = data.draw(st.sampled_from(paths_of(base, [])))
    document = json.dumps(mutated(base, path, value)).encode()
    try:
        parse_scan_report(
            document, digest=DIGEST, format=scan_format if named else None, received_at=RECEIVED
        )
    except RefusedError as error:
        refused_with(error)


@FUZZ
@given(json_values)
def test_any_json_posted_as_a_scan_is_parsed_or_refused(value: Any) -> None:
    try:
        parse_scan_report(json.dumps(value).encode(), digest=DIGEST, received_at=RECEIVED)
    except RefusedError as error:
        refused_with(error)


POLICY = {
    "apiVersion": "imagegate.dev/v1alpha1",
    "kind": "DeploymentPolicy",
    "metadata": {"name": "fuzzed"},
    "spec": {
        "mode": "enforce",
        "match": {"logicalEnvironments": ["production"], "namespaces": ["shop-*"]},
        "rules": [
            {"rule": "allowed-registries", "patterns": ["ghcr.io/acme/**"]},
            {"rule": "scanned", "maxAge": "7d"},
            {"rule": "severity-threshold", "severity": "high"},
        ],
        "exceptions": [{"namespaces": ["x"], "reason": "r", "expires": "2030-01-01"}],
    },
}


@FUZZ
@given(st.data(), json_values)
def test_a_mutated_policy_loads_or_is_a_problem_with_a_place(
    tmp_path_factory: Any, data: st.DataObject, value: Any
) -> None:
    path = data.draw(st.sampled_from(paths_of(POLICY, [])))
    file = tmp_path_factory.mktemp("policy") / "policy.yaml"
    file.write_text(yaml.safe_dump(mutated(POLICY, path, value)))
    policies, problems = load_file(file)
    assert len(policies) + len(problems) <= 1  # none: the document became empty
    for problem in problems:
        assert problem.file == str(file)
        assert problem.reason
