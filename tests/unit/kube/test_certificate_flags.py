"""``imagegate serve --self-managed-certs …`` flags become CertificateSettings."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagegate.cli._parser import build_parser
from imagegate.cli._serve import (
    certificate_settings_from,
    parse_webhook_configurations,
    settings_from,
)
from imagegate.server import SettingsError

BASE = [
    "serve",
    "--tls-cert",
    "/tls/tls.crt",
    "--tls-key",
    "/tls/tls.key",
    "--self-managed-certs",
    "--cert-secret",
    "imagegate-tls",
    "--service-dns",
    "imagegate.imagegate.svc",
    "--service-dns",
    "imagegate.imagegate.svc.cluster.local",
]


def test_the_flags_make_the_settings(tmp_path: Path) -> None:
    arguments = build_parser().parse_args(
        [*BASE, "--cert-namespace", "ops", "--webhook-configurations", "ig-validate,ig-mutate"]
    )
    settings = settings_from(arguments)
    certificates = settings.certificates
    assert certificates is not None
    assert certificates.secret_ref == "ops/imagegate-tls"
    assert certificates.tls_cert == Path("/tls/tls.crt") == settings.tls_cert
    assert certificates.tls_key == Path("/tls/tls.key") == settings.tls_key
    assert certificates.requirements.dns_names == (
        "imagegate.imagegate.svc",
        "imagegate.imagegate.svc.cluster.local",
    )
    assert certificates.requirements.renew_before_days == 30
    assert certificates.validating_webhook_configuration == "ig-validate"
    assert certificates.mutating_webhook_configuration == "ig-mutate"
    assert certificates.check_interval_s == 3600


def test_the_namespace_defaults_to_the_pods_own(tmp_path: Path) -> None:
    namespace_file = tmp_path / "namespace"
    namespace_file.write_text("imagegate\n")
    arguments = build_parser().parse_args(BASE)
    certificates = certificate_settings_from(arguments, namespace_file=namespace_file)
    assert certificates is not None
    assert certificates.namespace == "imagegate"


def test_outside_a_pod_the_namespace_is_required(tmp_path: Path) -> None:
    arguments = build_parser().parse_args(BASE)
    with pytest.raises(SettingsError, match="--cert-namespace"):
        certificate_settings_from(arguments, namespace_file=tmp_path / "absent")


@pytest.mark.parametrize(
    ("dropped", "message"),
    [
        ("--cert-secret", "--cert-secret"),
        ("--tls-cert", "--tls-cert and --tls-key"),
        ("--service-dns", "--service-dns"),
    ],
)
def test_required_flags_are_named(dropped: str, message: str) -> None:
    argv = [*BASE, "--cert-namespace", "ops"]
    while dropped in argv:
        index = argv.index(dropped)
        del argv[index : index + 2]  # the flag and its value
    with pytest.raises(SettingsError, match=message):
        certificate_settings_from(build_parser().parse_args(argv))


def test_without_the_mode_there_are_no_certificate_settings() -> None:
    arguments = build_parser().parse_args(["serve"])
    assert certificate_settings_from(arguments) is None


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("", (None, None)),
        ("v", ("v", None)),
        ("v,m", ("v", "m")),
        (",m", (None, "m")),
        (" v , ", ("v", None)),
    ],
)
def test_webhook_configuration_names(text: str, names: tuple[str | None, str | None]) -> None:
    assert parse_webhook_configurations(text) == names


def test_three_webhook_configurations_are_refused() -> None:
    with pytest.raises(SettingsError, match="VALIDATING,MUTATING"):
        parse_webhook_configurations("a,b,c")
