"""``imagegate evidence`` as a user runs it: local store, remote server, errors, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support.processes import Completed, run_cli, server_process

SCANS = Path(__file__).parents[2] / "fixtures" / "scans"
INDEX = "sha256:15d37e6e6bd9fff5756849543fc76c2ec5110a04e03e3141e8038df06feefae8"
OTHER = "sha256:d9298a10d1b0735837dc4bd85dac641b0f3cef27a47e5d53a54f2f3f5b2fcffa"
PROVENANCE = {
    "builder_id": "https://github.com/acme/api/.github/workflows/release.yml@refs/heads/main",
    "source_repository": "https://github.com/acme/api",
    "commit": "4f1c2b7d9e0a8b6c5d4e3f2a1b0c9d8e7f6a5b4c",
    "labels": {"team": "payments"},
}


def ok(result: Completed) -> Completed:
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result


def refused(result: Completed, exit_code: int, message: str) -> None:
    assert result.exit_code == exit_code, result.stdout
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("imagegate: error: ")
    assert message in result.stderr


def push_scan(store: Path, name: str, *extra: str, digest: str = INDEX) -> Completed:
    arguments = ["evidence", "push", "--digest", digest, "--scan", str(SCANS / f"{name}.json")]
    return run_cli([*arguments, *extra], store=store)


def show(store: Path, *extra: str, digest: str = INDEX) -> Completed:
    return run_cli(["evidence", "show", "--digest", digest, *extra], store=store)


def write_provenance(tmp_path: Path, document: object = PROVENANCE) -> Path:
    path = tmp_path / "provenance.json"
    path.write_text(json.dumps(document))
    return path


def test_push_and_show_on_the_local_store(tmp_path: Path) -> None:
    store = tmp_path / "imagegate.db"
    pushed = ok(push_scan(store, "grype"))
    assert pushed.stdout.strip() == (
        f"posted scan of {INDEX} by grype 0.84.0 at 2025-03-14T09:12:44.318762Z: "
        "5 vulnerabilities (critical 1, high 1, medium 1, low 1, negligible 1, unknown 0)"
    )
    provenance = write_provenance(tmp_path)
    pushed = ok(
        run_cli(
            ["evidence", "push", "--digest", INDEX, "--provenance", str(provenance)], store=store
        )
    )
    assert pushed.stdout.strip() == (
        f"posted provenance of {INDEX}: commit {PROVENANCE['commit']}, "
        f"source https://github.com/acme/api, builder {PROVENANCE['builder_id']}, 1 label"
    )

    table = ok(show(store)).stdout.splitlines()
    assert table[:6] == [
        f"Digest:      {INDEX}",
        "Scan:        grype 0.84.0 at 2025-03-14T09:12:44.318762Z",
        "Found:       5 vulnerabilities (critical 1, high 1, medium 1, low 1, negligible 1, "
        "unknown 0)",
        f"Provenance:  commit {PROVENANCE['commit']}, source https://github.com/acme/api, "
        f"builder {PROVENANCE['builder_id']}, 1 label",
        "Label:       team=payments",
        "",
    ]
    assert table[6].split() == ["ID", "SEVERITY", "PACKAGE", "VERSION", "FIXED", "IN"]
    assert table[7].split() == ["CVE-2024-45490", "critical", "libexpat1", "2.5.0-1", "-"]
    assert table[8].split() == [
        "CVE-2023-5363",
        "high",
        "libssl3",
        "3.0.11-1~deb12u1",
        "3.0.11-1~deb12u2",
    ]

    shown = ok(show(store, "-o", "json")).json()
    assert shown["digest"] == INDEX
    assert shown["scan"]["counts"]["total"] == 5
    assert shown["provenance"]["commit"] == PROVENANCE["commit"]
    assert shown["labels"] == {"team": "payments"}
    assert yaml.safe_load(ok(show(store, "-o", "yaml")).stdout) == shown


@pytest.mark.parametrize(("name", "total"), [("trivy", 6), ("cyclonedx", 5)])
def test_each_format_recognised_or_named(tmp_path: Path, name: str, total: int) -> None:
    store = tmp_path / "imagegate.db"
    recognised = ok(push_scan(store, name, "-o", "json")).json()
    named = ok(push_scan(store, name, "--format", name, "-o", "json")).json()
    assert recognised == named
    assert recognised["counts"]["total"] == total


def test_nothing_posted_is_shown_as_such(tmp_path: Path) -> None:
    store = tmp_path / "imagegate.db"
    ok(run_cli(["environment", "create", "--name", "k8s-east"], store=store))
    assert ok(show(store, digest=OTHER)).stdout.splitlines() == [
        f"Digest:      {OTHER}",
        "Scan:        none posted",
        "Provenance:  none posted",
    ]


def test_a_report_from_stdin(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("IMAGEGATE_")}
    environment["IMAGEGATE_STORE"] = f"sqlite:///{tmp_path / 'imagegate.db'}"
    arguments = ["evidence", "push", "--digest", INDEX, "--scan", "-", "-o", "json"]
    completed = subprocess.run(
        [sys.executable, "-m", "imagegate", *arguments],
        input=(SCANS / "trivy.json").read_bytes(),
        capture_output=True,
        env=environment,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["scanner"] == "trivy 0.59.1"


@pytest.mark.parametrize(
    ("arguments", "exit_code", "message"),
    [
        pytest.param(
            ["--digest", "sha256:15d3", "--scan", str(SCANS / "grype.json")],
            1,
            "a sha256 digest has exactly 64 hex digits",
            id="bad-digest",
        ),
        pytest.param(
            ["--digest", OTHER, "--scan", str(SCANS / "grype.json")],
            1,
            f"(source.target.repoDigests), not of {OTHER}: post it for the digest that was scanned",
            id="other-image",
        ),
        pytest.param(
            ["--digest", INDEX, "--scan", str(SCANS / "trivy.json"), "--format", "grype"],
            1,
            "invalid Grype JSON report: Object missing required field `matches`",
            id="wrong-format",
        ),
        pytest.param(
            ["--digest", INDEX, "--scan", "missing.json"],
            1,
            "cannot read missing.json: No such file or directory",
            id="no-file",
        ),
        pytest.param(
            ["--digest", INDEX, "--provenance", "p.json", "--format", "grype"],
            1,
            "--format goes with --scan, not with --provenance",
            id="format-with-provenance",
        ),
    ],
)
def test_refused_pushes_are_one_line_with_an_exit_code(
    tmp_path: Path, arguments: list[str], exit_code: int, message: str
) -> None:
    store = tmp_path / "imagegate.db"
    refused(run_cli(["evidence", "push", *arguments], store=store), exit_code, message)


def test_a_malformed_report_names_the_json_path(tmp_path: Path) -> None:
    document = json.loads((SCANS / "grype.json").read_bytes())
    document["matches"][2]["artifact"]["version"] = None
    report = tmp_path / "report.json"
    report.write_text(json.dumps(document))
    result = run_cli(
        ["evidence", "push", "--digest", INDEX, "--scan", str(report)],
        store=tmp_path / "imagegate.db",
    )
    refused(
        result,
        1,
        "invalid Grype JSON report at matches[2].artifact.version: Expected `str`, got `null`",
    )
    refused(show(tmp_path / "imagegate.db", digest="latest"), 1, "invalid image reference")


def test_a_malformed_provenance_names_the_member(tmp_path: Path) -> None:
    path = write_provenance(tmp_path, {"commit": "main"})
    result = run_cli(
        ["evidence", "push", "--digest", INDEX, "--provenance", str(path)],
        store=tmp_path / "imagegate.db",
    )
    refused(result, 1, "commit 'main' is not a git commit id")


def test_scans_listed_and_one_retired_on_the_local_store(tmp_path: Path) -> None:
    store = tmp_path / "imagegate.db"
    ok(run_cli(["environment", "create", "--name", "k8s-east"], store=store))
    assert ok(run_cli(["evidence", "scans", "--digest", INDEX], store=store)).stdout.strip() == (
        f"no scan was posted for {INDEX}"
    )
    ok(push_scan(store, "grype"))
    ok(push_scan(store, "cyclonedx"))
    table = ok(run_cli(["evidence", "scans", "--digest", INDEX], store=store)).stdout.splitlines()
    assert table[0].split() == ["ID", "SCANNER", "SCANNED", "RECEIVED", "CRIT/HIGH/ALL", "STATE"]
    assert table[1].split()[:3] == ["2", "trivy", "0.59.1"]
    assert table[1].split()[-2:] == ["1/1/5", "counts"]
    assert table[2].split()[:3] == ["1", "grype", "0.84.0"]
    assert table[2].split()[-1] == "older"
    retire = ["retire-scan", "--digest", INDEX, "--id", "2", "--reason", "wrong image"]
    retired = ok(run_cli(["evidence", *retire, "-o", "json"], store=store)).json()
    assert retired["retirement"]["reason"] == "wrong image"
    table = ok(run_cli(["evidence", "scans", "--digest", INDEX], store=store)).stdout.splitlines()
    assert table[1].split()[-3:] == [retired["retirement"]["retired_at"] + ":", "wrong", "image"]
    assert table[2].split()[-1] == "counts"
    assert ok(show(store, "-o", "json")).json()["scan"]["scanner"] == "grype 0.84.0"


@pytest.mark.parametrize(
    ("arguments", "exit_code", "message"),
    [
        (["--id", "7", "--reason", "x"], 1, f"no scan 7 was posted for {INDEX}"),
        (["--id", "latest", "--reason", "x"], 1, "a scan id is a positive whole number"),
        (["--id", "1", "--reason", " "], 1, "say why the scan is retired"),
        (["--id", "1", "--reason", "a\nb"], 1, "control character"),
    ],
)
def test_refused_retirements_are_one_line(
    tmp_path: Path, arguments: list[str], exit_code: int, message: str
) -> None:
    store = tmp_path / "imagegate.db"
    ok(push_scan(store, "grype"))
    arguments = [argument.replace("\\n", "\n") for argument in arguments]
    result = run_cli(["evidence", "retire-scan", "--digest", INDEX, *arguments], store=store)
    refused(result, exit_code, message)
    [only] = ok(
        run_cli(["evidence", "scans", "--digest", INDEX, "-o", "json"], store=store)
    ).json()["items"]
    assert only["retirement"] is None


@pytest.mark.parametrize(
    "arguments",
    [
        ["--digest", INDEX],
        ["--digest", INDEX, "--scan", "a.json", "--provenance", "b.json"],
        ["--scan", "a.json"],
        ["--digest", INDEX, "--scan", "a.json", "--format", "snyk"],
        ["scans"],
        ["retire-scan", "--digest", INDEX, "--id", "1"],
        ["retire-scan", "--digest", INDEX, "--reason", "broken run"],
    ],
)
def test_usage_errors(tmp_path: Path, arguments: list[str]) -> None:
    if arguments[0] not in {"scans", "retire-scan"}:
        arguments = ["push", *arguments]
    result = run_cli(["evidence", *arguments], store=tmp_path / "imagegate.db")
    assert result.exit_code == 2
    assert "usage:" in result.stderr


def test_through_a_remote_server(tmp_path: Path) -> None:
    store = tmp_path / "server.db"
    token = ok(
        run_cli(["apikey", "create", "--scope", "read", "--scope", "write"], store=store)
    ).stdout.strip()
    reader = ok(run_cli(["apikey", "create", "--scope", "read"], store=store)).stdout.strip()
    unused = tmp_path / "unused.db"
    provenance = write_provenance(tmp_path)
    with server_process(store) as url:
        remote = {"IMAGEGATE_TOKEN": token}

        def cli(*arguments: str, env: dict[str, str] = remote) -> Completed:
            return run_cli(["--server", url, "evidence", *arguments], store=unused, env=env)

        pushed = ok(cli("push", "--digest", INDEX, "--scan", str(SCANS / "cyclonedx.json")))
        assert "by trivy 0.59.1" in pushed.stdout
        pushed = ok(
            cli("push", "--digest", INDEX, "--scan", str(SCANS / "grype.json"), "--format", "grype")
        )
        assert "by grype 0.84.0" in pushed.stdout
        ok(cli("push", "--digest", INDEX, "--provenance", str(provenance)))
        shown = ok(cli("show", "--digest", INDEX, "-o", "json")).json()
        # The CycloneDX report is the newer scan by its scanner's time.
        assert shown["scan"]["scanner"] == "trivy 0.59.1"
        assert shown["provenance"]["commit"] == PROVENANCE["commit"]

        refused(
            cli("push", "--digest", OTHER, "--scan", str(SCANS / "trivy.json")),
            1,
            "(Metadata.RepoDigests), not of",
        )
        refused(cli("show", "--digest", "sha256:12"), 1, "exactly 64 hex digits")

        # The CycloneDX scan is retired through the server: the Grype one counts instead.
        listed = ok(cli("scans", "--digest", INDEX, "-o", "json")).json()
        assert [item["scanner"] for item in listed["items"]] == ["trivy 0.59.1", "grype 0.84.0"]
        newest = str(listed["items"][0]["id"])
        retired = ok(
            cli("retire-scan", "--digest", INDEX, "--id", newest, "--reason", "wrong image")
        )
        assert retired.stdout.startswith(f"retired scan {newest} of {INDEX} (trivy 0.59.1 at ")
        refused(
            cli("retire-scan", "--digest", INDEX, "--id", newest, "--reason", "again"),
            1,
            ": wrong image",
        )
        shown = ok(cli("show", "--digest", INDEX, "-o", "json")).json()
        assert shown["scan"]["scanner"] == "grype 0.84.0"
        refused(
            cli(
                "push",
                "--digest",
                INDEX,
                "--provenance",
                str(provenance),
                env={"IMAGEGATE_TOKEN": reader},
            ),
            1,
            "lacks the 'write' scope",
        )
    # The server's file holds what was posted; the local store saw nothing.
    local = ok(show(store, "-o", "json")).json()
    assert local == shown
    refused(show(unused), 3, "there is no SQLite store")
    assert not unused.exists()
