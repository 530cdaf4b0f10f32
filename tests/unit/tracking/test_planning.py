"""The pure decision of what one recording writes, given the deployed record of its key."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from imagegate.tracking import (
    Artifact,
    ArtifactMismatchError,
    DeploymentKey,
    DeploymentRecord,
    Kind,
    Outcome,
    Plan,
    Platform,
    RecordRequest,
    Status,
    plan_recording,
)

KEY = DeploymentKey(
    environment="k8s-east",
    logical_environment="production",
    deployment_name="api-server",
    kind=Kind.CONTAINER_IMAGE,
)
REPOSITORY = "docker.io/acme/api-server"
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
AMD64 = Platform()
ACTIVE_ID = 7
SINCE = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def artifact(digest: str = DIGEST_A, tag: str | None = "v1", repo: str = REPOSITORY) -> Artifact:
    return Artifact(repository=repo, digest=digest, tag=tag)


def deployed(
    what: Artifact, platform: Platform | None = AMD64, key: DeploymentKey = KEY
) -> DeploymentRecord:
    return DeploymentRecord(
        id=ACTIVE_ID,
        key=key,
        artifact=what,
        platform=platform,
        status=Status.DEPLOYED,
        created_at=SINCE,
        updated_at=SINCE,
        last_seen_at=SINCE,
    )


def deploy(
    what: Artifact, platform: Platform | None = AMD64, key: DeploymentKey = KEY
) -> RecordRequest:
    return RecordRequest(key=key, artifact=what, platform=platform)


def decommission(what: Artifact | None = None) -> RecordRequest:
    return RecordRequest(key=KEY, artifact=what, platform=None, status=Status.DECOMMISSIONED)


CREATE = Plan(outcome=Outcome.CREATED, insert=True)
REFRESH = Plan(outcome=Outcome.REFRESHED, insert=False, refresh_id=ACTIVE_ID)
SUPERSEDE = Plan(
    outcome=Outcome.SUPERSEDED,
    insert=True,
    retire_id=ACTIVE_ID,
    retire_status=Status.SUPERSEDED,
)
DECOMMISSION = Plan(
    outcome=Outcome.DECOMMISSIONED,
    insert=False,
    retire_id=ACTIVE_ID,
    retire_status=Status.DECOMMISSIONED,
)
UNCHANGED = Plan(outcome=Outcome.UNCHANGED, insert=False)

HELM_KEY = DeploymentKey(
    environment="k8s-east",
    logical_environment="production",
    deployment_name="api-chart",
    kind=Kind.HELM_CHART,
)


@pytest.mark.parametrize(
    ("active", "request_", "expected"),
    [
        pytest.param(None, deploy(artifact()), CREATE, id="nothing-deployed-creates"),
        pytest.param(
            deployed(artifact()), deploy(artifact()), REFRESH, id="same-artifact-refreshes"
        ),
        pytest.param(
            deployed(artifact(tag="v1")),
            deploy(artifact(tag="latest")),
            REFRESH,
            id="other-tag-same-digest-refreshes",
        ),
        pytest.param(
            deployed(artifact(tag="v1")),
            deploy(artifact(tag=None)),
            REFRESH,
            id="no-tag-same-digest-refreshes",
        ),
        pytest.param(
            deployed(artifact(DIGEST_A)),
            deploy(artifact(DIGEST_B)),
            SUPERSEDE,
            id="other-digest-supersedes",
        ),
        pytest.param(
            deployed(artifact(), AMD64),
            deploy(artifact(), Platform(architecture="arm64")),
            SUPERSEDE,
            id="other-architecture-supersedes",
        ),
        pytest.param(
            deployed(artifact(), Platform(architecture="arm64")),
            deploy(artifact(), Platform(architecture="arm64", variant="v8")),
            SUPERSEDE,
            id="other-variant-supersedes",
        ),
        pytest.param(
            deployed(artifact(), AMD64),
            deploy(artifact(), None),
            SUPERSEDE,
            id="platform-dropped-supersedes",
        ),
        pytest.param(
            deployed(artifact(repo=REPOSITORY)),
            deploy(artifact(repo="ghcr.io/acme/api-server")),
            SUPERSEDE,
            id="other-repository-same-digest-supersedes",
        ),
        pytest.param(
            deployed(artifact(), None, HELM_KEY),
            deploy(artifact(), None, HELM_KEY),
            REFRESH,
            id="helm-chart-without-platform-refreshes",
        ),
        pytest.param(
            deployed(artifact()), decommission(), DECOMMISSION, id="decommission-whatever-runs"
        ),
        pytest.param(
            deployed(artifact(tag="v1")),
            decommission(artifact(tag="other")),
            DECOMMISSION,
            id="decommission-same-digest",
        ),
        pytest.param(None, decommission(), UNCHANGED, id="decommission-nothing-is-unchanged"),
        pytest.param(
            None,
            decommission(artifact()),
            UNCHANGED,
            id="decommission-named-artifact-nothing-deployed",
        ),
    ],
)
def test_plan_recording(
    active: DeploymentRecord | None, request_: RecordRequest, expected: Plan
) -> None:
    assert plan_recording(active=active, request=request_) == expected


def test_decommission_of_other_artifact_is_refused() -> None:
    requested = artifact(DIGEST_B, tag="v2")
    running = artifact(DIGEST_A, tag="v1")
    expected = (
        f"cannot decommission {REPOSITORY}:v2@{DIGEST_B}: "
        f"the deployed artifact under this key is {REPOSITORY}:v1@{DIGEST_A}"
    )
    with pytest.raises(ArtifactMismatchError, match=re.escape(expected)) as caught:
        plan_recording(active=deployed(running), request=decommission(requested))
    assert caught.value.code == "artifact_mismatch"
    assert caught.value.field == "reference"


def test_superseded_is_not_a_status_to_record() -> None:
    request = RecordRequest(key=KEY, artifact=artifact(), platform=AMD64, status=Status.SUPERSEDED)
    with pytest.raises(ValueError, match="asks for deployed or decommissioned, not superseded"):
        plan_recording(active=None, request=request)


@pytest.mark.parametrize(
    ("other", "platform", "same"),
    [
        pytest.param(artifact(tag="other"), AMD64, True, id="tag-is-not-identity"),
        pytest.param(artifact(DIGEST_B), AMD64, False, id="digest"),
        pytest.param(artifact(repo="quay.io/acme/api-server"), AMD64, False, id="repository"),
        pytest.param(artifact(), Platform(os="windows"), False, id="os"),
    ],
)
def test_is_same_deployment(other: Artifact, platform: Platform, same: bool) -> None:
    assert deployed(artifact()).is_same_deployment(other, platform) is same


def test_decommission_of_same_digest_in_another_repository_is_refused() -> None:
    running = artifact(DIGEST_A)
    requested = artifact(DIGEST_A, repo="docker.io/other/thing")
    with pytest.raises(ArtifactMismatchError, match=re.escape("docker.io/other/thing")):
        plan_recording(active=deployed(running), request=decommission(requested))
