"""The ``imagegate`` CLI as a user runs it: local store, remote server, errors, exit codes."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
import yaml

from support.processes import Completed, run_cli, server_process

V1 = "sha256:" + "1" * 64
V2 = "sha256:" + "2" * 64
REPO = "ghcr.io/acme/api-server"


def ok(result: Completed) -> Completed:
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result


def record(
    store: Path, logical: str, digest: str, *extra: str, env: dict[str, str] | None = None
) -> Completed:
    return run_cli(
        [
            "deployment",
            "record",
            "--env",
            "k8s-east",
            "--logical-env",
            logical,
            "--deployment-name",
            "api-server",
            "--oci-ref",
            f"{REPO}:v@{digest}",
            "-o",
            "json",
            *extra,
        ],
        store=store,
        env=env,
    )


def test_typical_workflow_on_the_local_store(tmp_path: Path) -> None:
    store = tmp_path / "imagegate.db"
    for name in ("k8s-east", "k8s-west"):
        created = ok(
            run_cli(
                [
                    "environment",
                    "create",
                    "--name",
                    name,
                    "--description",
                    f"cluster {name}",
                    "-o",
                    "json",
                ],
                store=store,
            )
        )
        assert created.json()["name"] == name

    assert ok(record(store, "staging", V1)).json()["outcome"] == "created"
    assert ok(record(store, "production", V1)).json()["outcome"] == "created"
    upgraded = ok(record(store, "production", V2)).json()
    assert upgraded["outcome"] == "superseded"

    production = ok(
        run_cli(["deployment", "list", "--logical-env", "production", "-o", "json"], store=store)
    ).json()
    assert [r["artifact"]["digest"] for r in production] == [V2]
    staging = ok(
        run_cli(["deployment", "list", "--logical-env", "staging", "-o", "json"], store=store)
    ).json()
    assert [(r["artifact"]["digest"], r["status"]) for r in staging] == [(V1, "deployed")]

    history = ok(
        run_cli(
            ["deployment", "list", "--logical-env", "production", "--history", "-o", "yaml"],
            store=store,
        )
    )
    assert [(r["artifact"]["digest"], r["status"]) for r in yaml.safe_load(history.stdout)] == [
        (V2, "deployed"),
        (V1, "superseded"),
    ]

    before = ok(run_cli(["deployment", "list", "--history", "-o", "json"], store=store)).json()
    refreshed = ok(record(store, "production", V2)).json()
    assert refreshed["outcome"] == "refreshed"
    assert refreshed["record"]["last_seen_at"] > upgraded["record"]["last_seen_at"]
    after = ok(run_cli(["deployment", "list", "--history", "-o", "json"], store=store)).json()
    assert len(after) == len(before)

    gone = ok(record(store, "production", V2, "--status", "decommissioned")).json()
    assert gone["outcome"] == "decommissioned"
    table = ok(run_cli(["deployment", "list", "--logical-env", "production"], store=store))
    assert table.stdout.splitlines()[0].split()[:3] == ["ID", "ENVIRONMENT", "LOGICAL"]
    assert len(table.stdout.splitlines()) == 1  # the header only: nothing active
    history = ok(
        run_cli(["deployment", "list", "--logical-env", "production", "--history"], store=store)
    )
    statuses = [line.split()[-2] for line in history.stdout.splitlines()[1:]]
    assert statuses == ["decommissioned", "superseded"]


def test_record_with_name_and_digest(tmp_path: Path) -> None:
    store = tmp_path / "imagegate.db"
    result = ok(
        run_cli(
            [
                "deployment",
                "record",
                "--env",
                "deployed",
                "--logical-env",
                "development",
                "--deployment-name",
                "web",
                "--name",
                "nginx",
                "--digest",
                V1,
                "--tag",
                "1.27",
                "--arch",
                "arm64",
                "--variant",
                "v8",
            ],
            store=store,
        )
    )
    assert result.stdout.startswith("created: record 1 deployed (web in deployed/development: ")
    assert "docker.io/library/nginx:1.27@" in result.stdout
    listed = ok(run_cli(["deployment", "list", "-o", "json"], store=store)).json()
    assert listed[0]["platform"] == {"os": "linux", "architecture": "arm64", "variant": "v8"}


def test_environment_describe_and_list(tmp_path: Path) -> None:
    store = tmp_path / "imagegate.db"
    ok(
        run_cli(
            ["environment", "create", "--name", "k8s-east", "--description", "east"], store=store
        )
    )
    described = ok(run_cli(["environment", "describe", "k8s-east"], store=store))
    assert "Name:        k8s-east" in described.stdout
    assert "Description: east" in described.stdout
    names = [
        e["name"] for e in ok(run_cli(["environment", "list", "-o", "json"], store=store)).json()
    ]
    assert names == ["deployed", "k8s-east"]


@pytest.mark.parametrize(
    ("arguments", "exit_code", "message_part"),
    [
        (
            [
                "deployment",
                "record",
                "--env",
                "deployed",
                "--logical-env",
                "staging",
                "--deployment-name",
                "x",
                "--oci-ref",
                "nginx:1.27",
            ],
            1,
            "has no digest",
        ),
        (
            [
                "deployment",
                "record",
                "--env",
                "k8s-nowhere",
                "--logical-env",
                "staging",
                "--deployment-name",
                "x",
                "--oci-ref",
                f"nginx@{V1}",
            ],
            1,
            "environment 'k8s-nowhere' does not exist",
        ),
        (
            [
                "deployment",
                "record",
                "--env",
                "deployed",
                "--logical-env",
                "staging",
                "--deployment-name",
                "x",
            ],
            1,
            "name the artifact",
        ),
        (
            [
                "deployment",
                "record",
                "--env",
                "deployed",
                "--logical-env",
                "staging",
                "--deployment-name",
                "x",
                "--name",
                "nginx",
            ],
            1,
            "--name and --digest go together",
        ),
        (["environment", "describe", "k8s-nowhere"], 1, "does not exist"),
        (["environment", "create", "--name", "Bad Name"], 1, "lower-case letters"),
        (["deployment", "list", "--limit", "0"], 1, "--limit must be at least 1"),
        (["--store", "mysql://x", "deployment", "list"], 1, "unsupported store URL"),
        (["apikey", "revoke", "000000000000"], 1, "no active API key"),
        (["deployment", "list", "--server", "http://127.0.0.1:9"], 1, "IMAGEGATE_TOKEN"),
    ],
)
def test_errors_are_one_line_with_an_exit_code(
    tmp_path: Path, arguments: list[str], exit_code: int, message_part: str
) -> None:
    store = tmp_path / "imagegate.db"
    created = run_cli(["environment", "create", "--name", "k8s-east"], store=store)
    assert created.exit_code == 0, created.stderr
    result = run_cli(arguments, store=store)
    assert result.exit_code == exit_code
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("imagegate: error: ")
    assert message_part in result.stderr


def test_usage_error_exit_code(tmp_path: Path) -> None:
    result = run_cli(["deployment", "record", "--env", "x"], store=tmp_path / "imagegate.db")
    assert result.exit_code == 2
    assert "required" in result.stderr


def test_unreachable_server_exit_code(tmp_path: Path) -> None:
    result = run_cli(
        ["--server", "http://127.0.0.1:9", "deployment", "list"],
        env={"IMAGEGATE_TOKEN": "igk_000000000000_x"},
    )
    assert result.exit_code == 3
    assert "cannot reach http://127.0.0.1:9" in result.stderr


def test_api_keys(tmp_path: Path) -> None:
    store = tmp_path / "imagegate.db"
    token = ok(run_cli(["apikey", "create", "--scope", "read", "--name", "ci"], store=store))
    assert token.stdout.startswith("igk_")
    key_id = token.stdout.split("_")[1]
    listed = ok(run_cli(["apikey", "list", "-o", "json"], store=store)).json()
    assert [(k["key_id"], k["name"], k["scopes"], k["revoked_at"]) for k in listed] == [
        (key_id, "ci", ["read"], None)
    ]
    assert token.stdout.strip() not in json.dumps(listed)  # the token is never shown again
    ok(run_cli(["apikey", "revoke", key_id], store=store))
    listed = ok(run_cli(["apikey", "list"], store=store))
    assert "revoked" in listed.stdout
    remote = run_cli(["--server", "http://127.0.0.1:9", "apikey", "list"], store=store)
    assert remote.exit_code == 1
    assert "local store only" in remote.stderr


def test_remote_server_and_restart(tmp_path: Path) -> None:
    store = tmp_path / "server.db"
    token = ok(
        run_cli(["apikey", "create", "--scope", "read", "--scope", "write"], store=store)
    ).stdout.strip()
    remote = {"IMAGEGATE_TOKEN": token}
    with server_process(store) as url:
        created = ok(
            run_cli(["--server", url, "environment", "create", "--name", "k8s-east"], env=remote)
        )
        assert "k8s-east" in created.stdout
        assert (
            ok(record(tmp_path / "unused.db", "staging", V1, "--server", url, env=remote)).json()[
                "outcome"
            ]
            == "created"
        )
        refused = record(
            tmp_path / "unused.db", "staging", "sha256:12", "--server", url, env=remote
        )
        assert refused.exit_code == 1
        assert "exactly 64 hex digits" in refused.stderr
        bad_key = run_cli(
            ["--server", url, "deployment", "list"], env={"IMAGEGATE_TOKEN": token[:-4] + "xxxx"}
        )
        assert (bad_key.exit_code, bad_key.stderr.strip()) == (
            1,
            "imagegate: error: the API key is not valid",
        )

    # Same file, new process: what was recorded is still there.
    with server_process(store) as url:
        listed = ok(
            run_cli(["--server", url, "deployment", "list", "-o", "json"], env=remote)
        ).json()
        assert [(r["environment"], r["artifact"]["digest"]) for r in listed] == [("k8s-east", V1)]
        request = urllib.request.Request(
            f"{url}/api/v1/environments/k8s-east", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.load(response)["name"] == "k8s-east"


def test_serve_refuses_plain_http_off_loopback(tmp_path: Path) -> None:
    result = run_cli(["serve", "--listen", "0.0.0.0:8080"], store=tmp_path / "x.db")
    assert result.exit_code == 1
    assert "refusing plain HTTP on 0.0.0.0" in result.stderr


EXISTING_STORE_COMMANDS = [
    ["deployment", "list"],
    ["deployment", "list", "--history"],
    ["environment", "list"],
    ["environment", "describe", "k8s-east"],
    ["evidence", "show", "--digest", "sha256:" + "a" * 64],
    ["evidence", "scans", "--digest", "sha256:" + "a" * 64],
    ["evidence", "retire-scan", "--digest", "sha256:" + "a" * 64, "--id", "1", "--reason", "x"],
    ["apikey", "list"],
    ["apikey", "revoke", "000000000000"],
]


@pytest.mark.parametrize("arguments", EXISTING_STORE_COMMANDS, ids=" ".join)
def test_reading_a_store_that_does_not_exist_neither_creates_it_nor_passes_for_empty(
    tmp_path: Path, arguments: list[str]
) -> None:
    store = tmp_path / "mistyped" / "imagegate.db"
    result = run_cli(arguments, store=store)
    assert (result.exit_code, result.stdout) == (3, "")
    assert result.stderr == (
        f"imagegate: error: there is no SQLite store at '{store}' (nothing was recorded "
        "there); name the store that holds the records (--store or IMAGEGATE_STORE)\n"
    )
    assert not store.parent.exists()


def test_a_bad_argument_is_reported_before_a_missing_store(tmp_path: Path) -> None:
    store = tmp_path / "imagegate.db"
    result = run_cli(["deployment", "list", "--limit", "0"], store=store)
    assert result.exit_code == 1
    assert "--limit must be at least 1" in result.stderr
    result = run_cli(["evidence", "show", "--digest", "sha256:12"], store=store)
    assert result.exit_code == 1
    assert "exactly 64 hex digits" in result.stderr
    assert not store.exists()
