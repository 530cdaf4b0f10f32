"""Bad input to any command: one line on stderr saying what is wrong, a non-zero exit,
never a Python traceback. Each case was a traceback once."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from support.processes import free_port, run_cli

DIGEST = "sha256:" + "a" * 64
DEEP_JSON = "[" * 100_000 + "]" * 100_000
POLICY_OVERFLOW = (
    "apiVersion: imagegate.dev/v1alpha1\nkind: DeploymentPolicy\nmetadata: {name: x}\n"
    "spec: {mode: enforce, rules: [{rule: scanned, maxAge: 99999999999999999999d}]}\n"
)
MANIFEST = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n"
    "spec: {template: {spec: {containers: [{name: a, image: nginx}]}}}\n"
)


def files(tmp_path: Path) -> dict[str, Path]:
    made = {
        # Deep, yet within the 64 KiB a server takes for provenance.
        "deep_provenance": ('{"labels": {"a": ' + "[" * 10_000 + "]" * 10_000 + "}}").encode(),
        "deep_scan": ('{"matches": ' + DEEP_JSON + "}").encode(),
        "deep_yaml": ("a: " + "[" * 5000 + "]" * 5000 + "\n").encode(),
        "binary": bytes(range(256)) * 4,
        "overflow_policy": POLICY_OVERFLOW.encode(),
        "manifest": MANIFEST.encode(),
        "garbage_pem": b"garbage",
        "not_a_database": b"not a database",
        # Valid JSON, one byte past the server's 16 MiB: the local store refuses it too.
        "huge_scan": b'{"matches": [], "pad": "' + b"x" * (16 * 1024 * 1024) + b'"}',
    }
    paths = {}
    for name, content in made.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(content)
    (tmp_path / "a_directory").mkdir()
    paths["a_directory"] = tmp_path / "a_directory"
    return paths


Case = Callable[[dict[str, Path], Path], list[str]]
CASES: list[tuple[str, Case, int, str]] = [
    (
        "deep-provenance",
        lambda f, t: [
            "evidence",
            "push",
            "--digest",
            DIGEST,
            "--provenance",
            str(f["deep_provenance"]),
        ],
        1,
        "the provenance is nested too deeply",
    ),
    (
        "deep-scan",
        lambda f, t: ["evidence", "push", "--digest", DIGEST, "--scan", str(f["deep_scan"])],
        1,
        "the scan report is nested too deeply",
    ),
    (
        "scan-larger-than-a-server-takes",
        lambda f, t: ["evidence", "push", "--digest", DIGEST, "--scan", str(f["huge_scan"])],
        1,
        "is larger than 16 MiB, the most a server accepts",
    ),
    (
        "policy-max-age-overflow",
        lambda f, t: [
            "policy",
            "check",
            "-f",
            str(f["manifest"]),
            "--policy",
            str(f["overflow_policy"]),
        ],
        1,
        "spec.rules[0].maxAge: duration '99999999999999999999d' is longer than any date",
    ),
    (
        "deep-yaml-policy",
        lambda f, t: ["policy", "check", "-f", str(f["manifest"]), "--policy", str(f["deep_yaml"])],
        1,
        "is nested too deeply to be a policy",
    ),
    (
        "deep-yaml-manifest",
        lambda f, t: ["policy", "check", "-f", str(f["deep_yaml"])],
        1,
        "nested too deeply to be a manifest",
    ),
    (
        "binary-manifest",
        lambda f, t: ["policy", "check", "-f", str(f["binary"])],
        1,
        "not UTF-8 text",
    ),
    (
        "endless-manifest",
        lambda f, t: ["policy", "check", "-f", "/dev/zero"],
        1,
        "larger than 64 MiB",
    ),
    (
        "endless-policy",
        lambda f, t: ["policy", "check", "-f", str(f["manifest"]), "--policy", "/dev/zero"],
        1,
        "/dev/zero: document 1: is larger than 64 MiB",
    ),
    (
        "postgres-port-out-of-range",
        lambda f, t: ["--store", "postgresql://u@127.0.0.1:99999/db", "deployment", "list"],
        1,
        "Port out of range 0-65535",
    ),
    (
        "postgres-broken-ipv6",
        lambda f, t: ["--store", "postgresql://u:pw@[::1:5432/db", "deployment", "list"],
        1,
        "Invalid IPv6 URL",
    ),
    (
        "server-broken-ipv6",
        lambda f, t: ["--server", "http://[::1:80", "deployment", "list"],
        1,
        "--server 'http://[::1:80': Invalid IPv6 URL",
    ),
    (
        "missing-ca-file",
        lambda f, t: [
            "--server",
            "https://127.0.0.1:9",
            "--ca-file",
            str(t / "nope"),
            "deployment",
            "list",
        ],
        1,
        "not a readable PEM CA bundle (No such file or directory)",
    ),
    (
        "garbage-ca-file",
        lambda f, t: [
            "--server",
            "https://127.0.0.1:9",
            "--ca-file",
            str(f["garbage_pem"]),
            "deployment",
            "list",
        ],
        1,
        "not a readable PEM CA bundle",
    ),
    (
        "certificate-days-overflow",
        lambda f, t: [
            "certs",
            "generate",
            "--dns",
            "a",
            "--out",
            str(t / "out"),
            "--days",
            "1000000000",
        ],
        1,
        "at most 36500",
    ),
    (
        "spool-is-a-directory",
        lambda f, t: [
            "serve",
            "--listen",
            f"127.0.0.1:{free_port()}",
            "--spool",
            str(f["a_directory"]),
        ],
        3,
        "cannot open the spool",
    ),
    (
        "spool-is-not-a-database",
        lambda f, t: [
            "serve",
            "--listen",
            f"127.0.0.1:{free_port()}",
            "--spool",
            str(f["not_a_database"]),
        ],
        3,
        "file is not a database",
    ),
    (
        "missing-registry-config",
        lambda f, t: [
            "serve",
            "--listen",
            f"127.0.0.1:{free_port()}",
            "--spool",
            str(t / "s.db"),
            "--registry-config",
            str(t / "nope.json"),
        ],
        1,
        "cannot be read: No such file or directory",
    ),
    (
        "negative-facts-timeout",
        lambda f, t: ["serve", "--listen", f"127.0.0.1:{free_port()}", "--facts-timeout", "-1"],
        1,
        "--facts-timeout -1: give seconds, more than 0",
    ),
]


@pytest.mark.parametrize(
    ("arguments", "exit_code", "message"),
    [pytest.param(case, code, message, id=name) for name, case, code, message in CASES],
)
def test_bad_input_is_one_line_and_an_exit_code(
    tmp_path: Path, arguments: Case, exit_code: int, message: str
) -> None:
    made = files(tmp_path)
    completed = run_cli(
        [*arguments(made, tmp_path)],
        store=tmp_path / "imagegate.db",
        env={"IMAGEGATE_TOKEN": "igk_000000000000_x"},
    )
    assert "Traceback" not in completed.stderr, completed.stderr
    # serve may have logged (JSON lines) before it found the problem: the error is the
    # one line that is not a log event.
    lines = [line for line in completed.stderr.strip().splitlines() if not line.startswith("{")]
    assert len(lines) == 1, completed.stderr
    assert lines[0].startswith("imagegate: error: ")
    assert message in lines[0]
    assert completed.exit_code == exit_code


def test_serving_on_a_port_in_use_says_so(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        completed = run_cli(
            ["serve", "--listen", f"127.0.0.1:{port}", "--spool", str(tmp_path / "s.db")],
            store=tmp_path / "imagegate.db",
        )
    assert "Traceback" not in completed.stderr
    assert completed.exit_code == 1
    (line,) = [line for line in completed.stderr.splitlines() if "imagegate: error:" in line]
    assert line.startswith(f"imagegate: error: cannot listen on 127.0.0.1:{port}: ")
