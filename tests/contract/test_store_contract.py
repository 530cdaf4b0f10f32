"""The store contract, exercised through ``Tracker``: every store must pass these tests."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pytest

from imagegate.auth import ApiKeyStore, Scope, issue_key, secret_matches, split_token
from imagegate.errors import RefusedError
from imagegate.tracking import (
    DEFAULT_ENVIRONMENT,
    AmbiguousDeploymentError,
    Artifact,
    ArtifactMismatchError,
    DeploymentKey,
    DeploymentQuery,
    DeploymentRecord,
    EnvironmentExistsError,
    InvalidFieldError,
    InvalidNameError,
    InvalidParameterError,
    Kind,
    Origin,
    Outcome,
    Platform,
    QueuedRequest,
    RecordRequest,
    Status,
    Store,
    Tracker,
    TrackerSettings,
    UnknownEnvironmentError,
)

API = "docker.io/acme/api-server"
V1 = Artifact(repository=API, digest="sha256:" + "1" * 64, tag="v1")
V2 = Artifact(repository=API, digest="sha256:" + "2" * 64, tag="v2")
AMD64 = Platform()


def digest_of(number: int) -> str:
    return f"sha256:{number:064x}"


def key(
    environment: str = DEFAULT_ENVIRONMENT,
    logical_environment: str = "production",
    name: str = "api-server",
    kind: Kind = Kind.CONTAINER_IMAGE,
) -> DeploymentKey:
    return DeploymentKey(
        environment=environment,
        logical_environment=logical_environment,
        deployment_name=name,
        kind=kind,
    )


def deploy(
    where: DeploymentKey, artifact: Artifact = V1, platform: Platform | None = AMD64
) -> RecordRequest:
    return RecordRequest(key=where, artifact=artifact, platform=platform)


def decommission(where: DeploymentKey, artifact: Artifact | None = None) -> RecordRequest:
    return RecordRequest(key=where, artifact=artifact, platform=None, status=Status.DECOMMISSIONED)


async def collect(tracker: Tracker, query: DeploymentQuery) -> list[DeploymentRecord]:
    """Every record matching ``query``, following pages to the end."""
    records: list[DeploymentRecord] = []
    after_id: int | None = None
    while True:
        page = await tracker.list_deployments(dataclasses.replace(query, after_id=after_id))
        records.extend(page.records)
        if page.next_after_id is None:
            return records
        after_id = page.next_after_id


def present(record: DeploymentRecord | None) -> DeploymentRecord:
    assert record is not None
    return record


# --- the workflow of the issue ------------------------------------------------------


async def test_full_workflow(tracker: Tracker) -> None:
    east = await tracker.create_environment("k8s-east", description="east cluster")
    assert (east.name, east.description) == ("k8s-east", "east cluster")
    await tracker.create_environment("k8s-west")
    staging = key("k8s-east", "staging")
    production = key("k8s-east", "production")

    in_staging = await tracker.record(deploy(staging, V1))
    assert in_staging.outcome is Outcome.CREATED
    staged = present(in_staging.record)
    assert (staged.key, staged.artifact, staged.platform) == (staging, V1, AMD64)
    assert staged.status is Status.DEPLOYED
    assert staged.superseded_by is None
    assert staged.created_at == staged.updated_at == staged.last_seen_at

    promoted = await tracker.record(deploy(production, V1))
    assert promoted.outcome is Outcome.CREATED
    v1_prod = present(promoted.record)
    assert v1_prod.id != staged.id

    upgraded = await tracker.record(deploy(production, V2))
    assert upgraded.outcome is Outcome.SUPERSEDED
    v2_prod = present(upgraded.record)
    assert v2_prod.artifact == V2
    assert upgraded.superseded is not None
    assert upgraded.superseded.id == v1_prod.id
    assert upgraded.superseded.status is Status.SUPERSEDED
    assert upgraded.superseded.superseded_by == v2_prod.id
    assert upgraded.superseded.updated_at > v1_prod.updated_at

    still_staged = await collect(tracker, DeploymentQuery(environment="k8s-east"))
    assert [(r.id, r.key.logical_environment) for r in still_staged] == [
        (v2_prod.id, "production"),
        (staged.id, "staging"),
    ]
    active_prod = await collect(tracker, DeploymentQuery(logical_environment="production"))
    assert [(r.id, r.artifact.digest) for r in active_prod] == [(v2_prod.id, V2.digest)]

    history = await collect(
        tracker, DeploymentQuery(logical_environment="production", history=True)
    )
    assert [(r.id, r.artifact.tag, r.status) for r in history] == [
        (v2_prod.id, "v2", Status.DEPLOYED),
        (v1_prod.id, "v1", Status.SUPERSEDED),
    ]
    assert history[1].superseded_by == v2_prod.id

    everything_before = await collect(tracker, DeploymentQuery(history=True))
    again = await tracker.record(deploy(production, V2))
    assert again.outcome is Outcome.REFRESHED
    refreshed = present(again.record)
    assert refreshed.id == v2_prod.id
    assert refreshed.last_seen_at > v2_prod.last_seen_at
    assert (refreshed.created_at, refreshed.updated_at) == (v2_prod.created_at, v2_prod.updated_at)
    assert again.superseded is None
    everything_after = await collect(tracker, DeploymentQuery(history=True))
    assert len(everything_after) == len(everything_before) == 3
    expected_after = [
        dataclasses.replace(r, last_seen_at=refreshed.last_seen_at) if r.id == v2_prod.id else r
        for r in everything_before
    ]
    assert everything_after == expected_after

    gone = await tracker.record(decommission(production))
    assert gone.outcome is Outcome.DECOMMISSIONED
    decommissioned = present(gone.record)
    assert (decommissioned.id, decommissioned.status) == (v2_prod.id, Status.DECOMMISSIONED)
    assert decommissioned.updated_at > refreshed.updated_at
    assert decommissioned.superseded_by is None
    assert await collect(tracker, DeploymentQuery(logical_environment="production")) == []
    history = await collect(
        tracker, DeploymentQuery(logical_environment="production", history=True)
    )
    assert [(r.id, r.status) for r in history] == [
        (v2_prod.id, Status.DECOMMISSIONED),
        (v1_prod.id, Status.SUPERSEDED),
    ]

    in_west = await tracker.record(deploy(key("k8s-west", "production"), V1))
    assert in_west.outcome is Outcome.CREATED
    assert present(in_west.record).key.environment == "k8s-west"


async def test_decommission_of_nothing_is_unchanged(tracker: Tracker) -> None:
    result = await tracker.record(decommission(key()))
    assert result.outcome is Outcome.UNCHANGED
    assert result.record is None
    assert await collect(tracker, DeploymentQuery(history=True)) == []


async def test_decommission_of_other_artifact_changes_nothing(tracker: Tracker) -> None:
    await tracker.record(deploy(key(), V1))
    with pytest.raises(
        ArtifactMismatchError, match=f"cannot decommission {re.escape(V2.reference)}"
    ):
        await tracker.record(decommission(key(), V2))
    [active] = await collect(tracker, DeploymentQuery())
    assert (active.artifact, active.status) == (V1, Status.DEPLOYED)


async def test_retagging_the_same_digest_is_a_refresh(tracker: Tracker) -> None:
    first = present((await tracker.record(deploy(key(), V1))).record)
    retagged = dataclasses.replace(V1, tag="latest")
    again = await tracker.record(deploy(key(), retagged))
    assert again.outcome is Outcome.REFRESHED
    refreshed = present(again.record)
    assert (refreshed.id, refreshed.artifact.tag) == (first.id, "v1")
    assert refreshed.last_seen_at > first.last_seen_at
    assert len(await collect(tracker, DeploymentQuery(history=True))) == 1


async def test_superseding_points_from_old_to_new(tracker: Tracker) -> None:
    first = present((await tracker.record(deploy(key(), V1))).record)
    second = present((await tracker.record(deploy(key(), V2))).record)
    third = present((await tracker.record(deploy(key(), V1))).record)
    history = await collect(tracker, DeploymentQuery(history=True))
    assert [(r.id, r.status, r.superseded_by) for r in history] == [
        (third.id, Status.DEPLOYED, None),
        (second.id, Status.SUPERSEDED, third.id),
        (first.id, Status.SUPERSEDED, second.id),
    ]


# --- environments -------------------------------------------------------------------


async def test_unknown_environment_is_refused(tracker: Tracker) -> None:
    with pytest.raises(UnknownEnvironmentError) as caught:
        await tracker.record(deploy(key("k8s-eats")))
    error = caught.value
    assert error.code == "unknown_environment"
    assert error.field == "environment"
    assert error.message.startswith("environment 'k8s-eats' does not exist; create it first")
    assert "imagegate environment create --name k8s-eats" in error.message
    assert "POST /api/v1/environments" in error.message
    assert await tracker.get_environment("k8s-eats") is None
    assert await collect(tracker, DeploymentQuery(history=True)) == []


async def test_unknown_environment_is_created_when_allowed(store: Store) -> None:
    tracker = Tracker(store, settings=TrackerSettings(auto_create_environments=True))
    result = await tracker.record(deploy(key("k8s-new")))
    assert result.outcome is Outcome.CREATED
    created = await tracker.get_environment("k8s-new")
    assert created is not None
    assert (created.name, created.description) == ("k8s-new", "")
    assert [e.name for e in await tracker.list_environments()] == [DEFAULT_ENVIRONMENT, "k8s-new"]
    again = await tracker.record(deploy(key("k8s-new"), V2))
    assert again.outcome is Outcome.SUPERSEDED


async def test_default_environments_exist(tracker: Tracker) -> None:
    assert DEFAULT_ENVIRONMENT == "deployed"
    environments = await tracker.list_environments()
    assert [e.name for e in environments] == ["deployed"]
    default = await tracker.get_environment("deployed")
    assert default is not None
    assert default.created_at.tzinfo is not None
    logical = await tracker.list_logical_environments()
    assert [e.name for e in logical] == ["development", "production", "staging"]


async def test_custom_logical_environment_is_created_on_first_use(tracker: Tracker) -> None:
    await tracker.record(deploy(key(logical_environment="qa-2")))
    names = [e.name for e in await tracker.list_logical_environments()]
    assert names == ["development", "production", "qa-2", "staging"]
    await tracker.record(deploy(key(logical_environment="qa-2", name="other")))
    assert len(await tracker.list_logical_environments()) == 4


async def test_environments_are_listed_by_name(tracker: Tracker) -> None:
    for name in ("zeta", "alpha.cluster", "k8s-east"):
        await tracker.create_environment(name)
    names = [e.name for e in await tracker.list_environments()]
    assert names == ["alpha.cluster", "deployed", "k8s-east", "zeta"]


@pytest.mark.parametrize("name", ["k8s-east", DEFAULT_ENVIRONMENT])
async def test_duplicate_environment_is_refused(tracker: Tracker, name: str) -> None:
    if name != DEFAULT_ENVIRONMENT:
        await tracker.create_environment(name, description="first")
    with pytest.raises(EnvironmentExistsError, match=f"environment '{name}' already exists"):
        await tracker.create_environment(name, description="second")
    existing = await tracker.get_environment(name)
    assert existing is not None
    assert existing.description != "second"


# --- validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "field", "code"),
    [
        pytest.param(
            deploy(key("K8s-East")), "environment", "invalid_name", id="upper-case-environment"
        ),
        pytest.param(
            deploy(key("east-")), "environment", "invalid_name", id="environment-trailing-dash"
        ),
        pytest.param(
            deploy(key("e" * 64)), "environment", "invalid_name", id="environment-too-long"
        ),
        pytest.param(
            deploy(key(logical_environment="")),
            "logical_environment",
            "invalid_name",
            id="empty-lenv",
        ),
        pytest.param(
            deploy(key(logical_environment="prod!")),
            "logical_environment",
            "invalid_name",
            id="bad-lenv",
        ),
        pytest.param(
            deploy(key(name="-api")), "deployment_name", "invalid_name", id="name-leading-dash"
        ),
        pytest.param(
            deploy(key(name="api server")), "deployment_name", "invalid_name", id="name-with-space"
        ),
        pytest.param(
            deploy(key(name="a" * 254)), "deployment_name", "invalid_name", id="name-too-long"
        ),
        pytest.param(
            RecordRequest(key=key(), artifact=V1, platform=AMD64, status=Status.SUPERSEDED),
            "status",
            "invalid_field",
            id="status-superseded",
        ),
        pytest.param(
            RecordRequest(key=key(), artifact=None, platform=AMD64),
            "reference",
            "invalid_field",
            id="no-artifact",
        ),
    ],
)
async def test_invalid_record_request_is_refused(
    tracker: Tracker, request_: RecordRequest, field: str, code: str
) -> None:
    with pytest.raises(RefusedError) as caught:
        await tracker.record(request_)
    assert caught.value.field == field
    assert caught.value.code == code
    assert await collect(tracker, DeploymentQuery(history=True)) == []


async def test_superseded_status_message_says_what_to_do(tracker: Tracker) -> None:
    request = RecordRequest(key=key(), artifact=V1, platform=AMD64, status=Status.SUPERSEDED)
    with pytest.raises(InvalidFieldError, match="record the new artifact instead"):
        await tracker.record(request)


@pytest.mark.parametrize(
    ("name", "description", "field"),
    [
        pytest.param("Bad Name", "", "name", id="bad-name"),
        pytest.param("", "", "name", id="empty-name"),
        pytest.param("ok", "x" * 1025, "description", id="description-too-long"),
    ],
)
async def test_invalid_environment_is_refused(
    tracker: Tracker, name: str, description: str, field: str
) -> None:
    with pytest.raises(InvalidNameError) as caught:
        await tracker.create_environment(name, description=description)
    assert caught.value.field == field
    assert [e.name for e in await tracker.list_environments()] == [DEFAULT_ENVIRONMENT]


@pytest.mark.parametrize("limit", [0, -1, 1001])
async def test_page_size_out_of_range_is_refused(tracker: Tracker, limit: int) -> None:
    with pytest.raises(InvalidParameterError, match="limit must be 1 to 1000") as caught:
        await tracker.list_deployments(DeploymentQuery(limit=limit))
    assert caught.value.field == "limit"


# --- default deployment names -------------------------------------------------------


async def default_name(tracker: Tracker, environment: str = DEFAULT_ENVIRONMENT) -> str:
    return await tracker.default_deployment_name(
        environment=environment,
        logical_environment="production",
        kind=Kind.CONTAINER_IMAGE,
        repository=API,
    )


async def test_default_deployment_name_is_the_repository(tracker: Tracker) -> None:
    assert await default_name(tracker) == API
    await tracker.record(deploy(key(name=API), V1))
    assert await default_name(tracker) == API


async def test_default_deployment_name_is_ambiguous_beside_other_names(tracker: Tracker) -> None:
    await tracker.record(deploy(key(name=API), V1))
    await tracker.record(deploy(key(name="api-canary"), V2))
    await tracker.record(deploy(key(name="api-blue"), V2))
    with pytest.raises(AmbiguousDeploymentError) as caught:
        await default_name(tracker)
    error = caught.value
    assert error.field == "image.name"
    assert error.code == "ambiguous_deployment"
    assert "under deployment name 'api-blue', 'api-canary';" in error.message
    assert f"repository {API!r}" in error.message
    assert "environment 'deployed'" in error.message


async def test_default_deployment_name_ignores_other_places_and_history(tracker: Tracker) -> None:
    await tracker.create_environment("k8s-west")
    await tracker.record(deploy(key("k8s-west", name="api-canary"), V1))
    await tracker.record(deploy(key(logical_environment="staging", name="api-canary"), V1))
    await tracker.record(deploy(key(name="api-canary", kind=Kind.HELM_CHART), V1, None))
    await tracker.record(deploy(key(name="api-old"), V1))
    await tracker.record(decommission(key(name="api-old")))
    assert await default_name(tracker) == API
    with pytest.raises(AmbiguousDeploymentError, match="'api-canary'"):
        await default_name(tracker, "k8s-west")


# --- listing ------------------------------------------------------------------------


async def record_many(tracker: Tracker, count: int, prefix: str = "svc") -> list[int]:
    ids = []
    for number in range(count):
        artifact = Artifact(repository=f"docker.io/acme/{prefix}", digest=digest_of(number))
        result = await tracker.record(deploy(key(name=f"{prefix}-{number:02}"), artifact))
        ids.append(present(result.record).id)
    return ids


async def test_pages_are_newest_first_without_gaps_or_duplicates(tracker: Tracker) -> None:
    ids = await record_many(tracker, 25)
    pages = []
    after_id: int | None = None
    while True:
        page = await tracker.list_deployments(DeploymentQuery(limit=10, after_id=after_id))
        pages.append([r.id for r in page.records])
        if page.next_after_id is None:
            break
        assert page.next_after_id == page.records[-1].id
        after_id = page.next_after_id
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [i for p in pages for i in p] == sorted(ids, reverse=True)


async def test_exactly_full_last_page_has_no_continuation(tracker: Tracker) -> None:
    await record_many(tracker, 20)
    first = await tracker.list_deployments(DeploymentQuery(limit=10))
    assert first.next_after_id is not None
    second = await tracker.list_deployments(DeploymentQuery(limit=10, after_id=first.next_after_id))
    assert len(second.records) == 10
    assert second.next_after_id is None


async def test_pages_are_stable_while_records_are_added(tracker: Tracker) -> None:
    ids = await record_many(tracker, 25)
    seen: list[int] = []
    page = await tracker.list_deployments(DeploymentQuery(limit=10))
    seen += [r.id for r in page.records]
    added = await record_many(tracker, 5, prefix="late")
    while page.next_after_id is not None:
        page = await tracker.list_deployments(
            DeploymentQuery(limit=10, after_id=page.next_after_id)
        )
        seen += [r.id for r in page.records]
        added += await record_many(tracker, 2, prefix=f"later{len(added)}")
    assert seen == sorted(ids, reverse=True)
    assert min(added) > max(ids)
    total = await collect(tracker, DeploymentQuery(limit=7))
    assert len(total) == 25 + len(added)


@pytest.fixture
async def landscape(tracker: Tracker) -> dict[str, int]:
    """Records in several places and states, by label.

    a: east/production/api superseded by b; c: west/production/api;
    d: east/staging/worker; e: east/staging/chart (Helm); f: west/staging/worker, decommissioned.
    """
    await tracker.create_environment("east")
    await tracker.create_environment("west")
    requests = {
        "a": deploy(key("east", "production", "api"), V1),
        "b": deploy(key("east", "production", "api"), V2),
        "c": deploy(key("west", "production", "api"), V1),
        "d": deploy(key("east", "staging", "worker"), V1),
        "e": deploy(key("east", "staging", "chart", Kind.HELM_CHART), V1, None),
        "f": deploy(key("west", "staging", "worker"), V2),
    }
    labels = {}
    for label, request in requests.items():
        labels[label] = present((await tracker.record(request)).record).id
    await tracker.record(decommission(key("west", "staging", "worker")))
    return labels


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(DeploymentQuery(), "bcde", id="active"),
        pytest.param(DeploymentQuery(history=True), "abcdef", id="history"),
        pytest.param(DeploymentQuery(environment="east"), "bde", id="environment"),
        pytest.param(DeploymentQuery(environment="east", history=True), "abde", id="env-history"),
        pytest.param(DeploymentQuery(logical_environment="production"), "bc", id="logical"),
        pytest.param(DeploymentQuery(deployment_name="api", history=True), "abc", id="name"),
        pytest.param(DeploymentQuery(kind=Kind.HELM_CHART), "e", id="kind-helm"),
        pytest.param(DeploymentQuery(kind=Kind.CONTAINER_IMAGE), "bcd", id="kind-image"),
        pytest.param(DeploymentQuery(status=Status.DEPLOYED), "bcde", id="status-deployed"),
        pytest.param(DeploymentQuery(status=Status.SUPERSEDED), "a", id="status-superseded"),
        pytest.param(DeploymentQuery(status=Status.DECOMMISSIONED), "f", id="status-decomm"),
        pytest.param(
            DeploymentQuery(status=Status.SUPERSEDED, history=True), "a", id="status-and-history"
        ),
        pytest.param(DeploymentQuery(environment="west", history=True), "cf", id="west-history"),
        pytest.param(
            DeploymentQuery(
                environment="east", logical_environment="staging", kind=Kind.CONTAINER_IMAGE
            ),
            "d",
            id="combined",
        ),
        pytest.param(DeploymentQuery(environment="nowhere", history=True), "", id="no-match"),
    ],
)
async def test_filters(
    tracker: Tracker, landscape: dict[str, int], query: DeploymentQuery, expected: str
) -> None:
    records = await collect(tracker, query)
    assert [r.id for r in records] == sorted((landscape[c] for c in expected), reverse=True)


async def test_helm_chart_without_platform_round_trips(tracker: Tracker) -> None:
    chart = Artifact(repository="ghcr.io/acme/charts/api", digest=digest_of(7), tag="1.2.3")
    where = key(name="api", kind=Kind.HELM_CHART)
    created = present((await tracker.record(deploy(where, chart, None))).record)
    assert (created.key.kind, created.artifact, created.platform) == (
        Kind.HELM_CHART,
        chart,
        None,
    )
    [listed] = await collect(tracker, DeploymentQuery(kind=Kind.HELM_CHART))
    assert listed == created
    again = await tracker.record(deploy(where, chart, None))
    assert again.outcome is Outcome.REFRESHED


async def test_platform_variant_and_missing_tag_round_trip(tracker: Tracker) -> None:
    arm = Platform(os="linux", architecture="arm", variant="v7")
    untagged = Artifact(repository=API, digest=digest_of(3))
    created = present((await tracker.record(deploy(key(), untagged, arm))).record)
    [listed] = await collect(tracker, DeploymentQuery())
    assert listed == created
    assert (listed.platform, listed.artifact.tag) == (arm, None)
    other_platform = await tracker.record(deploy(key(), untagged, AMD64))
    assert other_platform.outcome is Outcome.SUPERSEDED


# --- API keys -----------------------------------------------------------------------

CREATED_AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


async def test_api_keys_are_stored_listed_and_revoked(store: ApiKeyStore) -> None:
    first = issue_key(name="ci", scopes=frozenset({Scope.WRITE}), now=CREATED_AT)
    second = issue_key(
        name="dashboard",
        scopes=frozenset({Scope.READ, Scope.WRITE}),
        now=CREATED_AT.replace(minute=5),
    )
    await store.add_api_key(second.key)
    await store.add_api_key(first.key)

    assert await store.get_api_key(first.key.key_id) == first.key
    assert await store.get_api_key("000000000000") is None
    assert await store.list_api_keys() == [first.key, second.key]
    stored = await store.get_api_key(second.key.key_id)
    assert stored is not None
    assert secret_matches(stored, split_token(second.token)[1])

    revoked_at = CREATED_AT.replace(hour=13)
    assert await store.revoke_api_key(first.key.key_id, now=revoked_at) is True
    revoked = await store.get_api_key(first.key.key_id)
    assert revoked is not None
    assert revoked.revoked_at == revoked_at
    assert not revoked.active
    assert await store.revoke_api_key(first.key.key_id, now=revoked_at.replace(hour=14)) is False
    revoked_again = await store.get_api_key(first.key.key_id)
    assert revoked_again is not None
    assert revoked_again.revoked_at == revoked_at
    assert await store.revoke_api_key("000000000000", now=revoked_at) is False
    assert [k.active for k in await store.list_api_keys()] == [False, True]


async def test_coalesced_heartbeats_leave_the_same_record(tracker: Tracker) -> None:
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    requests = [
        QueuedRequest(
            sequence=n,
            request=dataclasses.replace(
                deploy(key(), V1), observed_at=start + timedelta(minutes=n)
            ),
        )
        for n in range(1, 8)
    ]
    results = await tracker.record_queued("spool-coalesce", requests)
    assert [r.coalesced for r in results] == [False, True, True, True, True, True, False]
    (record,) = await collect(tracker, DeploymentQuery(history=True))
    assert record.created_at == start + timedelta(minutes=1)
    assert record.last_seen_at == start + timedelta(minutes=7)
    assert await tracker.queue_position("spool-coalesce") == 7


async def test_records_keep_the_origins_that_made_and_ended_them(tracker: Tracker) -> None:
    where = key(name="origins")
    first = await tracker.record(dataclasses.replace(deploy(where), origin=Origin.ADMISSION))
    assert first.record is not None
    assert (first.record.origin, first.record.ended_by) == (Origin.ADMISSION, None)
    second = await tracker.record(dataclasses.replace(deploy(where, V2), origin=Origin.CLUSTER))
    assert second.record is not None
    assert second.superseded is not None
    assert second.record.origin is Origin.CLUSTER
    assert (second.superseded.origin, second.superseded.ended_by) == (
        Origin.ADMISSION,
        Origin.CLUSTER,
    )
    # A heartbeat from elsewhere leaves the record's origin as it was.
    await tracker.record(dataclasses.replace(deploy(where, V2), origin=Origin.API))
    await tracker.record(dataclasses.replace(decommission(where), origin=Origin.CLI))
    newest, oldest = await collect(
        tracker, DeploymentQuery(deployment_name="origins", history=True)
    )
    assert (newest.status, newest.origin, newest.ended_by) == (
        Status.DECOMMISSIONED,
        Origin.CLUSTER,
        Origin.CLI,
    )
    assert (oldest.origin, oldest.ended_by) == (Origin.ADMISSION, Origin.CLUSTER)
