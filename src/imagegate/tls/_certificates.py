"""A private CA and a serving certificate for the webhook, written as a TLS Secret holds them."""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from imagegate.errors import InvalidInputError

CA_CERT_FILE = "ca.crt"
CA_KEY_FILE = "ca.key"
TLS_CERT_FILE = "tls.crt"
TLS_KEY_FILE = "tls.key"

_CA_COMMON_NAME = "imagegate webhook CA"
_FALLBACK_COMMON_NAME = "imagegate webhook"
_MAX_COMMON_NAME = 64
_MAX_DNS_NAME = 253
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


class CertificateError(InvalidInputError):
    """Certificates cannot be made, written or loaded; the message says which input and why."""


@dataclass(frozen=True)
class GeneratedCertificates:
    """A CA and a serving certificate it signed, all PEM-encoded."""

    ca_cert: bytes
    """The CA certificate: what clients (kube-apiserver) must trust."""
    ca_key: bytes = field(repr=False)
    """The CA private key (PKCS#8); needed only to sign a later certificate."""
    tls_cert: bytes
    """The serving certificate, for the server's ``tls.crt``."""
    tls_key: bytes = field(repr=False)
    """The serving private key (PKCS#8), for the server's ``tls.key``."""

    @property
    def ca_bundle(self) -> str:
        """Base64 of the CA PEM: the ``caBundle`` of a webhook configuration's ``clientConfig``."""
        return base64.b64encode(self.ca_cert).decode("ascii")


@dataclass(frozen=True)
class CertificatePaths:
    """Where :func:`write_certificates` put each file."""

    directory: Path
    ca_cert: Path
    ca_key: Path
    tls_cert: Path
    tls_key: Path


