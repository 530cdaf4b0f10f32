"""The certificates and keys a throwaway control plane needs, made with cryptography."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from imagegate.tls import generate_certificates, write_certificates


@dataclass(frozen=True)
class ClusterPki:
    """Files of the control plane's PKI, all in one directory."""

    ca_cert: Path
    """Signs the API server's serving certificate and the admin's client certificate."""
    serving_cert: Path
    serving_key: Path
    admin_cert: Path
    admin_key: Path
    service_account_key: Path
    service_account_public_key: Path
    node_cert: Path | None = None
    """kubelet's client certificate (``system:node:<name>``, group system:nodes)."""
    node_key: Path | None = None

    def apiserver_flags(self, *, cert_dir: Path) -> list[str]:
        """kube-apiserver's flags for this PKI: its serving pair, the client CA, and
        the keys that sign and check service-account tokens."""
        return [
            f"--cert-dir={cert_dir}",
            f"--tls-cert-file={self.serving_cert}",
            f"--tls-private-key-file={self.serving_key}",
            f"--client-ca-file={self.ca_cert}",
            "--service-account-issuer=https://kubernetes.default.svc",
            f"--service-account-key-file={self.service_account_public_key}",
            f"--service-account-signing-key-file={self.service_account_key}",
        ]


def make_cluster_pki(
    directory: Path,
    *,
    now: datetime,
    extra_ips: tuple[str, ...] = (),
    node_name: str | None = None,
) -> ClusterPki:
    """A CA, kube-apiserver's serving certificate (also for ``extra_ips``), an admin
    client certificate (group system:masters), a service-account signing key and,
    with ``node_name``, the node's client certificate."""
    generated = generate_certificates(
        dns_names=["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"],
        ip_addresses=["127.0.0.1", "10.0.0.1", *extra_ips],
        now=now,
    )
    paths = write_certificates(generated, directory)
    ca_key = serialization.load_pem_private_key(generated.ca_key, password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate(generated.ca_cert)
    service_account_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def write(name: str, data: bytes) -> Path:
        path = directory / name
        path.write_bytes(data)
        path.chmod(0o600)
        return path

    def client(file_stem: str, common_name: str, group: str) -> tuple[Path, Path]:
        key, cert = _client_certificate(ca_key, ca_cert, common_name, group, now)
        return (
            write(f"{file_stem}.crt", cert.public_bytes(serialization.Encoding.PEM)),
            write(f"{file_stem}.key", _private_pem(key)),
        )

    admin_cert, admin_key = client("admin", "e2e-admin", "system:masters")
    node_cert, node_key = (
        client("node", f"system:node:{node_name}", "system:nodes") if node_name else (None, None)
    )
    return ClusterPki(
        ca_cert=paths.ca_cert,
        serving_cert=paths.tls_cert,
        serving_key=paths.tls_key,
        admin_cert=admin_cert,
        admin_key=admin_key,
        node_cert=node_cert,
        node_key=node_key,
        service_account_key=write("sa.key", _private_pem(service_account_key)),
        service_account_public_key=write(
            "sa.pub",
            service_account_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        ),
    )


def _client_certificate(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    common_name: str,
    group: str,
    now: datetime,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, group),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, certificate


def _private_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
