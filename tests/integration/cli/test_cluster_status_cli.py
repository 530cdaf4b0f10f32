"""``imagegate cluster status`` and ``GET /api/v1/cluster`` on a server without access to
a cluster: records come from admission, and both say so and why."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from support.processes import run_cli, server_process


def test_a_server_without_a_cluster_says_it_records_at_admission(tmp_path: Path) -> None:
    store = tmp_path / "server.db"
    token = run_cli(["apikey", "create", "--scope", "read"], store=store).stdout.strip()
    remote = {"IMAGEGATE_TOKEN": token}
    with server_process(store) as url:
        shown = run_cli(["--server", url, "cluster", "status", "-o", "json"], env=remote)
        assert shown.exit_code == 0, shown.stderr
        cluster = json.loads(shown.stdout)
        assert cluster["source"] == "admission"
        assert cluster["reason"].startswith("no cluster connection")
        assert (cluster["synced"], cluster["unrecorded"], cluster["records"]) == (None, [], None)

        table = run_cli(["--server", url, "cluster", "status", "--records"], env=remote)
        assert table.stdout.startswith("Recording: admission (no cluster connection")
        assert "Unrecorded: none" in table.stdout
        assert "Records:" in table.stdout

        request = urllib.request.Request(
            f"{url}/api/v1/cluster?record=true", headers={"Authorization": f"Bearer {token}"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 422
        error = json.load(refused.value)["error"]
        assert (error["code"], error["field"]) == ("invalid_parameter", "record")
        assert error["message"] == "unknown query parameter 'record'; known: records"


def test_cluster_status_needs_a_server(tmp_path: Path) -> None:
    local = run_cli(["cluster", "status"], store=tmp_path / "imagegate.db")
    assert local.exit_code == 1
    assert local.stderr.strip() == (
        "imagegate: error: 'cluster status' asks a running server (what its cluster watch "
        "holds is in no store): give --server URL"
    )
    assert not (tmp_path / "imagegate.db").exists()
