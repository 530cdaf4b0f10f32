"""TLS for the webhook server: a private CA and serving certificate, and hot reloading."""

from imagegate.tls._certificates import (
    CA_CERT_FILE,
    CA_KEY_FILE,
    TLS_CERT_FILE,
    TLS_KEY_FILE,
    CertificateError,
    CertificatePaths,
    GeneratedCertificates,
    generate_certificates,
    write_certificates,
    write_file_atomically,
)
from imagegate.tls._reloading import ReloadingTLSContext

__all__ = [
    "CA_CERT_FILE",
    "CA_KEY_FILE",
    "TLS_CERT_FILE",
    "TLS_KEY_FILE",
    "CertificateError",
    "CertificatePaths",
    "GeneratedCertificates",
    "ReloadingTLSContext",
    "generate_certificates",
    "write_certificates",
    "write_file_atomically",
]
