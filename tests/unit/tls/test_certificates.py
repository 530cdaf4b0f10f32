"""Generating the webhook's CA and serving certificate, and writing them as a TLS Secret."""

from __future__ import annotations

import base64
import ipaddress
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from imagegate.tls import (
    CertificateError,
    GeneratedCertificates,
    generate_certificates,
    write_certificates,
)

NOW = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
SERVICE = "imagegate.imagegate.svc"


@pytest.fixture(scope="module")
def certs() -> GeneratedCertificates:
    return generate_certificates(
        dns_names=[SERVICE, "imagegate.imagegate.svc.cluster.local"],
        ip_addresses=["127.0.0.1", "::1"],
        valid_days=30,
        ca_valid_days=90,
        now=NOW,
    )


def leaf(certs: GeneratedCertificates) -> x509.Certificate:
    return x509.load_pem_x509_certificate(certs.tls_cert)


def ca(certs: GeneratedCertificates) -> x509.Certificate:
    return x509.load_pem_x509_certificate(certs.ca_cert)


def test_serving_certificate_names_every_dns_name_and_ip_as_san(
    certs: GeneratedCertificates,
) -> None:
    san = leaf(certs).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [
        SERVICE,
        "imagegate.imagegate.svc.cluster.local",
    ]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]


def test_common_name_is_the_first_dns_name(certs: GeneratedCertificates) -> None:
    names = leaf(certs).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert [n.value for n in names] == [SERVICE]


def test_common_name_is_the_first_ip_without_dns_names() -> None:
    only_ip = generate_certificates(dns_names=[], ip_addresses=["10.0.0.7"], now=NOW)
    names = leaf(only_ip).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert [n.value for n in names] == ["10.0.0.7"]


def test_duplicate_names_appear_once() -> None:
    twice = generate_certificates(
        dns_names=["localhost", "localhost"], ip_addresses=["127.0.0.1", "127.0.0.1"], now=NOW
    )
    san = leaf(twice).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert len(list(san)) == 2


def test_serving_certificate_is_for_server_auth_only(certs: GeneratedCertificates) -> None:
    extensions = leaf(certs).extensions
    eku = extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    usage = extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    # ECDSA keys do not encipher keys; that bit is for RSA key exchange.
    assert not usage.value.key_encipherment
    assert not usage.value.key_cert_sign
    constraints = extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca is False


def test_ca_may_sign_end_entity_certificates_only(certs: GeneratedCertificates) -> None:
    authority = ca(certs)
    constraints = authority.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca is True
    assert constraints.value.path_length == 0
    usage = authority.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign
    assert usage.crl_sign
    assert not usage.digital_signature
    assert authority.subject == authority.issuer


def test_chain_verifies_and_key_identifiers_link(certs: GeneratedCertificates) -> None:
    authority, served = ca(certs), leaf(certs)
    authority.verify_directly_issued_by(authority)
    served.verify_directly_issued_by(authority)
    ski = authority.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = served.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski.digest


def test_certificate_from_another_ca_does_not_verify(certs: GeneratedCertificates) -> None:
    other = generate_certificates(dns_names=["localhost"], now=NOW)
    # Both CAs share a subject name, so only the signature tells them apart.
    with pytest.raises(InvalidSignature):
        leaf(other).verify_directly_issued_by(ca(certs))


