"""coalesce(): runs of identical requests for one key shrink to their first and last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from imagegate.tracking import (
    Artifact,
    DeploymentKey,
    Kind,
    Platform,
    QueuedRequest,
    RecordRequest,
    Status,
    coalesce,
)

START = datetime(2026, 1, 1, tzinfo=UTC)


def item(
    sequence: int,
    name: str,
    digest: int,
    *,
    tag: str | None = None,
    status: Status = Status.DEPLOYED,
) -> QueuedRequest:
    artifact = Artifact("ghcr.io/acme/web", f"sha256:{digest:064x}", tag)
    return QueuedRequest(
        sequence=sequence,
        request=RecordRequest(
            key=DeploymentKey("k8s", "production", name, Kind.CONTAINER_IMAGE),
            artifact=artifact if status is Status.DEPLOYED else None,
            platform=Platform() if status is Status.DEPLOYED else None,
            status=status,
            observed_at=START + timedelta(seconds=sequence),
        ),
    )


def kept_sequences(items: list[QueuedRequest]) -> tuple[list[int], set[int]]:
    kept, dropped = coalesce(items)
    return [k.sequence for k in kept], dropped


def test_a_run_keeps_its_first_and_last() -> None:
    assert kept_sequences([item(n, "a", 1) for n in range(1, 6)]) == ([1, 5], {2, 3, 4})


def test_short_runs_are_kept_whole() -> None:
    assert kept_sequences([item(1, "a", 1), item(2, "a", 1)]) == ([1, 2], set())


def test_runs_of_other_keys_are_independent() -> None:
    items = [item(1, "a", 1), item(2, "b", 1), item(3, "a", 1), item(4, "b", 1), item(5, "a", 1)]
    assert kept_sequences(items) == ([1, 2, 4, 5], {3})


def test_a_change_of_artifact_ends_a_run() -> None:
    digests = [1, 1, 1, 2, 2, 2, 1]
    items = [item(n, "a", d) for n, d in enumerate(digests, start=1)]
    assert kept_sequences(items) == ([1, 3, 4, 6, 7], {2, 5})


def test_a_different_tag_of_the_same_digest_is_the_same_request() -> None:
    items = [item(1, "a", 1, tag="v1"), item(2, "a", 1, tag="latest"), item(3, "a", 1, tag="v1")]
    assert kept_sequences(items) == ([1, 3], {2})


def test_decommissions_coalesce_among_themselves_only() -> None:
    items = [item(1, "a", 1), *(item(n, "a", 0, status=Status.DECOMMISSIONED) for n in (2, 3, 4))]
    assert kept_sequences(items) == ([1, 2, 4], {3})


def test_the_batch_end_is_always_kept() -> None:
    # The store commits the queue position at the highest sequence it applies.
    items = [item(n, "a" if n % 2 else "b", 1) for n in range(1, 10)]
    kept, _ = coalesce(items)
    assert kept[-1].sequence == 9
