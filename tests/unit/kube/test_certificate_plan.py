"""Deciding what to do with the self-managed certificate Secret: pure, no cluster."""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from imagegate.kube import (
    CertificateAction,
    CertificateRequirements,
    CertificateSettings,
    ca_bundle_patch,
    certificates_from_secret,
    plan_certificates,
    secret_data,
)
from imagegate.tls import CertificateError, GeneratedCertificates, generate_certificates

NOW = datetime(2026, 1, 10, 8, 0, 0, tzinfo=UTC)
SERVICE = "imagegate.imagegate.svc"
REQUIREMENTS = CertificateRequirements(dns_names=(SERVICE,), ip_addresses=("127.0.0.1",))


def issued(
    *,
    now: datetime = NOW,
    valid_days: int = 365,
    ca_valid_days: int = 3650,
    dns_names: tuple[str, ...] = (SERVICE,),
) -> GeneratedCertificates:
    return generate_certificates(
        dns_names=dns_names,
        ip_addresses=["127.0.0.1"],
        valid_days=valid_days,
        ca_valid_days=ca_valid_days,
        now=now,
    )


def leaf(certs: GeneratedCertificates) -> x509.Certificate:
    return x509.load_pem_x509_certificate(certs.tls_cert)


def ca(certs: GeneratedCertificates) -> x509.Certificate:
    return x509.load_pem_x509_certificate(certs.ca_cert)


def sans(certs: GeneratedCertificates) -> tuple[list[str], list[str]]:
    san = leaf(certs).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return san.get_values_for_type(x509.DNSName), ips


def test_a_missing_secret_gets_a_new_ca_and_certificate() -> None:
    plan = plan_certificates(None, requirements=REQUIREMENTS, now=NOW)
    assert plan.action is CertificateAction.NEW_CA
    assert plan.reason == "no certificate stored yet"
    assert sans(plan.certificates) == ([SERVICE], ["127.0.0.1"])
    leaf(plan.certificates).verify_directly_issued_by(ca(plan.certificates))


def test_a_valid_certificate_is_kept_as_it_is() -> None:
    current = issued()
    plan = plan_certificates(current, requirements=REQUIREMENTS, now=NOW + timedelta(days=100))
    assert plan.action is CertificateAction.KEEP
    assert plan.certificates is current


def test_an_expiring_certificate_is_renewed_under_the_same_ca() -> None:
    current = issued()
    later = NOW + timedelta(days=340)  # 25 days left, inside the 30-day window
    plan = plan_certificates(current, requirements=REQUIREMENTS, now=later)
    assert plan.action is CertificateAction.ISSUE
    assert "expires" in plan.reason
    renewed = plan.certificates
    assert renewed.ca_cert == current.ca_cert
    assert renewed.ca_key == current.ca_key
    assert renewed.ca_bundle == current.ca_bundle
    assert renewed.tls_key != current.tls_key
    new_leaf = leaf(renewed)
    new_leaf.verify_directly_issued_by(ca(current))
    assert new_leaf.not_valid_after_utc == later + timedelta(days=365)
    assert sans(renewed) == ([SERVICE], ["127.0.0.1"])
    # What was issued is then kept: no renewal loop.
    again = plan_certificates(renewed, requirements=REQUIREMENTS, now=later)
    assert again.action is CertificateAction.KEEP


def test_the_authority_key_identifier_names_the_kept_ca() -> None:
    current = issued()
    renewed = plan_certificates(
        current, requirements=REQUIREMENTS, now=NOW + timedelta(days=340)
    ).certificates
    aki = leaf(renewed).extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca(current).extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest


def test_a_certificate_not_covering_the_service_names_is_reissued() -> None:
    current = issued(dns_names=("old.imagegate.svc",))
    wanted = dataclasses.replace(REQUIREMENTS, dns_names=(SERVICE, f"{SERVICE}.cluster.local"))
    plan = plan_certificates(current, requirements=wanted, now=NOW)
    assert plan.action is CertificateAction.ISSUE
    assert plan.reason == (
        f"the serving certificate does not cover {SERVICE}, {SERVICE}.cluster.local"
    )
    assert plan.certificates.ca_cert == current.ca_cert
    assert sans(plan.certificates) == ([SERVICE, f"{SERVICE}.cluster.local"], ["127.0.0.1"])


def test_a_missing_ip_address_is_a_mismatch_too() -> None:
    wanted = dataclasses.replace(REQUIREMENTS, ip_addresses=("127.0.0.1", "::1"))
    plan = plan_certificates(issued(), requirements=wanted, now=NOW)
    assert plan.action is CertificateAction.ISSUE
    assert plan.reason == "the serving certificate does not cover ::1"
    assert ipaddress.ip_address("::1") in [
        ipaddress.ip_address(ip) for ip in sans(plan.certificates)[1]
    ]


def test_names_compare_without_case() -> None:
    wanted = dataclasses.replace(REQUIREMENTS, dns_names=(SERVICE.upper(),))
    assert plan_certificates(issued(), requirements=wanted, now=NOW).action is (
        CertificateAction.KEEP
    )