def generate_certificates(
    *,
    dns_names: Sequence[str],
    ip_addresses: Sequence[str] = (),
    valid_days: int = 365,
    ca_valid_days: int = 3650,
    now: datetime,
) -> GeneratedCertificates:
    """Make a new CA and a serving certificate for ``dns_names`` and ``ip_addresses``.

    Both are valid from ``now`` (timezone-aware, to the second) for their number of
    days. Keys are ECDSA P-256. Raises :class:`CertificateError` for invalid input.
    """
    names = _checked_dns_names(dns_names)
    addresses = _checked_ip_addresses(ip_addresses)
    if not names and not addresses:
        raise CertificateError("give at least one DNS name or IP address for the certificate")
    _check_validity(valid_days=valid_days, ca_valid_days=ca_valid_days, now=now)
    start = now.replace(microsecond=0)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _ca_certificate(ca_key, start=start, days=ca_valid_days)
    tls_key = ec.generate_private_key(ec.SECP256R1())
    common_name = names[0] if names else str(addresses[0])
    san = x509.SubjectAlternativeName(
        [x509.DNSName(name) for name in names] + [x509.IPAddress(ip) for ip in addresses]
    )
    tls_cert = (
        _builder(
            subject=_common_name(common_name),
            issuer=ca_cert.subject,
            public_key=tls_key.public_key(),
            start=start,
            days=valid_days,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_serving_key_usage(tls_key), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(san, critical=False)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(tls_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return GeneratedCertificates(
        ca_cert=ca_cert.public_bytes(serialization.Encoding.PEM),
        ca_key=_private_pem(ca_key),
        tls_cert=tls_cert.public_bytes(serialization.Encoding.PEM),
        tls_key=_private_pem(tls_key),
    )


def write_certificates(certs: GeneratedCertificates, directory: Path) -> CertificatePaths:
    """Write ``ca.crt``, ``ca.key``, ``tls.crt`` and ``tls.key`` into ``directory``.

    Creates the directory; each file is replaced atomically, so a reader never sees
    a half-written one. Keys are readable by their owner only (0600).
    """
    paths = CertificatePaths(
        directory=directory,
        ca_cert=directory / CA_CERT_FILE,
        ca_key=directory / CA_KEY_FILE,
        tls_cert=directory / TLS_CERT_FILE,
        tls_key=directory / TLS_KEY_FILE,
    )
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CertificateError(f"cannot create {directory}: {error.strerror}") from error
    write_file_atomically(paths.ca_key, certs.ca_key, mode=0o600)
    write_file_atomically(paths.ca_cert, certs.ca_cert, mode=0o644)
    # Key before certificate: a reloading server then sees at most one mismatched moment.
    write_file_atomically(paths.tls_key, certs.tls_key, mode=0o600)
    write_file_atomically(paths.tls_cert, certs.tls_cert, mode=0o644)
    return paths


def _checked_dns_names(dns_names: Sequence[str]) -> list[str]:
    if isinstance(dns_names, str):
        # A bare string is a sequence of one-letter names; almost surely a mistake.
        raise CertificateError(
            f"dns_names must be a sequence of names, not the string {dns_names!r}"
        )
    checked: list[str] = []
    for name in dns_names:
        _check_dns_name(name)
        if name not in checked:
            checked.append(name)
    return checked


def _check_dns_name(name: str) -> None:
    if not name:
        raise CertificateError("invalid DNS name '': it is empty")
    if len(name) > _MAX_DNS_NAME:
        raise CertificateError(f"invalid DNS name {name!r}: longer than {_MAX_DNS_NAME} characters")
    if _is_ip_address(name):
        raise CertificateError(
            f"invalid DNS name {name!r}: it is an IP address; give it as an IP address instead"
        )
    labels = name.split(".")
    if "*" in name:
        if labels[0] != "*" or "*" in ".".join(labels[1:]):
            raise CertificateError(
                f"invalid DNS name {name!r}: "
                "a wildcard may only be the whole first label (*.example.com)"
            )
        if len(labels) < 2:
            raise CertificateError(
                f"invalid DNS name {name!r}: a wildcard needs a domain after it (*.example.com)"
            )
        labels = labels[1:]
    for label in labels:
        if not _LABEL.fullmatch(label):
            raise CertificateError(
                f"invalid DNS name {name!r}: label {label!r} is not 1-63 letters, digits or "
                "hyphens starting and ending with a letter or digit (RFC 1123)"
            )


def _checked_ip_addresses(
    ip_addresses: Sequence[str],
) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    if isinstance(ip_addresses, str):
        raise CertificateError(
            f"ip_addresses must be a sequence of addresses, not the string {ip_addresses!r}"
        )
    checked: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for text in ip_addresses:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise CertificateError(f"invalid IP address {text!r}") from None
        if address not in checked:
            checked.append(address)
    return checked


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


_MAX_VALID_DAYS = 36500
"""A hundred years: X.509's GeneralizedTime ends in 9999, Python's dates too."""


def _check_validity(*, valid_days: int, ca_valid_days: int, now: datetime) -> None:
    if valid_days < 1:
        raise CertificateError(f"valid_days must be at least 1, not {valid_days}")
    if ca_valid_days < 1:
        raise CertificateError(f"ca_valid_days must be at least 1, not {ca_valid_days}")
    if ca_valid_days > _MAX_VALID_DAYS:
        raise CertificateError(
            f"a certificate valid for {ca_valid_days} days outlives any date X.509 can "
            f"write; at most {_MAX_VALID_DAYS}"
        )
    if valid_days > ca_valid_days:
        raise CertificateError(
            f"valid_days ({valid_days}) exceeds ca_valid_days ({ca_valid_days}): "
            "the certificate would outlive its CA"
        )
    if now.tzinfo is None or now.utcoffset() is None:
        raise CertificateError("now must be a timezone-aware datetime, e.g. datetime.now(UTC)")


def _ca_certificate(
    key: ec.EllipticCurvePrivateKey, *, start: datetime, days: int
) -> x509.Certificate:
    subject = _common_name(_CA_COMMON_NAME)
    return (
        _builder(
            subject=subject, issuer=subject, public_key=key.public_key(), start=start, days=days
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _builder(
    *,
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    start: datetime,
    days: int,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
    )


def _common_name(name: str) -> x509.Name:
    # X.509 caps a CN at 64 characters; clients match on the SANs anyway.
    value = name if len(name) <= _MAX_COMMON_NAME else _FALLBACK_COMMON_NAME
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, value)])


def _serving_key_usage(key: CertificateIssuerPrivateKeyTypes) -> x509.KeyUsage:
    # Key encipherment is meaningful only for RSA key exchange (RFC 5280, 4.2.1.3).
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=isinstance(key, rsa.RSAPrivateKey),
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_file_atomically(path: Path, data: bytes, *, mode: int) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never half.

    The directory is created if needed; CertificateError says what failed.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # mkstemp creates the file 0600, so a key is never readable by others, even briefly.
        descriptor, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as error:
        raise CertificateError(f"cannot write {path}: {error.strerror}") from error
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
            os.fchmod(file.fileno(), mode)
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise CertificateError(f"cannot write {path}: {error.strerror}") from error
