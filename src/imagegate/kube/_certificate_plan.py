"""Deciding what to do with a webhook certificate Secret, without IO: keep it, renew
the serving certificate under the same CA, or start a new CA; what a Secret holds and
how a webhook configuration's caBundle is patched. :class:`CertificateManager`
(``_certificates.py``) does the IO around it."""

from __future__ import annotations

import base64
import binascii
import enum
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from imagegate.tls import (
    CA_CERT_FILE,
    CA_KEY_FILE,
    TLS_CERT_FILE,
    TLS_KEY_FILE,
    CertificateError,
    GeneratedCertificates,
    generate_certificates,
)


@dataclass(frozen=True, slots=True)
class CertificateRequirements:
    """What the serving certificate must cover, and how long certificates live."""

    dns_names: tuple[str, ...]
    """DNS names the webhook is called at, e.g. ``imagegate.imagegate.svc``."""
    ip_addresses: tuple[str, ...] = ()
    """IP addresses the webhook is called at (rare in a cluster; useful on loopback)."""
    valid_days: int = 365
    """Lifetime of a new serving certificate."""
    ca_valid_days: int = 3650
    """Lifetime of a new CA; long, because a new CA means a new caBundle everywhere."""
    renew_before_days: int = 30
    """A certificate (or CA) that expires within this many days is replaced."""

    def __post_init__(self) -> None:
        if not 0 <= self.renew_before_days < self.valid_days:
            # Otherwise every new certificate would already be due for renewal.
            raise CertificateError(
                f"renew_before_days ({self.renew_before_days}) must be at least 0 and less "
                f"than valid_days ({self.valid_days})"
            )

    @property
    def renew_before(self) -> timedelta:
        """:attr:`renew_before_days` as a duration."""
        return timedelta(days=self.renew_before_days)


class CertificateAction(enum.Enum):
    """What :func:`plan_certificates` decided."""

    KEEP = "keep"
    """The Secret's certificates are fine as they are."""
    ISSUE = "issue"
    """A new serving certificate, signed by the Secret's CA (the caBundle stays)."""
    NEW_CA = "new-ca"
    """A new CA and serving certificate (the caBundle changes)."""


@dataclass(frozen=True, slots=True)
class CertificatePlan:
    """The decision, why, and the certificates to hold afterwards."""

    action: CertificateAction
    reason: str
    certificates: GeneratedCertificates


@dataclass(frozen=True, slots=True)
class CertificateOutcome:
    """What one :meth:`CertificateManager.ensure` pass did."""

    action: CertificateAction
    """What this replica decided; KEEP also when it adopted another replica's write."""
    secret_written: bool
    """Whether this replica created or updated the Secret."""
    files_written: bool
    """Whether ``tls.crt``/``tls.key`` changed on disk."""
    patched_configurations: tuple[str, ...]
    """Webhook configurations (``kind/name``) whose caBundle was patched."""
    certificates: GeneratedCertificates = field(repr=False)
    """What the Secret holds now."""
    missing_configurations: tuple[str, ...] = ()
    """Webhook configurations (``kind/name``) that do not exist (yet)."""


# --- Pure: deciding -----------------------------------------------------------------------


def plan_certificates(
    current: GeneratedCertificates | None,
    *,
    requirements: CertificateRequirements,
    now: datetime,
) -> CertificatePlan:
    """Keep ``current`` if it serves ``requirements`` beyond the renewal window, else replace.

    The CA is kept whenever it outlives the window, so that a new serving
    certificate does not change the caBundle. Missing or unreadable parts count
    as absent. No IO; new keys come from the system's random source.
    """
    if current is None:
        return _new_ca(requirements, now, "no certificate stored yet")
    ca = _ca_of(current)
    if isinstance(ca, str):
        return _new_ca(requirements, now, ca)
    ca_cert, ca_key = ca
    if ca_cert.not_valid_after_utc - now <= requirements.renew_before:
        expiry = ca_cert.not_valid_after_utc.isoformat()
        return _new_ca(requirements, now, f"the CA expires at {expiry}")
    problem = _serving_problem(current, ca_cert, requirements, now)
    if problem is None:
        return CertificatePlan(CertificateAction.KEEP, "valid", current)
    return CertificatePlan(
        CertificateAction.ISSUE,
        problem,
        _issue_under(current, ca_cert, ca_key, requirements, now),
    )


def certificates_from_secret(document: Mapping[str, Any]) -> GeneratedCertificates:
    """The four PEM entries of a Secret; an absent or undecodable entry is empty."""
    data = document.get("data") or {}

    def entry(key: str) -> bytes:
        try:
            return base64.b64decode(data.get(key) or "", validate=True)
        except (binascii.Error, ValueError):
            return b""

    return GeneratedCertificates(
        ca_cert=entry(CA_CERT_FILE),
        ca_key=entry(CA_KEY_FILE),
        tls_cert=entry(TLS_CERT_FILE),
        tls_key=entry(TLS_KEY_FILE),
    )


def secret_data(certificates: GeneratedCertificates) -> dict[str, str]:
    """The ``data`` of a Secret holding ``certificates``."""
    return {
        CA_CERT_FILE: _b64(certificates.ca_cert),
        CA_KEY_FILE: _b64(certificates.ca_key),
        TLS_CERT_FILE: _b64(certificates.tls_cert),
        TLS_KEY_FILE: _b64(certificates.tls_key),
    }


