"""Every built-in rule: what passes, what fails (with the words users read), what an
audit-mode policy does, what a policy exception waives, and what happens when the
facts a rule needs cannot be looked up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from http import HTTPStatus

import pytest

from imagegate.facts import Evidence, ImageFacts, Provenance
from imagegate.policy import (
    REVISION_LABEL,
    RULE_NAMES,
    SOURCE_LABEL,
    Deployed,
    ImageSubject,
    Mode,
    Need,
    Unavailable,
    Violation,
)
from imagegate.tracking import Platform
from unit.policy.policy_support import (
    AMD64,
    ARM64,
    ARM64_V8,
    DEPLOYED_DIGEST,
    DIGEST,
    NOW,
    OUTAGE,
    PINNED,
    REPOSITORY,
    TAGGED,
    TODAY,
    admit,
    container,
    image_facts,
    invalid_container,
    judge,
    policy,
    scan,
    scanned,
    subject,
    vulnerability,
)

RETRY = "it could not be checked now; retry once the registry and evidence store answer"
PUSH_SCAN = f"imagegate evidence push --digest {DIGEST} --scan report.json"
TRUSTED = "https://github.com/acme/*/.github/workflows/*@refs/heads/main"
ACME_BUILDER = "https://github.com/acme/web/.github/workflows/release.yaml@refs/heads/main"
COMMIT = "4f9c2a7d1e0b8c3a5f6e7d8c9b0a1f2e3d4c5b6a"
ACME_SOURCE = "https://github.com/acme/web"


def only(violations: tuple[Violation, ...]) -> Violation:
    assert len(violations) == 1, violations
    return violations[0]


def failure(rules: str, judged: ImageSubject) -> tuple[str, str]:
    """(reason, fix) of the one violation of an enforce-mode policy of ``rules``."""
    violation = only(judge(policy(rules), judged).violations)
    assert violation.mode is Mode.ENFORCE
    assert violation.policy == "test-policy"
    assert violation.container == judged.container.name
    assert violation.image == judged.container.image
    return violation.reason, violation.fix


def passes(rules: str, judged: ImageSubject) -> bool:
    evaluation = judge(policy(rules), judged)
    return not evaluation.violations and not evaluation.excepted


# --- the rule set -----------------------------------------------------------------


def test_rule_names_are_the_eleven_built_in_rules() -> None:
    assert RULE_NAMES == (
        "digest-pinned",
        "no-latest",
        "allowed-registries",
        "required-labels",
        "trusted-builder",
        "known-commit",
        "scanned",
        "severity-threshold",
        "no-new-vulnerabilities",
        "platform-available",
        "pin-tags",
    )


NEEDS = [
    ("- rule: digest-pinned", set()),
    ("- rule: no-latest", set()),
    ("- {rule: allowed-registries, patterns: [ghcr.io/acme/**]}", set()),
    ("- {rule: required-labels, labels: {team: null}}", {Need.REGISTRY, Need.EVIDENCE}),
    ("- {rule: trusted-builder, builders: [x]}", {Need.REGISTRY, Need.EVIDENCE}),
    ("- rule: known-commit", {Need.REGISTRY, Need.EVIDENCE}),
    # Scans are found by digest; the registry is only asked to resolve a tag.
    ("- rule: scanned", {Need.EVIDENCE}),
    ("- {rule: severity-threshold, severity: high}", {Need.EVIDENCE}),
    ("- rule: no-new-vulnerabilities", {Need.EVIDENCE, Need.DEPLOYED}),
    ("- rule: platform-available", {Need.REGISTRY}),
    ("- rule: pin-tags", {Need.REGISTRY}),
]


@pytest.mark.parametrize(("rules", "needs"), NEEDS)
def test_each_rule_says_which_facts_it_needs(rules: str, needs: set[Need]) -> None:
    compiled = policy(rules)
    assert compiled.needs == needs
    assert [rule.name for rule in compiled.rules] == [rule_name(rules)]


def rule_name(rules: str) -> str:
    """The name of the one rule in ``rules``."""
    return rules.split("rule: ")[1].split(",", maxsplit=1)[0]


def test_needs_cover_every_rule() -> None:
    named = {rule_name(rules) for rules, _ in NEEDS}
    assert named == set(RULE_NAMES)


# --- digest-pinned ----------------------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [
        PINNED,
        f"{REPOSITORY}@{DIGEST}",
        f"nginx@{DIGEST}",
    ],
)
def test_digest_pinned_passes_images_with_a_digest(image: str) -> None:
    assert passes("- rule: digest-pinned", subject(image))


def test_digest_pinned_fails_a_tag_only_image() -> None:
    assert failure("- rule: digest-pinned", subject(TAGGED)) == (
        "the image is not pinned by digest; a tag can move to another image at any time",
        f"use {TAGGED}@sha256:<digest> (find it with: crane digest {TAGGED})",
    )


def test_digest_pinned_names_the_normalised_repository_in_the_fix() -> None:
    _, fix = failure("- rule: digest-pinned", subject("nginx:1.27"))
    assert fix == (
        "use docker.io/library/nginx:1.27@sha256:<digest> "
        "(find it with: crane digest docker.io/library/nginx:1.27)"
    )


def test_digest_pinned_fails_an_invalid_reference_with_its_problem() -> None:
    broken = invalid_container("ghcr.io/Acme/web:1.4", "repository path component 'Acme' …")
    assert failure("- rule: digest-pinned", subject(broken)) == (
        "the image reference is invalid (repository path component 'Acme' …)",
        "write a valid reference, e.g. registry.example.com/team/app:1.2@sha256:<digest>",
    )


# --- no-latest --------------------------------------------------------------------


@pytest.mark.parametrize("image", [TAGGED, PINNED, f"{REPOSITORY}@{DIGEST}"])
def test_no_latest_passes_version_tags_and_digests(image: str) -> None:
    assert passes("- rule: no-latest", subject(image))


@pytest.mark.parametrize(
    "image",
    [
        f"{REPOSITORY}:latest",
        REPOSITORY,  # no tag and no digest: the runtime pulls latest
        f"{REPOSITORY}:latest@{DIGEST}",  # the tag still says latest
    ],
)
def test_no_latest_fails_the_latest_tag_written_or_implied(image: str) -> None:
    assert failure("- rule: no-latest", subject(image)) == (
        "the image uses the latest tag, which names whatever was pushed last",
        f"use a version tag and its digest, e.g. {REPOSITORY}:1.2.3@sha256:<digest>",
    )


def test_no_latest_is_case_sensitive_like_tags() -> None:
    assert passes("- rule: no-latest", subject(f"{REPOSITORY}:Latest"))


# --- allowed-registries -----------------------------------------------------------

ALLOWED = """
- rule: allowed-registries
  patterns:
    - ghcr.io/acme/**
    - docker.io/library/*
"""


@pytest.mark.parametrize(
    "image",
    [
        PINNED,
        f"ghcr.io/acme/team/deep/web@{DIGEST}",  # ** crosses segments
        f"nginx:1.27@{DIGEST}",  # normalised to docker.io/library/nginx
        f"index.docker.io/library/busybox@{DIGEST}",
    ],
)
def test_allowed_registries_passes_matching_repositories(image: str) -> None:
    assert passes(ALLOWED, subject(image))


@pytest.mark.parametrize(
    ("image", "repository"),
    [
        (f"docker.io/bitnami/nginx@{DIGEST}", "docker.io/bitnami/nginx"),  # * stays in a segment
        (f"ghcr.io/other/web@{DIGEST}", "ghcr.io/other/web"),
        (f"ghcr.io/acme@{DIGEST}", "ghcr.io/acme"),  # ** needs the slash before it
        (f"ghcr.io:443/acme/web@{DIGEST}", "ghcr.io:443/acme/web"),  # a port is another host
    ],
)
def test_allowed_registries_fails_other_repositories(image: str, repository: str) -> None:
    assert failure(ALLOWED, subject(image)) == (
        f"repository {repository} is not in the allowed registries "
        "(ghcr.io/acme/**, docker.io/library/*)",
        "use an image from ghcr.io/acme/**, docker.io/library/*",
    )


def test_allowed_registries_fails_an_invalid_reference() -> None:
    reason, _ = failure(ALLOWED, subject(invalid_container("UPPER/case", "bad name")))
    assert reason == "the image reference is invalid (bad name)"


# --- required-labels --------------------------------------------------------------

PRESENCE = """
- rule: required-labels
  labels:
    org.opencontainers.image.vendor: null
    team: ""
"""
VALUE = """
- rule: required-labels
  labels:
    team: payments
    org.opencontainers.image.version: "1.*"
"""
LABELS = {"org.opencontainers.image.vendor": "Acme", "team": "payments"}


def test_required_labels_passes_with_labels_from_the_registry() -> None:
    assert passes(PRESENCE, subject(registry=image_facts(labels=LABELS)))


def test_required_labels_passes_with_labels_posted_as_evidence() -> None:
    assert passes(PRESENCE, subject(registry=image_facts(), evidence=Evidence(labels=LABELS)))


def test_required_labels_combines_registry_and_evidence_labels() -> None:
    judged = subject(
        registry=image_facts(labels={"team": "payments"}),
        evidence=Evidence(labels={"org.opencontainers.image.vendor": "Acme"}),
    )
    assert passes(PRESENCE, judged)


def test_required_labels_fails_listing_every_missing_label() -> None:
    assert failure(PRESENCE, subject(registry=image_facts(), evidence=Evidence())) == (
        "the image has no label org.opencontainers.image.vendor, team",
        "set it when building (docker build --label, LABEL in the Dockerfile) or post it "
        "as evidence",
    )


def test_required_labels_passes_values_matching_their_patterns() -> None:
    labels = {"team": "payments", "org.opencontainers.image.version": "1.4.2"}
    assert passes(VALUE, subject(registry=image_facts(labels=labels)))


def test_required_labels_fails_a_value_not_matching_its_pattern() -> None:
    labels = {"team": "payments", "org.opencontainers.image.version": "2.0.0"}
    assert failure(VALUE, subject(registry=image_facts(labels=labels))) == (
        "label org.opencontainers.image.version='2.0.0' does not match 1.*",
        "build the image with org.opencontainers.image.version matching 1.*",
    )


def test_required_labels_evidence_overrides_the_registry_value() -> None:
    labels = {"team": "shop", "org.opencontainers.image.version": "1.0"}
    judged = subject(
        registry=image_facts(labels=labels), evidence=Evidence(labels={"team": "payments"})
    )
    assert passes(VALUE, judged)


def test_required_labels_value_patterns_keep_star_within_a_path_segment() -> None:
    rules = "- {rule: required-labels, labels: {" + SOURCE_LABEL + ": 'https://github.com/*'}}"
    source = {SOURCE_LABEL: "https://github.com/acme/web"}
    reason, _ = failure(rules, subject(registry=image_facts(labels=source)))
    assert reason == (
        f"label {SOURCE_LABEL}='https://github.com/acme/web' does not match https://github.com/*"
    )
    wider = rules.replace("github.com/*", "github.com/**")
    assert passes(wider, subject(registry=image_facts(labels=source)))


# --- trusted-builder --------------------------------------------------------------

BUILDER = f"""
- rule: trusted-builder
  builders:
    - "{TRUSTED}"
"""


def test_trusted_builder_passes_provenance_from_the_registry() -> None:
    facts = image_facts(provenance=Provenance(builder_id=ACME_BUILDER))
    assert passes(BUILDER, subject(registry=facts))


def test_trusted_builder_passes_provenance_posted_as_evidence() -> None:
    evidence = Evidence(provenance=Provenance(builder_id=ACME_BUILDER))
    assert passes(BUILDER, subject(registry=image_facts(), evidence=evidence))


def test_trusted_builder_prefers_evidence_over_the_registry_attestation() -> None:
    facts = image_facts(provenance=Provenance(builder_id="https://ci.evil.example/runner"))
    evidence = Evidence(provenance=Provenance(builder_id=ACME_BUILDER))
    assert passes(BUILDER, subject(registry=facts, evidence=evidence))


def test_provenance_evidence_fills_in_over_the_registry_attestation() -> None:
    # Evidence naming only the commit keeps the registry's builder id.
    facts = image_facts(provenance=Provenance(builder_id=ACME_BUILDER))
    evidence = Evidence(provenance=Provenance(commit=COMMIT))
    assert passes(BUILDER, subject(registry=facts, evidence=evidence))


def test_provenance_evidence_overrides_the_registry_field_it_sets() -> None:
    facts = image_facts(provenance=Provenance(builder_id=ACME_BUILDER))
    evidence = Evidence(provenance=Provenance(builder_id="https://ci.evil.example/runner"))
    reason, _ = failure(BUILDER, subject(registry=facts, evidence=evidence))
    assert reason.startswith("builder 'https://ci.evil.example/runner' is not trusted")


def test_trusted_builder_fails_an_untrusted_builder() -> None:
    facts = image_facts(provenance=Provenance(builder_id="https://ci.evil.example/runner"))
    assert failure(BUILDER, subject(registry=facts)) == (
        f"builder 'https://ci.evil.example/runner' is not trusted ({TRUSTED})",
        "build the image on a trusted builder",
    )


@pytest.mark.parametrize(
    "provenance",
    [None, Provenance(source_repository=ACME_SOURCE, commit=COMMIT)],
    ids=["no provenance", "provenance without builder"],
)
def test_trusted_builder_fails_without_provenance_naming_a_builder(
    provenance: Provenance | None,
) -> None:
    judged = subject(registry=image_facts(provenance=provenance), evidence=Evidence())
    assert failure(BUILDER, judged) == (
        "the image has no provenance naming its builder",
        "build with provenance attestations (docker buildx build --provenance=mode=max) "
        "or post provenance evidence",
    )


# --- known-commit -----------------------------------------------------------------

KNOWN_COMMIT = "- rule: known-commit"
FROM_ACME = """
- rule: known-commit
  repositories: ["https://github.com/acme/*"]
"""


def test_known_commit_passes_with_the_revision_label() -> None:
    assert passes(KNOWN_COMMIT, subject(registry=image_facts(labels={REVISION_LABEL: COMMIT})))


def test_known_commit_passes_with_the_provenance_commit() -> None:
    evidence = Evidence(provenance=Provenance(commit=COMMIT[:12]))
    assert passes(KNOWN_COMMIT, subject(registry=image_facts(), evidence=evidence))


def test_known_commit_accepts_upper_case_hex() -> None:
    facts = image_facts(labels={REVISION_LABEL: COMMIT.upper()})
    assert passes(KNOWN_COMMIT, subject(registry=facts))


def test_known_commit_fails_without_a_commit() -> None:
    assert failure(KNOWN_COMMIT, subject(registry=image_facts(), evidence=Evidence())) == (
        "the image does not name the git commit (and repository) it was built from",
        f"set the labels {REVISION_LABEL} and {SOURCE_LABEL} (or build with provenance)",
    )


@pytest.mark.parametrize("text", ["main", "v1.4.2", "abc12", "4f9c2a7g"])
def test_known_commit_fails_text_that_is_not_a_commit(text: str) -> None:
    facts = image_facts(labels={REVISION_LABEL: text})
    assert failure(KNOWN_COMMIT, subject(registry=facts)) == (
        f"{text!r} is not a git commit",
        f"set {REVISION_LABEL} to the commit id",
    )


def test_known_commit_passes_a_source_repository_that_is_allowed() -> None:
    facts = image_facts(labels={REVISION_LABEL: COMMIT, SOURCE_LABEL: ACME_SOURCE})
    assert passes(FROM_ACME, subject(registry=facts))


def test_known_commit_takes_the_source_repository_from_provenance() -> None:
    evidence = Evidence(provenance=Provenance(commit=COMMIT, source_repository=ACME_SOURCE))
    assert passes(FROM_ACME, subject(registry=image_facts(), evidence=evidence))


def test_known_commit_fails_a_source_repository_that_is_not_allowed() -> None:
    facts = image_facts(
        labels={REVISION_LABEL: COMMIT, SOURCE_LABEL: "https://github.com/evil/web"}
    )
    assert failure(FROM_ACME, subject(registry=facts)) == (
        "source repository 'https://github.com/evil/web' is not one of https://github.com/acme/*",
        "build the image from an allowed repository",
    )


def test_known_commit_with_repositories_fails_without_a_source_repository() -> None:
    facts = image_facts(labels={REVISION_LABEL: COMMIT})
    reason, _ = failure(FROM_ACME, subject(registry=facts, evidence=Evidence()))
    assert reason == "the image does not name the git commit (and repository) it was built from"


# --- scanned ----------------------------------------------------------------------

SCANNED = """
- rule: scanned
  maxAge: 7d
"""


def test_scanned_passes_a_fresh_scan() -> None:
    assert passes(SCANNED, subject(evidence=scanned(age=timedelta(days=1))))


def test_scanned_passes_a_scan_exactly_max_age_old() -> None:
    assert passes(SCANNED, subject(evidence=scanned(age=timedelta(days=7))))


def test_scanned_fails_without_a_scan() -> None:
    assert failure(SCANNED, subject(evidence=Evidence())) == (
        f"no vulnerability scan was posted for {DIGEST}",
        f"scan the image and post the report: {PUSH_SCAN}",
    )


def test_scanned_fails_a_scan_older_than_max_age() -> None:
    assert failure(SCANNED, subject(evidence=scanned(age=timedelta(days=9)))) == (
        f"the newest scan of {DIGEST} is 9d old (at most 7d)",
        f"scan it again and post the report: {PUSH_SCAN}",
    )


def test_scanned_counts_hours_under_a_day() -> None:
    reason, _ = failure(
        "- {rule: scanned, maxAge: 12h}", subject(evidence=scanned(age=timedelta(hours=13)))
    )
    assert reason == f"the newest scan of {DIGEST} is 13h old (at most 12h)"


def test_scanned_default_max_age_is_seven_days() -> None:
    assert passes("- rule: scanned", subject(evidence=scanned(age=timedelta(days=7))))
    assert not passes("- rule: scanned", subject(evidence=scanned(age=timedelta(days=8))))


def test_scanned_looks_for_the_digest_a_tag_resolves_to() -> None:
    judged = subject(TAGGED, registry=image_facts(), evidence=Evidence())
    reason, _ = failure(SCANNED, judged)
    assert reason == f"no vulnerability scan was posted for {DIGEST}"


def test_scanned_reason_states_a_max_age_in_minutes() -> None:
    reason, _ = failure(
        "- {rule: scanned, maxAge: 30m}", subject(evidence=scanned(age=timedelta(hours=2)))
    )
    assert reason == f"the newest scan of {DIGEST} is 2h old (at most 30m)"


# --- severity-threshold -----------------------------------------------------------

HIGH = "- {rule: severity-threshold, severity: high}"
FIX_SEVERITY = (
    "update the affected packages, or ignore a vulnerability in the policy with a reason "
    "and an expiry date"
)


def test_severity_threshold_passes_vulnerabilities_below_it() -> None:
    evidence = scanned(vulnerability("CVE-2024-0001", "medium"), vulnerability("X", "low"))
    assert passes(HIGH, subject(evidence=evidence))


def test_severity_threshold_passes_a_clean_scan() -> None:
    assert passes(HIGH, subject(evidence=scanned()))


@pytest.mark.parametrize("severity", ["high", "critical"], ids=["at", "above"])
def test_severity_threshold_fails_vulnerabilities_at_or_above_it(severity: str) -> None:
    evidence = scanned(
        vulnerability("CVE-2024-0002", severity),
        vulnerability("CVE-2024-0001", severity, package="zlib"),
        vulnerability("CVE-2024-0001", severity),  # one id in two packages counts once
        vulnerability("CVE-2024-0003", "medium"),
    )
    assert failure(HIGH, subject(evidence=evidence)) == (
        "2 vulnerabilities at or above high: CVE-2024-0001, CVE-2024-0002",
        FIX_SEVERITY,
    )


def test_severity_threshold_lists_five_and_counts_the_rest() -> None:
    evidence = scanned(*(vulnerability(f"CVE-2024-000{n}", "critical") for n in range(8)))
    reason, _ = failure(HIGH, subject(evidence=evidence))
    assert reason == (
        "8 vulnerabilities at or above high: CVE-2024-0000, CVE-2024-0001, CVE-2024-0002, "
        "CVE-2024-0003, CVE-2024-0004 and 3 more"
    )


def test_severity_threshold_never_counts_unknown_severities() -> None:
    evidence = scanned(vulnerability("CVE-2024-0009", "unknown"))
    assert passes("- {rule: severity-threshold, severity: negligible}", subject(evidence=evidence))


def ignoring(expires: date | None) -> str:
    expiry = "" if expires is None else f"\n      expires: {expires.isoformat()}"
    return f"""
- rule: severity-threshold
  severity: high
  ignore:
    - id: CVE-2024-0001
      reason: not reachable from our code{expiry}
"""


@pytest.mark.parametrize(
    "expires", [TODAY + timedelta(days=30), TODAY, None], ids=["future", "today", "no expiry"]
)
def test_severity_threshold_ignores_listed_vulnerabilities_until_they_expire(
    expires: date | None,
) -> None:
    evidence = scanned(vulnerability("CVE-2024-0001", "critical"))
    assert passes(ignoring(expires), subject(evidence=evidence))


def test_severity_threshold_counts_an_ignored_vulnerability_again_after_expiry() -> None:
    evidence = scanned(vulnerability("CVE-2024-0001", "critical"))
    reason, _ = failure(ignoring(TODAY - timedelta(days=1)), subject(evidence=evidence))
    assert reason == "1 vulnerabilities at or above high: CVE-2024-0001"


def test_severity_threshold_ignore_covers_only_its_id() -> None:
    evidence = scanned(
        vulnerability("CVE-2024-0001", "critical"), vulnerability("CVE-2024-0002", "high")
    )
    reason, _ = failure(ignoring(None), subject(evidence=evidence))
    assert reason == "1 vulnerabilities at or above high: CVE-2024-0002"


def test_severity_threshold_fails_without_a_scan() -> None:
    reason, _ = failure(HIGH, subject(evidence=Evidence()))
    assert reason == f"no vulnerability scan was posted for {DIGEST}"


# --- no-new-vulnerabilities -------------------------------------------------------

NO_NEW = "- rule: no-new-vulnerabilities"
NO_NEW_CRITICAL = "- {rule: no-new-vulnerabilities, severities: [critical]}"
CRITICAL_AND_LOW = scanned(
    vulnerability("CVE-2024-0001", "critical"), vulnerability("CVE-2024-0005", "low")
)


def deployed_with(*ids: str) -> Deployed:
    found = tuple(vulnerability(id_, "critical") for id_ in ids)
    return Deployed(digests=(DEPLOYED_DIGEST,), scans=(scan(*found, digest=DEPLOYED_DIGEST),))


def test_no_new_vulnerabilities_passes_when_the_deployed_image_has_the_same() -> None:
    judged = subject(evidence=CRITICAL_AND_LOW, deployed=deployed_with("CVE-2024-0001"))
    assert passes(NO_NEW, judged)


def test_no_new_vulnerabilities_passes_a_clean_image_with_nothing_deployed() -> None:
    assert passes(NO_NEW, subject(evidence=scanned(), deployed=Deployed((), ())))


def test_no_new_vulnerabilities_with_nothing_deployed_passes() -> None:
    # A first deployment has nothing to compare with; severity-threshold judges it alone.
    judged = subject(evidence=CRITICAL_AND_LOW, deployed=Deployed((), ()))
    assert passes(NO_NEW_CRITICAL, judged)


def test_no_new_vulnerabilities_fails_one_the_deployed_image_lacks() -> None:
    evidence = scanned(
        vulnerability("CVE-2024-0001", "critical"), vulnerability("CVE-2024-0002", "critical")
    )
    judged = subject(evidence=evidence, deployed=deployed_with("CVE-2024-0001"))
    assert failure(NO_NEW_CRITICAL, judged) == (
        "1 critical vulnerabilities the deployed image does not have: CVE-2024-0002",
        "fix them before promoting, or keep the deployed version",
    )


def test_no_new_vulnerabilities_counts_only_its_severities() -> None:
    judged = subject(evidence=CRITICAL_AND_LOW, deployed=deployed_with("CVE-2024-0001"))
    assert passes(NO_NEW, judged)  # the new one is low: not counted by default
    reason, _ = failure("- {rule: no-new-vulnerabilities, severities: [low]}", judged)
    assert reason == "1 low vulnerabilities the deployed image does not have: CVE-2024-0005"


def test_no_new_vulnerabilities_knows_the_vulnerabilities_of_every_deployed_digest() -> None:
    other = "sha256:" + "ef" * 32
    deployed = Deployed(
        digests=(DEPLOYED_DIGEST, other),
        scans=(
            scan(vulnerability("CVE-2024-0001", "critical"), digest=DEPLOYED_DIGEST),
            scan(vulnerability("CVE-2024-0002", "critical"), digest=other),
        ),
    )
    evidence = scanned(
        vulnerability("CVE-2024-0001", "critical"), vulnerability("CVE-2024-0002", "critical")
    )
    assert passes(NO_NEW, subject(evidence=evidence, deployed=deployed))


def test_no_new_vulnerabilities_fails_when_the_deployed_image_has_no_scan() -> None:
    judged = subject(
        evidence=CRITICAL_AND_LOW, deployed=Deployed(digests=(DEPLOYED_DIGEST,), scans=(None,))
    )
    assert failure(NO_NEW, judged) == (
        f"the deployed image {DEPLOYED_DIGEST} has no scan to compare with",
        f"post its scan: imagegate evidence push --digest {DEPLOYED_DIGEST} --scan report.json",
    )


def test_no_new_vulnerabilities_fails_without_a_scan_of_the_new_image() -> None:
    reason, _ = failure(NO_NEW, subject(evidence=Evidence(), deployed=deployed_with()))
    assert reason == f"no vulnerability scan was posted for {DIGEST}"


def test_no_new_vulnerabilities_names_severities_gravest_first() -> None:
    evidence = scanned(vulnerability("CVE-2024-0002", "high"))
    reason, _ = failure(NO_NEW, subject(evidence=evidence, deployed=deployed_with()))
    assert reason == (
        "1 critical/high vulnerabilities the deployed image does not have: CVE-2024-0002"
    )


# --- platform-available -----------------------------------------------------------

PLATFORMS = "- rule: platform-available"
FIX_PLATFORMS = (
    "build the image for every platform the pod may run on, or constrain the pod's "
    "nodeSelector/affinity to the image's platforms"
)


def test_platform_available_fails_a_single_arch_image_on_another_arch() -> None:
    judged = subject(registry=image_facts(platforms=[AMD64]), platforms=[ARM64])
    assert failure(PLATFORMS, judged) == (
        "no manifest for linux/arm64 (the image has linux/amd64)",
        FIX_PLATFORMS,
    )


def test_platform_available_passes_a_multi_arch_index() -> None:
    facts = image_facts(platforms=[AMD64, ARM64_V8])
    assert passes(PLATFORMS, subject(registry=facts, platforms=[AMD64, ARM64]))


def test_platform_available_lists_only_the_platforms_missing() -> None:
    facts = image_facts(platforms=[AMD64, Platform(os="windows")])
    judged = subject(registry=facts, platforms=[AMD64, ARM64, Platform(architecture="s390x")])
    reason, _ = failure(PLATFORMS, judged)
    assert reason == (
        "no manifest for linux/arm64, linux/s390x (the image has linux/amd64, windows/amd64)"
    )


@pytest.mark.parametrize(
    ("wanted", "offered"),
    [(ARM64_V8, ARM64), (ARM64, ARM64_V8), (ARM64_V8, ARM64_V8), (ARM64, ARM64)],
    ids=["v8 on plain", "plain on v8", "v8 on v8", "plain on plain"],
)
def test_platform_available_treats_arm64_and_arm64_v8_alike(
    wanted: Platform, offered: Platform
) -> None:
    assert passes(PLATFORMS, subject(registry=image_facts(platforms=[offered]), platforms=[wanted]))


def test_platform_available_keeps_other_variants_apart() -> None:
    arm_v6 = Platform(architecture="arm", variant="v6")
    arm_v7 = Platform(architecture="arm", variant="v7")
    judged = subject(registry=image_facts(platforms=[arm_v6]), platforms=[arm_v7])
    reason, _ = failure(PLATFORMS, judged)
    assert reason == "no manifest for linux/arm/v7 (the image has linux/arm/v6)"


def test_platform_available_accepts_any_variant_for_a_pod_platform_without_one() -> None:
    arm_v7 = Platform(architecture="arm", variant="v7")
    judged = subject(registry=image_facts(platforms=[arm_v7]), platforms=[Platform("linux", "arm")])
    assert passes(PLATFORMS, judged)


def test_platform_available_says_none_for_an_image_without_platforms() -> None:
    reason, _ = failure(PLATFORMS, subject(registry=image_facts(platforms=[]), platforms=[AMD64]))
    assert reason == "no manifest for linux/amd64 (the image has none)"


def test_platform_available_passes_a_pod_that_can_never_be_scheduled() -> None:
    assert passes(PLATFORMS, subject(registry=image_facts(), platforms=[]))


def test_platform_available_is_unknown_when_the_registry_was_not_asked() -> None:
    violation = only(judge(policy(PLATFORMS), subject(registry=None)).violations)
    assert violation.reason == "could not be checked: the image's platforms were not looked up"


# --- pin-tags ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["enforce", "audit"])
@pytest.mark.parametrize(
    "registry", [image_facts(), Unavailable(OUTAGE), None], ids=["facts", "outage", "none"]
)
def test_pin_tags_never_is_a_violation(
    mode: str, registry: ImageFacts | Unavailable | None
) -> None:
    evaluation = judge(policy("- rule: pin-tags", mode=mode), subject(TAGGED, registry=registry))
    assert evaluation.violations == ()
    assert evaluation.excepted == ()
    assert evaluation.pin == {"app"}


def test_pin_tags_only_asks_to_pin_containers_it_is_not_excepted_for() -> None:
    exceptions = f"- {{images: ['{REPOSITORY}'], reason: pinned by CI}}"
    proxy = container("docker.io/library/nginx:1.27", name="proxy", path="/spec/containers/1/image")
    evaluation = judge(
        policy("- rule: pin-tags", exceptions=exceptions), subject(TAGGED), subject(proxy)
    )
    assert evaluation.pin == {"proxy"}
    assert evaluation.violations == ()
    assert evaluation.excepted == ()


def test_pin_tags_admits_tag_only_images_without_warnings() -> None:
    decision = admit(policy("- rule: pin-tags"), subject(TAGGED, registry=image_facts()))
    assert decision.allowed
    assert decision.warnings == ()
    assert decision.violations == ()


# --- every judging rule: enforce, audit, exceptions -------------------------------


@dataclass(frozen=True)
class Failing:
    """A rule and a subject that breaks it."""

    rules: str
    subject: ImageSubject
    reason: str


FAILING = {
    "digest-pinned": Failing(
        "- rule: digest-pinned",
        subject(TAGGED),
        "the image is not pinned by digest; a tag can move to another image at any time",
    ),
    "no-latest": Failing(
        "- rule: no-latest",
        subject(f"{REPOSITORY}:latest@{DIGEST}"),
        "the image uses the latest tag, which names whatever was pushed last",
    ),
    "allowed-registries": Failing(
        "- {rule: allowed-registries, patterns: [registry.example.com/**]}",
        subject(),
        f"repository {REPOSITORY} is not in the allowed registries (registry.example.com/**)",
    ),
    "required-labels": Failing(
        "- {rule: required-labels, labels: {team: null}}",
        subject(registry=image_facts(), evidence=Evidence()),
        "the image has no label team",
    ),
    "trusted-builder": Failing(
        f"- {{rule: trusted-builder, builders: ['{TRUSTED}']}}",
        subject(registry=image_facts(), evidence=Evidence()),
        "the image has no provenance naming its builder",
    ),
    "known-commit": Failing(
        "- rule: known-commit",
        subject(registry=image_facts(labels={REVISION_LABEL: "main"}), evidence=Evidence()),
        "'main' is not a git commit",
    ),
    "scanned": Failing(
        "- {rule: scanned, maxAge: 7d}",
        subject(registry=image_facts(), evidence=scanned(age=timedelta(days=30))),
        f"the newest scan of {DIGEST} is 30d old (at most 7d)",
    ),
    "severity-threshold": Failing(
        "- {rule: severity-threshold, severity: critical}",
        subject(registry=image_facts(), evidence=CRITICAL_AND_LOW),
        "1 vulnerabilities at or above critical: CVE-2024-0001",
    ),
    "no-new-vulnerabilities": Failing(
        "- {rule: no-new-vulnerabilities, severities: [critical]}",
        subject(registry=image_facts(), evidence=CRITICAL_AND_LOW, deployed=deployed_with()),
        "1 critical vulnerabilities the deployed image does not have: CVE-2024-0001",
    ),
    "platform-available": Failing(
        "- rule: platform-available",
        subject(registry=image_facts(platforms=[AMD64]), platforms=[ARM64]),
        "no manifest for linux/arm64 (the image has linux/amd64)",
    ),
}
JUDGING = sorted(FAILING)


def test_every_judging_rule_has_a_failing_case() -> None:
    assert set(FAILING) == set(RULE_NAMES) - {"pin-tags"}


@pytest.mark.parametrize("rule", JUDGING)
def test_enforce_mode_violation_denies_the_object(rule: str) -> None:
    case = FAILING[rule]
    violation = only(judge(policy(case.rules), case.subject).violations)
    assert (violation.rule, violation.mode, violation.reason) == (rule, Mode.ENFORCE, case.reason)

    decision = admit(policy(case.rules), case.subject)
    assert not decision.allowed
    assert decision.code == HTTPStatus.FORBIDDEN
    assert decision.message == (
        "imagegate denied Pod shop/web: 1 policy violation: " + violation.describe()
    )
    assert decision.records == ()


@pytest.mark.parametrize("rule", JUDGING)
def test_audit_mode_violation_admits_with_a_warning(rule: str) -> None:
    case = FAILING[rule]
    audited = policy(case.rules, mode="audit")
    violation = only(judge(audited, case.subject).violations)
    assert (violation.rule, violation.mode, violation.reason) == (rule, Mode.AUDIT, case.reason)

    decision = admit(audited, case.subject)
    assert decision.allowed
    assert decision.violations == (violation,)
    # A warning past 256 characters loses the reason first, then the end of the fix.
    full = f"imagegate (audit): {violation.describe()}"
    short = f"imagegate (audit): {violation.describe(with_reason=False)}"
    expected = full if len(full) <= 256 else short if len(short) <= 256 else short[:255] + "…"
    assert decision.warnings == (expected,)
    assert expected.startswith(
        f"imagegate (audit): [test-policy/{rule}] container 'app' image "
        f"'{case.subject.container.image}'"
    )


@pytest.mark.parametrize("rule", JUDGING)
def test_an_exception_by_image_waives_the_rule(rule: str) -> None:
    case = FAILING[rule]
    reference = case.subject.container.reference
    assert reference is not None
    exceptions = f"""
    - images: ["{reference.repository}"]
      reason: vendor image, tracked in SEC-1234
    """
    excused = policy(case.rules, exceptions=exceptions)
    evaluation = judge(excused, case.subject)
    assert evaluation.violations == ()
    [excepted] = evaluation.excepted
    assert excepted.reason == "vendor image, tracked in SEC-1234"
    assert (excepted.violation.rule, excepted.violation.reason) == (rule, case.reason)

    decision = admit(excused, case.subject)
    assert decision.allowed
    assert decision.warnings == ()
    assert decision.excepted == evaluation.excepted


@pytest.mark.parametrize("rule", JUDGING)
def test_an_exception_by_namespace_waives_the_rule(rule: str) -> None:
    case = FAILING[rule]
    excused = policy(case.rules, exceptions="- {namespaces: ['sh*'], reason: shop is legacy}")
    evaluation = judge(excused, case.subject)
    assert evaluation.violations == ()
    assert [e.reason for e in evaluation.excepted] == ["shop is legacy"]


@pytest.mark.parametrize("rule", JUDGING)
def test_an_expired_exception_no_longer_waives_the_rule(rule: str) -> None:
    case = FAILING[rule]
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    exceptions = f"- {{namespaces: [shop], reason: until the migration, expires: {yesterday}}}"
    evaluation = judge(policy(case.rules, exceptions=exceptions), case.subject)
    assert [v.reason for v in evaluation.violations] == [case.reason]
    assert evaluation.excepted == ()


def test_an_exception_lasts_through_its_expiry_day() -> None:
    case = FAILING["digest-pinned"]
    exceptions = f"- {{namespaces: [shop], reason: r, expires: {TODAY.isoformat()}}}"
    evaluation = judge(policy(case.rules, exceptions=exceptions), case.subject)
    assert evaluation.violations == ()
    assert len(evaluation.excepted) == 1


def test_an_exception_naming_images_and_namespaces_needs_both() -> None:
    case = FAILING["digest-pinned"]
    exceptions = f"- {{images: ['{REPOSITORY}'], namespaces: [payments], reason: r}}"
    evaluation = judge(policy(case.rules, exceptions=exceptions), case.subject)
    assert len(evaluation.violations) == 1  # the image matches, the namespace does not


def test_an_exception_by_image_matches_repository_patterns_not_tags() -> None:
    case = FAILING["digest-pinned"]
    by_tag = policy(case.rules, exceptions=f"- {{images: ['{TAGGED}'], reason: r}}")
    assert len(judge(by_tag, case.subject).violations) == 1
    by_pattern = policy(case.rules, exceptions="- {images: ['ghcr.io/acme/*'], reason: r}")
    assert judge(by_pattern, case.subject).violations == ()


def test_the_first_exception_that_covers_gives_the_reason() -> None:
    case = FAILING["digest-pinned"]
    exceptions = """
    - {images: ["registry.example.com/**"], reason: not this one}
    - {namespaces: [shop], reason: this one}
    - {images: ["ghcr.io/**"], reason: nor this one}
    """
    evaluation = judge(policy(case.rules, exceptions=exceptions), case.subject)
    assert [e.reason for e in evaluation.excepted] == ["this one"]


def test_an_exception_waives_every_rule_of_its_policy_only() -> None:
    both = policy(
        "- rule: digest-pinned\n- rule: no-latest",
        exceptions="- {namespaces: [shop], reason: r}",
    )
    other = policy("- rule: digest-pinned", name="other")
    evaluation = judge([both, other], subject(f"{REPOSITORY}:latest"))
    assert [(v.policy, v.rule) for v in evaluation.violations] == [("other", "digest-pinned")]
    assert [e.violation.rule for e in evaluation.excepted] == ["digest-pinned", "no-latest"]


# --- facts that cannot be looked up ----------------------------------------------


@dataclass(frozen=True)
class Unchecked:
    """A rule and a subject whose needed facts are unavailable."""

    rules: str
    subject: ImageSubject
    reason: str


UNCHECKED = {
    "required-labels": Unchecked(
        "- {rule: required-labels, labels: {team: null}}",
        subject(registry=Unavailable(OUTAGE)),
        f"labels cannot be read: {OUTAGE}",
    ),
    "trusted-builder": Unchecked(
        f"- {{rule: trusted-builder, builders: ['{TRUSTED}']}}",
        subject(registry=Unavailable(OUTAGE)),
        f"provenance cannot be read: {OUTAGE}",
    ),
    "known-commit": Unchecked(
        "- rule: known-commit",
        subject(registry=Unavailable(OUTAGE)),
        f"labels and provenance cannot be read: {OUTAGE}",
    ),
    "scanned": Unchecked(
        "- rule: scanned",
        subject(TAGGED, registry=Unavailable(OUTAGE)),
        f"the image's digest cannot be resolved: {OUTAGE}",
    ),
    "severity-threshold": Unchecked(
        "- {rule: severity-threshold, severity: high}",
        subject(TAGGED, registry=Unavailable(OUTAGE)),
        f"the image's digest cannot be resolved: {OUTAGE}",
    ),
    "no-new-vulnerabilities": Unchecked(
        "- rule: no-new-vulnerabilities",
        subject(TAGGED, registry=Unavailable(OUTAGE), deployed=Deployed((), ())),
        f"the image's digest cannot be resolved: {OUTAGE}",
    ),
    "platform-available": Unchecked(
        "- rule: platform-available",
        subject(registry=Unavailable(OUTAGE)),
        f"the image's platforms cannot be read: {OUTAGE}",
    ),
}
EVIDENCE_OUTAGE = "evidence store did not answer within 2.0s"
UNCHECKED_EVIDENCE = {
    "scanned": Unchecked(
        "- rule: scanned",
        subject(evidence=Unavailable(EVIDENCE_OUTAGE)),
        f"evidence cannot be read: {EVIDENCE_OUTAGE}",
    ),
    "severity-threshold": Unchecked(
        "- {rule: severity-threshold, severity: high}",
        subject(evidence=Unavailable(EVIDENCE_OUTAGE)),
        f"evidence cannot be read: {EVIDENCE_OUTAGE}",
    ),
    "no-new-vulnerabilities (new image)": Unchecked(
        "- rule: no-new-vulnerabilities",
        subject(evidence=Unavailable(EVIDENCE_OUTAGE), deployed=Deployed((), ())),
        f"evidence cannot be read: {EVIDENCE_OUTAGE}",
    ),
    "no-new-vulnerabilities (deployed image)": Unchecked(
        "- rule: no-new-vulnerabilities",
        subject(evidence=scanned(), deployed=Unavailable("record store: database is locked")),
        "the deployed image cannot be looked up: record store: database is locked",
    ),
}
ALL_UNCHECKED = {**UNCHECKED, **UNCHECKED_EVIDENCE}


def test_every_rule_that_needs_facts_has_an_unchecked_case() -> None:
    needing = {rule_name(rules) for rules, needs in NEEDS if needs}
    assert set(UNCHECKED) == needing - {"pin-tags"}


@pytest.mark.parametrize("case", ALL_UNCHECKED.values(), ids=list(ALL_UNCHECKED))
def test_unavailable_facts_deny_by_default(case: Unchecked) -> None:
    violation = only(judge(policy(case.rules), case.subject).violations)
    assert violation.mode is Mode.ENFORCE
    assert violation.reason == f"could not be checked: {case.reason}"
    assert violation.fix == RETRY

    decision = admit(policy(case.rules, facts_unavailable="deny"), case.subject)
    assert not decision.allowed
    assert f"could not be checked: {case.reason}; fix: {RETRY}" in (decision.message or "")


@pytest.mark.parametrize("case", ALL_UNCHECKED.values(), ids=list(ALL_UNCHECKED))
def test_unavailable_facts_only_warn_when_the_policy_says_so(case: Unchecked) -> None:
    lenient = policy(case.rules, facts_unavailable="warn")
    violation = only(judge(lenient, case.subject).violations)
    assert violation.mode is Mode.AUDIT
    assert violation.reason == f"could not be checked: {case.reason}"

    decision = admit(lenient, case.subject)
    assert decision.allowed
    assert len(decision.warnings) == 1
    assert decision.warnings[0].startswith("imagegate (audit): [test-policy/")


@pytest.mark.parametrize("facts_unavailable", ["deny", "warn"])
def test_unavailable_facts_in_an_audit_policy_only_warn(facts_unavailable: str) -> None:
    case = UNCHECKED["platform-available"]
    audited = policy(case.rules, mode="audit", facts_unavailable=facts_unavailable)
    assert only(judge(audited, case.subject).violations).mode is Mode.AUDIT


def test_facts_unavailable_warn_does_not_soften_real_findings() -> None:
    case = FAILING["platform-available"]
    violation = only(judge(policy(case.rules, facts_unavailable="warn"), case.subject).violations)
    assert violation.mode is Mode.ENFORCE


@pytest.mark.parametrize(
    "rules",
    [
        "- rule: digest-pinned",
        "- rule: no-latest",
        "- {rule: allowed-registries, patterns: ['ghcr.io/**']}",
    ],
)
def test_rules_without_facts_are_not_affected_by_an_outage(rules: str) -> None:
    judged = subject(registry=Unavailable(OUTAGE), evidence=Unavailable(EVIDENCE_OUTAGE))
    assert passes(rules, judged)


@pytest.mark.parametrize(
    ("rules", "judged"),
    [
        (
            "- {rule: required-labels, labels: {team: null}}",
            subject(registry=Unavailable(OUTAGE), evidence=Evidence(labels={"team": "shop"})),
        ),
        (
            f"- {{rule: trusted-builder, builders: ['{TRUSTED}']}}",
            subject(
                registry=Unavailable(OUTAGE),
                evidence=Evidence(provenance=Provenance(builder_id=ACME_BUILDER)),
            ),
        ),
        (
            "- rule: known-commit",
            subject(
                registry=Unavailable(OUTAGE),
                evidence=Evidence(provenance=Provenance(commit=COMMIT)),
            ),
        ),
        (
            "- rule: scanned",
            subject(registry=Unavailable(OUTAGE), evidence=scanned()),  # pinned: digest known
        ),
    ],
    ids=["required-labels", "trusted-builder", "known-commit", "scanned"],
)
def test_evidence_stands_in_for_an_unreachable_registry(rules: str, judged: ImageSubject) -> None:
    assert passes(rules, judged)


EVIDENCE_DOWN = Unavailable(EVIDENCE_OUTAGE)


@pytest.mark.parametrize(
    "rules",
    [
        "- {rule: required-labels, labels: {team: null}}",
        f"- {{rule: trusted-builder, builders: ['{TRUSTED}']}}",
        "- rule: known-commit",
    ],
    ids=["required-labels", "trusted-builder", "known-commit"],
)
def test_an_evidence_outage_makes_label_and_provenance_rules_unknown(rules: str) -> None:
    judged = subject(registry=image_facts(), evidence=EVIDENCE_DOWN)
    violation = only(judge(policy(rules, facts_unavailable="warn"), judged).violations)
    assert violation.reason.startswith("could not be checked: ")
    assert violation.mode is Mode.AUDIT


def test_now_is_the_subjects_clock() -> None:
    # Rules judge time (scan age, ignore and exception expiry) by the subject's now.
    later = subject(evidence=scanned(age=timedelta(days=1)), now=NOW + timedelta(days=7))
    reason, _ = failure(SCANNED, later)
    assert reason == f"the newest scan of {DIGEST} is 8d old (at most 7d)"
