"""``imagegate certs generate`` as a user runs it: files, modes, caBundle line, errors."""

from __future__ import annotations

import base64
import ipaddress
import stat
from pathlib import Path

from cryptography import x509

from support.processes import run_cli


def ca_bundle_line(stdout: str) -> str:
    [value] = [line.split()[1] for line in stdout.splitlines() if line.startswith("caBundle:")]
    return value


def test_generate_writes_a_tls_secret_layout_and_prints_the_ca_bundle(tmp_path: Path) -> None:
    out = tmp_path / "certs"
    result = run_cli(
        ["certs", "generate", "--dns", "localhost", "--ip", "127.0.0.1", "--out", str(out)]
    )

    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    first_line, second_line = result.stdout.splitlines()
    assert first_line == (
        f"wrote {out / 'ca.crt'}, {out / 'ca.key'}, {out / 'tls.crt'}, {out / 'tls.key'}"
    )
    assert second_line.startswith("caBundle: ")
    assert base64.b64decode(ca_bundle_line(result.stdout)) == (out / "ca.crt").read_bytes()
    assert stat.S_IMODE((out / "tls.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "ca.key").stat().st_mode) == 0o600

    served = x509.load_pem_x509_certificate((out / "tls.crt").read_bytes())
    served.verify_directly_issued_by(x509.load_pem_x509_certificate((out / "ca.crt").read_bytes()))
    san = served.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]


def test_generate_needs_no_store_and_honours_days(tmp_path: Path) -> None:
    out = tmp_path / "certs"
    result = run_cli(
        [
            "certs",
            "generate",
            "--dns",
            "a.example",
            "--dns",
            "b.example",
            "--days",
            "7",
            "--out",
            str(out),
        ],
        env={"IMAGEGATE_STORE": "postgresql://nobody@127.0.0.1:1/none"},
    )

    assert result.exit_code == 0, result.stderr
    served = x509.load_pem_x509_certificate((out / "tls.crt").read_bytes())
    assert (served.not_valid_after_utc - served.not_valid_before_utc).days == 7
    san = served.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["a.example", "b.example"]


def test_bad_dns_name_is_a_one_line_error(tmp_path: Path) -> None:
    out = tmp_path / "certs"
    result = run_cli(["certs", "generate", "--dns", "bad_name!", "--out", str(out)])

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("imagegate: error: invalid DNS name 'bad_name!'")
    assert not out.exists()


def test_no_name_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_cli(["certs", "generate", "--out", str(tmp_path / "certs")])

    assert result.exit_code == 1
    assert result.stderr == (
        "imagegate: error: name the server: at least one --dns NAME or --ip ADDR\n"
    )


def test_bad_days_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_cli(
        ["certs", "generate", "--dns", "localhost", "--days", "0", "--out", str(tmp_path)]
    )

    assert result.exit_code == 1
    assert result.stderr == "imagegate: error: --days must be at least 1, not 0\n"


def test_unwritable_directory_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = run_cli(["certs", "generate", "--dns", "localhost", "--out", str(blocker / "certs")])

    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"imagegate: error: cannot create {blocker / 'certs'}:")