def test_an_expiring_ca_is_replaced_with_a_new_one() -> None:
    current = issued(valid_days=365, ca_valid_days=400)
    later = NOW + timedelta(days=380)  # CA: 20 days left
    plan = plan_certificates(current, requirements=REQUIREMENTS, now=later)
    assert plan.action is CertificateAction.NEW_CA
    assert plan.reason.startswith("the CA expires at ")
    assert plan.certificates.ca_cert != current.ca_cert
    leaf(plan.certificates).verify_directly_issued_by(ca(plan.certificates))


def test_a_renewed_certificate_never_outlives_the_kept_ca() -> None:
    current = issued(valid_days=30, ca_valid_days=100)
    later = NOW + timedelta(days=20)  # leaf: 10 days left; CA: 80 days left
    plan = plan_certificates(current, requirements=REQUIREMENTS, now=later)
    assert plan.action is CertificateAction.ISSUE
    assert leaf(plan.certificates).not_valid_after_utc == ca(current).not_valid_after_utc


def test_a_certificate_from_another_ca_is_reissued_under_the_stored_one() -> None:
    stored, stranger = issued(), issued()
    mixed = dataclasses.replace(stored, tls_cert=stranger.tls_cert, tls_key=stranger.tls_key)
    plan = plan_certificates(mixed, requirements=REQUIREMENTS, now=NOW)
    assert plan.action is CertificateAction.ISSUE
    assert plan.reason == "the serving certificate is not signed by the stored CA"
    leaf(plan.certificates).verify_directly_issued_by(ca(stored))


def test_a_serving_key_of_another_certificate_is_reissued() -> None:
    stored = issued()
    mixed = dataclasses.replace(stored, tls_key=issued().tls_key)
    plan = plan_certificates(mixed, requirements=REQUIREMENTS, now=NOW)
    assert plan.action is CertificateAction.ISSUE
    assert plan.reason == "the serving key is not the key of the serving certificate"


def test_a_secret_with_only_a_ca_keeps_the_ca() -> None:
    stored = issued()
    partial = certificates_from_secret(
        {"data": {"ca.crt": secret_data(stored)["ca.crt"], "ca.key": secret_data(stored)["ca.key"]}}
    )
    plan = plan_certificates(partial, requirements=REQUIREMENTS, now=NOW)
    assert plan.action is CertificateAction.ISSUE
    assert plan.certificates.ca_cert == stored.ca_cert


@pytest.mark.parametrize(
    "data",
    [{}, {"ca.crt": "not base64!"}, {"ca.crt": base64.b64encode(b"junk").decode()}],
)
def test_an_empty_or_unreadable_secret_gets_a_new_ca(data: dict[str, str]) -> None:
    plan = plan_certificates(
        certificates_from_secret({"data": data}), requirements=REQUIREMENTS, now=NOW
    )
    assert plan.action is CertificateAction.NEW_CA
    assert plan.reason == "the stored CA certificate or key is missing or unreadable"


def test_a_ca_key_of_another_ca_gets_a_new_ca() -> None:
    stored = dataclasses.replace(issued(), ca_key=issued().ca_key)
    plan = plan_certificates(stored, requirements=REQUIREMENTS, now=NOW)
    assert plan.action is CertificateAction.NEW_CA
    assert plan.reason == "the stored CA key is not the ECDSA key of the CA certificate"


def test_secret_data_round_trips() -> None:
    stored = issued()
    assert certificates_from_secret({"data": secret_data(stored)}) == stored


def test_the_ca_bundle_patch_names_only_stale_webhooks() -> None:
    bundle = issued().ca_bundle
    configuration = {
        "webhooks": [
            {"name": "a.imagegate.dev", "clientConfig": {"url": "https://x", "caBundle": bundle}},
            {"name": "b.imagegate.dev", "clientConfig": {"url": "https://x"}},
            {"name": "c.imagegate.dev", "clientConfig": {"caBundle": "b2xk"}},
        ]
    }
    assert ca_bundle_patch(configuration, bundle) == {
        "webhooks": [
            {"name": "b.imagegate.dev", "clientConfig": {"caBundle": bundle}},
            {"name": "c.imagegate.dev", "clientConfig": {"caBundle": bundle}},
        ]
    }
    current = {"webhooks": [{"name": "a", "clientConfig": {"caBundle": bundle}}]}
    assert ca_bundle_patch(current, bundle) is None
    assert ca_bundle_patch({}, bundle) is None


def test_a_renewal_window_as_long_as_the_lifetime_is_refused() -> None:
    with pytest.raises(CertificateError, match="renew_before_days"):
        CertificateRequirements(dns_names=(SERVICE,), valid_days=30, renew_before_days=30)


def test_a_check_interval_must_be_positive() -> None:
    with pytest.raises(CertificateError, match="interval"):
        CertificateSettings(
            secret_name="imagegate-tls",
            namespace="imagegate",
            tls_cert=Path("tls.crt"),
            tls_key=Path("tls.key"),
            requirements=REQUIREMENTS,
            check_interval_s=0,
        )
