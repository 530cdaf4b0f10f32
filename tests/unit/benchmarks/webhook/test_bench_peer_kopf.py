from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from benchmarks.webhook.peer_kopf import Rules, Scan, glob_pattern, image_violations, pod_images

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DIGEST = "sha256:" + "ab" * 32


def rules(**scans: Scan) -> Rules:
    return Rules(
        registries=(glob_pattern("ghcr.io/acme/**"), glob_pattern("docker.io/library/*")),
        max_age=timedelta(days=7),
        severity=4,  # critical
        scans={DIGEST: Scan(scanned_at=NOW - timedelta(days=1), severities=(1, 3)), **scans},
    )


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("ghcr.io/acme/**", "ghcr.io/acme/team/web", True),
        ("ghcr.io/acme/**", "ghcr.io/acme", False),
        ("ghcr.io/acme/*", "ghcr.io/acme/team/web", False),
        ("team-?", "team-a", True),
        ("docker.io/library/nginx", "docker.io/library/nginx-exporter", False),
        ("a.b/*", "aXb/c", False),
    ],
)
def test_globs_match_as_imagegate_documents_them(pattern: str, value: str, matches: bool) -> None:
    assert bool(glob_pattern(pattern).fullmatch(value)) is matches


def test_a_pinned_allowed_scanned_image_passes() -> None:
    assert image_violations(f"ghcr.io/acme/web:1.4@{DIGEST}", rules(), NOW) == []
    assert image_violations(f"nginx@{DIGEST}", rules(), NOW) == []


def test_every_rule_is_checked() -> None:
    old = "sha256:" + "cd" * 32
    critical = "sha256:" + "ef" * 32
    found = rules(
        **{
            old: Scan(scanned_at=NOW - timedelta(days=8), severities=()),
            critical: Scan(scanned_at=NOW, severities=(0, 4)),
        }
    )

    assert image_violations("ghcr.io/acme/web:1.4", found, NOW) == [
        "image 'ghcr.io/acme/web:1.4' is not pinned by digest",
        "no vulnerability scan was posted for ghcr.io/acme/web:1.4",
    ]
    assert image_violations(f"quay.io/x/web:latest@{old}", found, NOW) == [
        f"image 'quay.io/x/web:latest@{old}' uses the latest tag",
        "repository quay.io/x/web is not in the allowed registries",
        f"the newest scan of {old} is too old",
    ]
    assert image_violations(f"ghcr.io/acme/web@{critical}", found, NOW) == [
        f"{critical} has a vulnerability at or above critical"
    ]


def test_pod_images_reads_every_container_list_of_each_kind() -> None:
    pod_spec = {
        "initContainers": [{"image": "a"}],
        "containers": [{"image": "b"}, {"image": "c"}],
        "ephemeralContainers": [{"image": "d"}],
    }

    assert list(pod_images("Pod", {"spec": pod_spec})) == ["a", "b", "c", "d"]
    assert list(pod_images("Deployment", {"spec": {"template": {"spec": pod_spec}}})) == [
        "a",
        "b",
        "c",
        "d",
    ]
    cron_job = {"spec": {"jobTemplate": {"spec": {"template": {"spec": pod_spec}}}}}
    assert list(pod_images("CronJob", cron_job)) == ["a", "b", "c", "d"]