def test_keys_are_p256_and_match_their_certificates(certs: GeneratedCertificates) -> None:
    for key_pem, certificate in ((certs.tls_key, leaf(certs)), (certs.ca_key, ca(certs))):
        key = serialization.load_pem_private_key(key_pem, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        assert isinstance(key.curve, ec.SECP256R1)
        assert key.public_key() == certificate.public_key()
        assert key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")


def test_validity_starts_at_now_to_the_second_and_lasts_the_given_days(
    certs: GeneratedCertificates,
) -> None:
    start = NOW.replace(microsecond=0)
    assert leaf(certs).not_valid_before_utc == start
    assert leaf(certs).not_valid_after_utc == start + timedelta(days=30)
    assert ca(certs).not_valid_before_utc == start
    assert ca(certs).not_valid_after_utc == start + timedelta(days=90)


def test_now_in_another_time_zone_means_the_same_instant() -> None:
    tokyo = NOW.astimezone(timezone(timedelta(hours=9)))
    made = generate_certificates(dns_names=["localhost"], valid_days=1, now=tokyo)
    assert leaf(made).not_valid_before_utc == NOW.replace(microsecond=0)


def test_ca_bundle_is_base64_of_the_ca_pem(certs: GeneratedCertificates) -> None:
    assert base64.b64decode(certs.ca_bundle, validate=True) == certs.ca_cert
    assert certs.ca_cert.startswith(b"-----BEGIN CERTIFICATE-----")


def test_repr_never_shows_private_keys(certs: GeneratedCertificates) -> None:
    shown = repr(certs)
    assert "PRIVATE KEY" not in shown
    assert "ca_key" not in shown
    assert "tls_key" not in shown


def test_wildcard_first_label_is_accepted() -> None:
    made = generate_certificates(dns_names=["*.imagegate.svc"], now=NOW)
    san = leaf(made).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["*.imagegate.svc"]


def test_long_first_name_keeps_its_san_and_a_short_common_name() -> None:
    long_name = ".".join(["a" * 60, "b" * 60, "svc"])
    made = generate_certificates(dns_names=[long_name], now=NOW)
    san = leaf(made).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [long_name]
    names = leaf(made).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert len(str(names[0].value)) <= 64


@pytest.mark.parametrize(
    ("dns_names", "ip_addresses", "message"),
    [
        ([], [], "give at least one DNS name or IP address for the certificate"),
        (["bad_name!"], [], "invalid DNS name 'bad_name!': label 'bad_name!' is not 1-63"),
        (["-lead.example"], [], "invalid DNS name '-lead.example': label '-lead' is not"),
        (["trail-.example"], [], "label 'trail-' is not 1-63 letters, digits or hyphens"),
        (["a..b"], [], "invalid DNS name 'a..b': label '' is not"),
        (["example.com."], [], "invalid DNS name 'example.com.': label '' is not"),
        ([""], [], "invalid DNS name '': it is empty"),
        (["x" * 64 + ".svc"], [], "label '" + "x" * 64 + "' is not 1-63"),
        ([("a" * 63 + ".") * 4 + "svc"], [], "longer than 253 characters"),
        (["a.*.example"], [], "a wildcard may only be the whole first label"),
        (["f*o.example"], [], "a wildcard may only be the whole first label"),
        (["*"], [], "invalid DNS name '*': a wildcard needs a domain after it"),
        (["127.0.0.1"], [], "it is an IP address; give it as an IP address instead"),
        (["ok.example"], ["999.1.1.1"], "invalid IP address '999.1.1.1'"),
        ([], ["localhost"], "invalid IP address 'localhost'"),
        ("localhost", [], "dns_names must be a sequence of names, not the string 'localhost'"),
        ([], "10.0.0.1", "ip_addresses must be a sequence of addresses, not the string"),
    ],
)
def test_invalid_names_are_refused_with_the_reason(
    dns_names: list[str], ip_addresses: list[str], message: str
) -> None:
    with pytest.raises(CertificateError) as raised:
        generate_certificates(dns_names=dns_names, ip_addresses=ip_addresses, now=NOW)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("valid_days", "ca_valid_days", "message"),
    [
        (0, 3650, "valid_days must be at least 1, not 0"),
        (-5, 3650, "valid_days must be at least 1, not -5"),
        (1, 0, "ca_valid_days must be at least 1, not 0"),
        (
            400,
            365,
            "valid_days (400) exceeds ca_valid_days (365): the certificate would outlive its CA",
        ),
    ],
)
def test_invalid_validity_is_refused_with_the_reason(
    valid_days: int, ca_valid_days: int, message: str
) -> None:
    with pytest.raises(CertificateError) as raised:
        generate_certificates(
            dns_names=["localhost"], valid_days=valid_days, ca_valid_days=ca_valid_days, now=NOW
        )
    assert str(raised.value) == message


def test_naive_now_is_refused() -> None:
    with pytest.raises(CertificateError, match="now must be a timezone-aware datetime"):
        generate_certificates(dns_names=["localhost"], now=datetime(2024, 5, 1))


def test_certificate_error_is_a_value_error() -> None:
    assert issubclass(CertificateError, ValueError)


def test_written_files_hold_the_pem_and_keys_are_private(
    certs: GeneratedCertificates, tmp_path: Path
) -> None:
    directory = tmp_path / "nested" / "certs"
    paths = write_certificates(certs, directory)
    assert paths.directory == directory
    assert paths.ca_cert == directory / "ca.crt"
    assert paths.ca_key == directory / "ca.key"
    assert paths.tls_cert == directory / "tls.crt"
    assert paths.tls_key == directory / "tls.key"
    assert paths.ca_cert.read_bytes() == certs.ca_cert
    assert paths.ca_key.read_bytes() == certs.ca_key
    assert paths.tls_cert.read_bytes() == certs.tls_cert
    assert paths.tls_key.read_bytes() == certs.tls_key
    assert stat.S_IMODE(paths.ca_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.tls_key.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.tls_cert.stat().st_mode) == 0o644
    # No temporary files are left behind.
    assert sorted(p.name for p in directory.iterdir()) == ["ca.crt", "ca.key", "tls.crt", "tls.key"]


def test_writing_again_replaces_the_files(certs: GeneratedCertificates, tmp_path: Path) -> None:
    write_certificates(generate_certificates(dns_names=["old"], now=NOW), tmp_path)
    old_inode = (tmp_path / "tls.crt").stat().st_ino
    write_certificates(certs, tmp_path)
    assert (tmp_path / "tls.crt").read_bytes() == certs.tls_cert
    assert (tmp_path / "tls.crt").stat().st_ino != old_inode


def test_unwritable_directory_is_a_certificate_error(
    certs: GeneratedCertificates, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(CertificateError, match=r"cannot create .*file/certs"):
        write_certificates(certs, blocker / "certs")