def ca_bundle_patch(configuration: Mapping[str, Any], ca_bundle: str) -> dict[str, Any] | None:
    """A strategic merge patch setting ``ca_bundle`` on every webhook lacking it; None if none.

    Webhooks merge by ``name``, so the patch touches only their caBundle, whatever
    else changed in the configuration meanwhile.
    """
    stale = [
        {"name": webhook["name"], "clientConfig": {"caBundle": ca_bundle}}
        for webhook in configuration.get("webhooks") or []
        if (webhook.get("clientConfig") or {}).get("caBundle") != ca_bundle
    ]
    return {"webhooks": stale} if stale else None


def _new_ca(requirements: CertificateRequirements, now: datetime, reason: str) -> CertificatePlan:
    return CertificatePlan(CertificateAction.NEW_CA, reason, _generate(requirements, now))


def _generate(requirements: CertificateRequirements, now: datetime) -> GeneratedCertificates:
    return generate_certificates(
        dns_names=requirements.dns_names,
        ip_addresses=requirements.ip_addresses,
        valid_days=requirements.valid_days,
        ca_valid_days=requirements.ca_valid_days,
        now=now,
    )


def _ca_of(
    current: GeneratedCertificates,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | str:
    """The CA certificate and key, or why they cannot sign."""
    try:
        cert = x509.load_pem_x509_certificate(current.ca_cert)
        key = serialization.load_pem_private_key(current.ca_key, password=None)
    except (ValueError, TypeError):
        return "the stored CA certificate or key is missing or unreadable"
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        return "the stored CA key is not the ECDSA key of the CA certificate"
    return cert, key


def _serving_problem(
    current: GeneratedCertificates,
    ca_cert: x509.Certificate,
    requirements: CertificateRequirements,
    now: datetime,
) -> str | None:
    """Why the stored serving certificate cannot stay, or None if it can."""
    try:
        leaf = x509.load_pem_x509_certificate(current.tls_cert)
        key = serialization.load_pem_private_key(current.tls_key, password=None)
    except (ValueError, TypeError):
        return "the serving certificate or key is missing or unreadable"
    if key.public_key() != leaf.public_key():
        return "the serving key is not the key of the serving certificate"
    try:
        leaf.verify_directly_issued_by(ca_cert)
    except (InvalidSignature, ValueError, TypeError):
        return "the serving certificate is not signed by the stored CA"
    return _lifetime_or_names_problem(leaf, requirements, now)


def _lifetime_or_names_problem(
    leaf: x509.Certificate, requirements: CertificateRequirements, now: datetime
) -> str | None:
    if leaf.not_valid_before_utc > now:
        return f"the serving certificate is valid only from {leaf.not_valid_before_utc.isoformat()}"
    if leaf.not_valid_after_utc - now <= requirements.renew_before:
        return f"the serving certificate expires at {leaf.not_valid_after_utc.isoformat()}"
    missing = _uncovered_names(leaf, requirements)
    if missing:
        return f"the serving certificate does not cover {', '.join(missing)}"
    return None


def _uncovered_names(leaf: x509.Certificate, requirements: CertificateRequirements) -> list[str]:
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [*requirements.dns_names, *requirements.ip_addresses]
    dns = {name.lower() for name in san.get_values_for_type(x509.DNSName)}
    ips = set(san.get_values_for_type(x509.IPAddress))
    missing = [name for name in requirements.dns_names if name.lower() not in dns]
    missing += [ip for ip in requirements.ip_addresses if ipaddress.ip_address(ip) not in ips]
    return missing


def _issue_under(
    current: GeneratedCertificates,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    requirements: CertificateRequirements,
    now: datetime,
) -> GeneratedCertificates:
    """A new serving certificate signed by the kept CA.

    imagegate.tls makes a fresh pair (and so checks names and lifetimes in one
    place); its leaf is then signed again by the kept CA, extensions unchanged but
    the issuer's key identifier, and never outliving that CA.
    """
    fresh = _generate(requirements, now)
    leaf = x509.load_pem_x509_certificate(fresh.tls_cert)
    builder = (
        x509.CertificateBuilder()
        .subject_name(leaf.subject)
        .issuer_name(ca_cert.subject)
        .public_key(leaf.public_key())
        .serial_number(leaf.serial_number)
        .not_valid_before(leaf.not_valid_before_utc)
        .not_valid_after(min(leaf.not_valid_after_utc, ca_cert.not_valid_after_utc))
    )
    for extension in leaf.extensions:
        value: x509.ExtensionType = extension.value
        if isinstance(value, x509.AuthorityKeyIdentifier):
            value = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
        builder = builder.add_extension(value, critical=extension.critical)
    signed = builder.sign(ca_key, hashes.SHA256())
    return GeneratedCertificates(
        ca_cert=current.ca_cert,
        ca_key=current.ca_key,
        tls_cert=signed.public_bytes(serialization.Encoding.PEM),
        tls_key=fresh.tls_key,
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- IO: the Secret, the files, the webhook configurations -------------------------------
