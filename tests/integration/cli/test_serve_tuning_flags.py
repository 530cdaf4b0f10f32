"""``imagegate serve --heartbeat-interval`` and ``--event-loop``: what a bad value says."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.processes import serve_until_refused


@pytest.mark.parametrize("value", ["-1", "nan", "inf"])
def test_a_heartbeat_interval_that_is_not_seconds_is_refused(tmp_path: Path, value: str) -> None:
    code, stderr = serve_until_refused(tmp_path, f"--heartbeat-interval={value}")
    assert code == 1
    assert f"imagegate: error: --heartbeat-interval {value}: give seconds, 0 or more" in stderr
    assert not (tmp_path / "spool.db").exists(), "refused before anything was opened"


def test_a_heartbeat_interval_from_the_environment_is_checked_too(tmp_path: Path) -> None:
    code, stderr = serve_until_refused(tmp_path, env={"IMAGEGATE_HEARTBEAT_INTERVAL": "ten"})
    assert code == 2
    assert "argument --heartbeat-interval: invalid float value: 'ten'" in stderr


def test_an_unknown_event_loop_is_refused(tmp_path: Path) -> None:
    code, stderr = serve_until_refused(tmp_path, "--event-loop", "trio")
    assert code == 2
    assert "argument --event-loop: invalid choice: 'trio'" in stderr


@pytest.mark.parametrize("value", ["0", "-5", "nan"])
def test_a_reconcile_interval_that_is_not_positive_seconds_is_refused(
    tmp_path: Path, value: str
) -> None:
    code, stderr = serve_until_refused(tmp_path, f"--reconcile-interval={value}")
    assert code == 1
    assert f"imagegate: error: --reconcile-interval {value}: give seconds, more than 0" in stderr


def test_an_unknown_record_source_is_refused(tmp_path: Path) -> None:
    code, stderr = serve_until_refused(tmp_path, "--record-from", "webhook")
    assert code == 2
    assert "argument --record-from: invalid choice: 'webhook'" in stderr


def test_recording_from_the_cluster_without_a_connection_is_a_startup_error(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "no-such-kubeconfig"
    code, stderr = serve_until_refused(
        tmp_path, "--record-from", "cluster", "--kubeconfig", str(missing)
    )
    assert code == 1
    assert "imagegate: error: --record-from cluster: no cluster connection" in stderr


def test_a_bad_object_selector_is_refused(tmp_path: Path) -> None:
    code, stderr = serve_until_refused(
        tmp_path, "--object-selector", '{"matchExpressions": [{"key": "a", "operator": "Is"}]}'
    )
    assert code == 1
    assert (
        "imagegate: error: --object-selector: matchExpressions[0]: operator 'Is': one of "
        "DoesNotExist, Exists, In, NotIn"
    ) in stderr
