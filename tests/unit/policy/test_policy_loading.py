"""Loading DeploymentPolicy documents from files and directories (a ConfigMap mount),
reporting every problem at once, and keeping the last good set while files change."""

from __future__ import annotations

import os
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from imagegate.policy import (
    CompiledPolicy,
    Evaluation,
    Mode,
    PolicyLoadError,
    PolicyProblem,
    PolicySource,
    Target,
    baseline_policy,
    load_policies,
)
from unit.policy.policy_support import (
    DIGEST,
    NOW,
    document,
    image_facts,
    judge,
    scanned,
    subject,
    vulnerability,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "policies"
PRODUCTION = FIXTURES / "production.yaml"
STAGING = FIXTURES / "staging.yaml"
INVALID = FIXTURES / "invalid"


def names(policies: tuple[CompiledPolicy, ...]) -> list[str]:
    return [policy.name for policy in policies]


def problems_of(path: Path) -> tuple[PolicyProblem, ...]:
    with pytest.raises(PolicyLoadError) as raised:
        load_policies(path)
    return raised.value.problems


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def valid(name: str, rules: str = "- rule: digest-pinned") -> str:
    return document(rules, name=name)


# --- the example policies ---------------------------------------------------------


def test_the_production_file_holds_two_policies() -> None:
    images, promotion = load_policies(PRODUCTION)

    assert (images.name, images.mode, images.source) == (
        "production-images",
        Mode.ENFORCE,
        str(PRODUCTION),
    )
    assert [rule.name for rule in images.rules] == [
        "allowed-registries",
        "required-labels",
        "scanned",
        "severity-threshold",
        "platform-available",
    ]
    assert images.logical_environments == {"production"}
    assert images.facts_unavailable == "deny"
    assert [
        (e.reason, e.images.texts, e.namespaces.texts, e.expires) for e in images.exceptions
    ] == [
        (
            "the vendor agent is mirrored by hand until PLAT-412 lands",
            ("ghcr.io/acme/mirror/vendor-agent",),
            (),
            date(2025, 9, 30),
        ),
        ("kube-system is managed by the cloud provider", (), ("kube-system",), None),
    ]

    assert (promotion.name, promotion.mode, promotion.facts_unavailable) == (
        "production-promotion",
        Mode.ENFORCE,
        "warn",
    )
    assert promotion.namespace_labels == {"acme.example/tier": "critical"}
    assert [rule.name for rule in promotion.rules] == [
        "trusted-builder",
        "known-commit",
        "no-new-vulnerabilities",
    ]


def test_the_staging_file_audits_and_pins() -> None:
    [staging] = load_policies(STAGING)
    assert (staging.name, staging.mode) == ("staging-hygiene", Mode.AUDIT)
    assert [rule.name for rule in staging.rules] == ["digest-pinned", "no-latest", "pin-tags"]
    assert [rule.mutates for rule in staging.rules] == [False, False, True]
    assert staging.applies_to(Target("prod-eu-1", "staging", "team-payments"))
    assert not staging.applies_to(Target("prod-eu-1", "staging", "kube-system"))
    assert not staging.applies_to(Target("prod-eu-1", "production", "shop"))


def test_a_directory_loads_its_files_in_name_order_and_not_its_subdirectories() -> None:
    assert names(load_policies(FIXTURES)) == [
        "production-images",
        "production-promotion",
        "staging-hygiene",
    ]


def test_every_problem_of_a_set_is_reported_at_once() -> None:
    documents = str(INVALID / "documents.yaml")
    assert problems_of(INVALID)[:-2] == (
        PolicyProblem(
            documents,
            2,
            "",
            "expected apiVersion imagegate.dev/v1alpha1 and kind DeploymentPolicy, got "
            "'imagegate.dev/v1' and 'DeploymentPolicy'",
        ),
        PolicyProblem(documents, 3, "spec.rulez", "Object contains unknown field `rulez`"),
        PolicyProblem(documents, 4, "spec.rules[1].rule", "Invalid value 'no-such-rule'"),
        PolicyProblem(
            documents, 5, "spec.rules[0].pattern", "Object contains unknown field `pattern`"
        ),
        PolicyProblem(
            documents,
            6,
            "spec.rules[0].maxAge",
            "duration 'soon' must be a number and a unit: s, m, h or d",
        ),
        PolicyProblem(documents, 7, "spec.rules[0].severity", "Expected `str`, got `array`"),
        PolicyProblem(documents, 8, "spec.rules", "a policy needs at least one rule"),
        PolicyProblem(
            documents,
            9,
            "metadata.name",
            "must be lower-case letters, digits, '-' or '.' (a DNS name)",
        ),
        PolicyProblem(
            documents, 10, "spec.exceptions[0]", "an exception names images, namespaces or both"
        ),
        PolicyProblem(documents, 11, "spec.mode", "Invalid enum value 'warn'"),
        PolicyProblem(str(INVALID / "list.yml"), 1, "", "a policy is a mapping, not list"),
    )


def test_broken_yaml_is_reported_with_line_and_column() -> None:
    problem = problems_of(INVALID)[-2]
    assert (problem.file, problem.document, problem.path) == (str(INVALID / "not-yaml.yaml"), 1, "")
    assert problem.reason.startswith("is not valid YAML (line 8, column 4): ")
    assert "expected <block end>, but found '<block sequence start>'" in problem.reason


def test_a_policy_name_defined_twice_is_reported_where_it_is_repeated() -> None:
    assert problems_of(INVALID)[-1] == PolicyProblem(
        str(INVALID / "valid-again.yaml"),
        1,
        "metadata.name",
        f"policy 'valid-one' is also defined in {INVALID / 'documents.yaml'} (document 1)",
    )


def test_the_error_names_every_problem() -> None:
    with pytest.raises(PolicyLoadError) as raised:
        load_policies(INVALID)
    message = str(raised.value)
    assert message == "; ".join(str(problem) for problem in raised.value.problems)
    assert (
        f"{INVALID / 'documents.yaml'}: document 3: spec.rulez: "
        "Object contains unknown field `rulez`"
    ) in message
    assert f"{INVALID / 'list.yml'}: document 1: a policy is a mapping, not list" in message


# --- files and directories --------------------------------------------------------


def test_a_file_may_hold_several_documents_and_empty_ones(tmp_path: Path) -> None:
    text = "---\n" + valid("one") + "---\n---\n" + valid("two") + "...\n"
    assert names(load_policies(write(tmp_path / "policies.yaml", text))) == ["one", "two"]


def test_an_empty_file_or_directory_holds_no_policies(tmp_path: Path) -> None:
    assert load_policies(write(tmp_path / "empty.yaml", "")) == ()
    assert load_policies(write(tmp_path / "comments.yaml", "# nothing yet\n")) == ()
    (tmp_path / "dir").mkdir()
    assert load_policies(tmp_path / "dir") == ()


def test_a_directory_reads_yaml_and_yml_files_only(tmp_path: Path) -> None:
    write(tmp_path / "b.yml", valid("from-yml"))
    write(tmp_path / "a.yaml", valid("from-yaml"))
    write(tmp_path / "c.json", "{not even json")
    write(tmp_path / "README.md", "# policies")
    write(tmp_path / "d.yaml.bak", "broken: [")
    write(tmp_path / "sub" / "e.yaml", valid("in-a-subdirectory"))
    assert names(load_policies(tmp_path)) == ["from-yaml", "from-yml"]


def test_a_directory_skips_dot_files(tmp_path: Path) -> None:
    write(tmp_path / "policy.yaml", valid("visible"))
    write(tmp_path / ".policy.yaml.swp", "broken: [")
    write(tmp_path / ".hidden.yaml", "broken: [")
    assert names(load_policies(tmp_path)) == ["visible"]


def test_a_file_named_explicitly_is_read_whatever_its_suffix(tmp_path: Path) -> None:
    assert names(load_policies(write(tmp_path / "policy.txt", valid("text")))) == ["text"]


def configmap_mount(root: Path, files: dict[str, str], *, version: str) -> None:
    """Lay ``files`` out as the kubelet mounts a ConfigMap: the data in a timestamped
    directory, ``..data`` linking to it, and each key a link through ``..data``."""
    data = root / f"..{version}"
    data.mkdir(parents=True)
    for name, text in files.items():
        write(data / name, text)
    link = root / "..data_tmp"
    link.symlink_to(data.name)
    link.replace(root / "..data")  # atomic swap, as the kubelet does
    for name in files:
        if not (root / name).is_symlink():
            (root / name).symlink_to(Path("..data") / name)


def test_a_configmap_mount_is_read_through_its_symlinks_once(tmp_path: Path) -> None:
    configmap_mount(
        tmp_path,
        {"production.yaml": valid("production"), "staging.yml": valid("staging")},
        version="2025_03_14_09_26_53.1",
    )
    policies = load_policies(tmp_path)
    assert names(policies) == ["production", "staging"]
    assert policies[0].source == str(tmp_path / "production.yaml")


def test_a_dangling_symlink_is_skipped(tmp_path: Path) -> None:
    write(tmp_path / "policy.yaml", valid("present"))
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    assert names(load_policies(tmp_path)) == ["present"]


def test_a_missing_path_is_a_problem(tmp_path: Path) -> None:
    missing = tmp_path / "policies"
    assert problems_of(missing) == (
        PolicyProblem(str(missing), 1, "", "no such file or directory"),
    )


def test_names_repeated_across_files_are_reported_once_per_repeat(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", valid("shared"))
    write(tmp_path / "b.yaml", valid("shared"))
    write(tmp_path / "c.yaml", valid("shared") + "---\n" + valid("other"))
    assert problems_of(tmp_path) == (
        PolicyProblem(
            str(tmp_path / "b.yaml"),
            1,
            "metadata.name",
            f"policy 'shared' is also defined in {tmp_path / 'a.yaml'} (document 1)",
        ),
        PolicyProblem(
            str(tmp_path / "c.yaml"),
            1,
            "metadata.name",
            f"policy 'shared' is also defined in {tmp_path / 'b.yaml'} (document 1)",
        ),
    )


def test_a_name_repeated_within_one_file_names_the_repeating_document(tmp_path: Path) -> None:
    file = write(tmp_path / "a.yaml", valid("shared") + "---\n" + valid("shared"))
    [problem] = problems_of(file)
    assert (problem.document, problem.path) == (2, "metadata.name")


def test_an_impossible_date_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    rules = "- rule: digest-pinned"
    text = document(
        rules, name="typo", exceptions="- {namespaces: [x], reason: r, expires: 2025-02-30}"
    )
    file = write(tmp_path / "a.yaml", text)
    [problem] = problems_of(file)
    assert (problem.file, problem.document) == (str(file), 1)
    assert "day is out of range for month" in problem.reason


def test_yaml_nested_too_deeply_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    file = write(tmp_path / "deep.yaml", "a: " + "[" * 5000 + "]" * 5000 + "\n")
    [problem] = problems_of(file)
    assert (problem.file, problem.document, problem.path) == (str(file), 1, "")
    assert problem.reason == "is nested too deeply to be a policy"


def test_a_file_that_is_not_utf8_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    file = tmp_path / "latin1.yaml"
    file.write_bytes(valid("caf\xe9").encode("latin-1"))
    [problem] = problems_of(file)
    assert (problem.file, problem.document, problem.path) == (str(file), 1, "")


# --- single documents: each mistake, where and why ---------------------------------

HEADER = "apiVersion: imagegate.dev/v1alpha1\nkind: DeploymentPolicy\n"
NOT_DNS = "must be lower-case letters, digits, '-' or '.' (a DNS name)"
EMPTY_PATTERN = "an empty pattern matches nothing; remove it"


def with_spec(spec: str) -> str:
    """A document named x with this flow-style ``spec``."""
    return HEADER + "metadata: {name: x}\nspec: " + spec


def with_rule(rule: str) -> str:
    """A document named x whose only rule is this flow-style mapping."""
    return with_spec("{rules: [" + rule + "]}")


MISTAKES = [
    ("just text", "", "a policy is a mapping, not str"),
    ("42", "", "a policy is a mapping, not int"),
    (
        "apiVersion: imagegate.dev/v1alpha1\nkind: ClusterPolicy\nmetadata: {name: x}\n",
        "",
        "expected apiVersion imagegate.dev/v1alpha1 and kind DeploymentPolicy, got "
        "'imagegate.dev/v1alpha1' and 'ClusterPolicy'",
    ),
    (
        "kind: DeploymentPolicy\nmetadata: {name: x}\n",
        "",
        "expected apiVersion imagegate.dev/v1alpha1 and kind DeploymentPolicy, got "
        "None and 'DeploymentPolicy'",
    ),
    (
        HEADER + "spec: {rules: [{rule: digest-pinned}]}",
        "metadata",
        "Object missing required field `metadata`",
    ),
    (HEADER + "metadata: {name: x}", "spec", "Object missing required field `spec`"),
    (
        HEADER + "metadata: {}\nspec: {rules: [{rule: digest-pinned}]}",
        "metadata.name",
        "Object missing required field `name`",
    ),
    (
        HEADER + "metadata: {name: ''}\nspec: {rules: [{rule: digest-pinned}]}",
        "metadata.name",
        NOT_DNS,
    ),
    (
        HEADER + "metadata: {name: -x}\nspec: {rules: [{rule: digest-pinned}]}",
        "metadata.name",
        NOT_DNS,
    ),
    (
        with_spec("{rules: [{rule: digest-pinned}]}\nstatus: {}"),
        "status",
        "Object contains unknown field `status`",
    ),
    (with_spec("{}"), "spec.rules", "Object missing required field `rules`"),
    (
        with_spec("{rules: [{rule: digest-pinned}], mode: off}"),
        "spec.mode",
        "Expected `str`, got `bool`",
    ),
    (
        with_spec("{rules: [{rule: digest-pinned}], mode: 'off'}"),
        "spec.mode",
        "Invalid enum value 'off'",
    ),
    (
        with_spec("{rules: [{rule: digest-pinned}], factsUnavailable: allow}"),
        "spec.factsUnavailable",
        "Invalid enum value 'allow'",
    ),
    (with_spec("{rules: [digest-pinned]}"), "spec.rules[0]", "Expected `object`, got `str`"),
    (with_rule("{patterns: [x]}"), "spec.rules[0].rule", "Object missing required field `rule`"),
    (
        with_rule("{rule: digest-pinned, patterns: [x]}"),
        "spec.rules[0].patterns",
        "Object contains unknown field `patterns`",
    ),
    (
        with_rule("{rule: allowed-registries, patterns: ghcr.io/**}"),
        "spec.rules[0].patterns",
        "Expected `array`, got `str`",
    ),
    (with_rule("{rule: allowed-registries, patterns: ['']}"), "spec.rules[0]", EMPTY_PATTERN),
    (
        with_rule("{rule: scanned, maxAge: 7 days}"),
        "spec.rules[0].maxAge",
        "duration '7 days' must be a number and a unit: s, m, h or d",
    ),
    (
        with_rule("{rule: scanned, maxAge: 99999999999999999999d}"),
        "spec.rules[0].maxAge",
        "duration '99999999999999999999d' is longer than any date can be apart",
    ),
    (
        with_rule("{rule: scanned, max_age: 7d}"),
        "spec.rules[0].max_age",
        "Object contains unknown field `max_age`",
    ),
    (
        with_rule("{rule: severity-threshold}"),
        "spec.rules[0].severity",
        "Object missing required field `severity`",
    ),
    (
        with_rule("{rule: severity-threshold, severity: severe}"),
        "spec.rules[0].severity",
        "Invalid enum value 'severe'",
    ),
    (
        with_rule("{rule: severity-threshold, severity: high, ignore: [{id: CVE-1}]}"),
        "spec.rules[0].ignore[0].reason",
        "Object missing required field `reason`",
    ),
    (
        with_rule(
            "{rule: severity-threshold, severity: high, "
            "ignore: [{id: X, reason: r, expires: soon}]}"
        ),
        "spec.rules[0].ignore[0].expires",
        "Invalid RFC3339 encoded date",
    ),
    (
        with_rule(
            "{rule: severity-threshold, severity: high, "
            "ignore: [{id: X, reason: r, expires: 2025-06-30T00:00:00Z}]}"
        ),
        "spec.rules[0].ignore[0].expires",
        "Expected `date | null`, got `datetime`",
    ),
    (
        with_rule("{rule: no-new-vulnerabilities, severities: [urgent]}"),
        "spec.rules[0].severities[0]",
        "Invalid enum value 'urgent'",
    ),
    (
        with_rule("{rule: required-labels, labels: [team]}"),
        "spec.rules[0].labels",
        "Expected `object`, got `array`",
    ),
    (
        with_spec("{rules: [{rule: digest-pinned}], match: {namespace: [shop]}}"),
        "spec.match.namespace",
        "Object contains unknown field `namespace`",
    ),
    (
        with_spec("{rules: [{rule: digest-pinned}], match: {namespaces: ['']}}"),
        "spec.match.namespaces",
        EMPTY_PATTERN,
    ),
    (
        with_spec("{rules: [{rule: digest-pinned}], exceptions: [{images: [x]}]}"),
        "spec.exceptions[0].reason",
        "Object missing required field `reason`",
    ),
    (
        with_spec("{rules: [{rule: digest-pinned}], exceptions: [{reason: r, namespaces: ['']}]}"),
        "spec.exceptions[0]",
        EMPTY_PATTERN,
    ),
]


@pytest.mark.parametrize(("text", "path", "reason"), MISTAKES)
def test_each_mistake_is_reported_with_its_path_and_reason(
    tmp_path: Path, text: str, path: str, reason: str
) -> None:
    file = write(tmp_path / "policy.yaml", valid("first") + "---\n" + text + "\n")
    assert problems_of(file) == (PolicyProblem(str(file), 2, path, reason),)


def test_a_problem_reads_as_file_document_path_reason() -> None:
    assert (
        str(PolicyProblem("p.yaml", 3, "spec.rules", "bad"))
        == "p.yaml: document 3: spec.rules: bad"
    )
    assert str(PolicyProblem("p.yaml", 1, "", "bad")) == "p.yaml: document 1: bad"


def test_metadata_accepts_the_usual_kubernetes_fields(tmp_path: Path) -> None:
    text = valid("with-metadata").replace(
        "  name: with-metadata\n",
        "  name: with-metadata\n  namespace: imagegate\n  labels: {a: b}\n  annotations: {c: d}\n",
    )
    assert names(load_policies(write(tmp_path / "p.yaml", text))) == ["with-metadata"]


def test_quoted_and_unquoted_dates_are_both_dates(tmp_path: Path) -> None:
    exceptions = (
        "- {namespaces: [a], reason: r, expires: 2025-06-30}\n"
        "- {namespaces: [b], reason: r, expires: '2025-07-01'}"
    )
    text = document("- rule: digest-pinned", name="dates", exceptions=exceptions)
    [policy] = load_policies(write(tmp_path / "p.yaml", text))
    assert [e.expires for e in policy.exceptions] == [date(2025, 6, 30), date(2025, 7, 1)]


def test_the_defaults_of_a_minimal_policy(tmp_path: Path) -> None:
    text = HEADER + "metadata: {name: minimal}\nspec:\n  rules: [{rule: digest-pinned}]\n"
    [policy] = load_policies(write(tmp_path / "p.yaml", text))
    assert policy.mode is Mode.ENFORCE
    assert policy.facts_unavailable == "deny"
    assert policy.exceptions == ()
    assert (policy.logical_environments, policy.environments) == (frozenset(), frozenset())
    assert (policy.namespaces.texts, dict(policy.namespace_labels)) == ((), {})


# --- the built-in policy ----------------------------------------------------------


@pytest.mark.parametrize("mode", [Mode.ENFORCE, Mode.AUDIT])
def test_the_baseline_requires_digests_in_its_mode(mode: Mode) -> None:
    baseline = baseline_policy(mode)
    assert baseline is not None
    assert (baseline.name, baseline.mode, baseline.source) == ("default", mode, "built-in")
    assert [rule.name for rule in baseline.rules] == ["digest-pinned"]
    assert baseline.needs == frozenset()
    assert baseline.applies_to(Target("any", "any", "any"))


def test_the_baseline_off_is_no_policy() -> None:
    assert baseline_policy(Mode.OFF) is None


# --- PolicySource: reloading ------------------------------------------------------

BASELINE = baseline_policy(Mode.ENFORCE)


def bump(path: Path, seconds: int = 1) -> None:
    """Move ``path``'s mtime on, as a later write would."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + seconds * 1_000_000_000))


def rewrite(path: Path, text: str) -> None:
    write(path, text)
    bump(path)


def test_without_files_the_source_is_the_baseline() -> None:
    source = PolicySource(None, baseline=BASELINE)
    assert source.policies == (BASELINE,)
    assert source.reload() is True
    assert PolicySource(None, baseline=None).policies == ()


def test_the_baseline_comes_first(tmp_path: Path) -> None:
    source = PolicySource(write(tmp_path / "p.yaml", valid("mine")), baseline=BASELINE)
    assert names(source.policies) == ["default", "mine"]
    assert names(PolicySource(tmp_path, baseline=None).policies) == ["mine"]


def test_the_example_directory_as_a_source() -> None:
    source = PolicySource(FIXTURES, baseline=baseline_policy(Mode.AUDIT))
    assert names(source.policies) == [
        "default",
        "production-images",
        "production-promotion",
        "staging-hygiene",
    ]


def test_a_bad_set_at_start_is_fatal() -> None:
    with pytest.raises(PolicyLoadError) as raised:
        PolicySource(INVALID, baseline=BASELINE)
    assert len(raised.value.problems) == 13


def test_reload_without_changes_keeps_everything(tmp_path: Path) -> None:
    source = PolicySource(write(tmp_path / "p.yaml", valid("mine")), baseline=BASELINE)
    before = source.policies
    assert source.reload() is True
    assert source.policies == before
    assert (source.reloads, source.failures) == (0, 0)


def test_reload_picks_up_a_changed_file(tmp_path: Path) -> None:
    file = write(tmp_path / "p.yaml", valid("mine"))
    source = PolicySource(file, baseline=BASELINE)
    rewrite(file, valid("mine", "- rule: no-latest"))
    with capture_logs() as logs:
        assert source.reload() is True
    assert [rule.name for rule in source.policies[1].rules] == ["no-latest"]
    assert (source.reloads, source.failures) == (1, 0)
    assert logs == [{"event": "policies_loaded", "policies": ["mine"], "log_level": "info"}]


def test_reload_notices_a_new_mtime_alone(tmp_path: Path) -> None:
    file = write(tmp_path / "p.yaml", valid("mine"))
    source = PolicySource(file, baseline=None)
    bump(file)
    assert source.reload() is True
    assert source.reloads == 1


def test_reload_picks_up_files_added_and_removed(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", valid("a"))
    source = PolicySource(tmp_path, baseline=BASELINE)
    write(tmp_path / "b.yml", valid("b"))
    assert source.reload() is True
    assert names(source.policies) == ["default", "a", "b"]
    (tmp_path / "a.yaml").unlink()
    assert source.reload() is True
    assert names(source.policies) == ["default", "b"]
    assert source.reloads == 2


def test_an_invalid_change_keeps_the_last_good_set(tmp_path: Path) -> None:
    file = write(tmp_path / "p.yaml", valid("mine"))
    source = PolicySource(file, baseline=BASELINE)
    good = source.policies

    rewrite(file, valid("mine", "- rule: no-such-rule"))
    with capture_logs() as logs:
        assert source.reload() is False
    assert source.policies == good
    assert (source.reloads, source.failures) == (0, 1)
    assert logs == [
        {
            "event": "policy_invalid",
            "file": str(file),
            "document": 1,
            "path": "spec.rules[0].rule",
            "reason": "Invalid value 'no-such-rule'",
            "log_level": "error",
        },
        {"event": "policies_kept", "policies": ["mine"], "log_level": "warning"},
    ]

    # Reported once: until the files change again, there is nothing new to say.
    assert source.reload() is True
    assert (source.reloads, source.failures) == (0, 1)

    rewrite(file, valid("fixed"))
    assert source.reload() is True
    assert names(source.policies) == ["default", "fixed"]
    assert (source.reloads, source.failures) == (1, 1)


def test_every_problem_of_an_invalid_change_is_logged(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", valid("a"))
    source = PolicySource(tmp_path, baseline=None)
    write(tmp_path / "b.yaml", "broken: [\n")
    write(tmp_path / "c.yaml", valid("a") + "---\n- not a policy\n")
    with capture_logs() as logs:
        assert source.reload() is False
    invalid = [
        (e["file"], e["document"], e["path"]) for e in logs if e["event"] == "policy_invalid"
    ]
    assert invalid == [
        (str(tmp_path / "b.yaml"), 1, ""),
        (str(tmp_path / "c.yaml"), 2, ""),
        (str(tmp_path / "c.yaml"), 1, "metadata.name"),
    ]
    assert names(source.policies) == ["a"]


def test_a_vanished_path_keeps_the_last_good_set(tmp_path: Path) -> None:
    directory = tmp_path / "policies"
    write(directory / "a.yaml", valid("a"))
    source = PolicySource(directory, baseline=None)
    shutil.rmtree(directory)
    assert source.reload() is False
    assert names(source.policies) == ["a"]
    assert source.failures == 1
    write(directory / "a.yaml", valid("back"))
    assert source.reload() is True
    assert names(source.policies) == ["back"]


def test_a_configmap_update_is_picked_up(tmp_path: Path) -> None:
    configmap_mount(tmp_path, {"policy.yaml": valid("first")}, version="2025_03_14_09_26_53.1")
    source = PolicySource(tmp_path, baseline=BASELINE)
    assert names(source.policies) == ["default", "first"]

    update = {"policy.yaml": valid("second-version")}
    configmap_mount(tmp_path, update, version="2025_03_14_09_27_53.2")
    assert source.reload() is True
    assert names(source.policies) == ["default", "second-version"]

    configmap_mount(tmp_path, {"policy.yaml": "spec: [\n"}, version="2025_03_14_09_28_53.3")
    assert source.reload() is False
    assert names(source.policies) == ["default", "second-version"]


def test_an_impossible_date_in_a_change_keeps_the_last_good_set(tmp_path: Path) -> None:
    file = write(tmp_path / "p.yaml", valid("mine"))
    source = PolicySource(file, baseline=None)
    rewrite(
        file,
        document(
            "- rule: digest-pinned",
            name="mine",
            exceptions="- {namespaces: [x], reason: r, expires: 2025-02-30}",
        ),
    )
    assert source.reload() is False
    assert names(source.policies) == ["mine"]


def test_the_production_example_judges_by_the_time_of_the_request() -> None:
    # An ignored vulnerability and an exception expire while the policy stays loaded.
    [images, _] = load_policies(PRODUCTION)
    labels = {"org.opencontainers.image.source": "https://github.com/acme/agent", "team": "x"}
    agent = f"ghcr.io/acme/mirror/vendor-agent:7.1@{DIGEST}"
    web = f"ghcr.io/acme/web:1.4@{DIGEST}"

    def judged(image: str, day: date) -> Evaluation:
        at = datetime.combine(day, NOW.timetz())
        facts = image_facts(labels=labels)
        fresh = NOW - at + timedelta(hours=1)  # scanned an hour before ``at``
        evidence = scanned(vulnerability("CVE-2024-45337", "critical"), age=fresh)
        return judge(images, subject(image, registry=facts, evidence=evidence, now=at))

    assert judged(web, date(2025, 6, 30)).violations == ()
    [violation] = judged(web, date(2025, 7, 1)).violations
    assert violation.reason == "1 vulnerabilities at or above high: CVE-2024-45337"

    assert [e.reason for e in judged(agent, date(2025, 9, 30)).excepted] == [
        "the vendor agent is mirrored by hand until PLAT-412 lands"
    ]
    assert len(judged(agent, date(2025, 10, 1)).violations) == 1
