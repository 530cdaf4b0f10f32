"""``imagegate serve --webhook-client-ca`` / ``--webhook-client-name``: what a wrong
use says, before anything listens."""

from __future__ import annotations

from pathlib import Path

from support.processes import serve_until_refused
from support.webhook import certificates


def tls_flags(tmp_path: Path) -> list[str]:
    _, cert, key = certificates(tmp_path / "certs")
    return ["--tls-cert", str(cert), "--tls-key", str(key)]


def test_a_missing_ca_file_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nope.crt"
    code, stderr = serve_until_refused(
        tmp_path, *tls_flags(tmp_path), "--webhook-client-ca", str(missing)
    )
    assert code == 1
    assert f"imagegate: error: --webhook-client-ca {missing}: not a readable PEM CA bundle" in (
        stderr
    )


def test_a_file_that_is_no_ca_is_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "ca.crt"
    garbage.write_text("not a certificate\n")
    code, stderr = serve_until_refused(
        tmp_path, *tls_flags(tmp_path), "--webhook-client-ca", str(garbage)
    )
    assert code == 1
    assert f"--webhook-client-ca {garbage}: not a readable PEM CA bundle" in stderr


def test_client_certificates_need_tls(tmp_path: Path) -> None:
    ca_file, _, _ = certificates(tmp_path / "callers")
    code, stderr = serve_until_refused(tmp_path, "--webhook-client-ca", str(ca_file))
    assert code == 1
    assert "imagegate: error: --webhook-client-ca needs --tls-cert and --tls-key" in stderr


def test_a_name_without_a_ca_is_refused(tmp_path: Path) -> None:
    code, stderr = serve_until_refused(tmp_path, "--webhook-client-name", "kube-apiserver")
    assert code == 1
    assert "imagegate: error: --webhook-client-name goes with --webhook-client-ca FILE" in stderr
