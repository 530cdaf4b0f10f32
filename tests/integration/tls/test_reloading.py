"""A real aiohttp server on TLS whose certificate is replaced on disk while it serves."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from ipaddress import ip_address
from pathlib import Path

import pytest
import structlog
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from imagegate.tls import (
    CertificateError,
    CertificatePaths,
    GeneratedCertificates,
    ReloadingTLSContext,
    generate_certificates,
    write_certificates,
)
from imagegate.tracking import utc_now

WATCH_INTERVAL_S = 0.05
RELOAD_TIMEOUT_S = 5.0


class ObservedTLSContext(ReloadingTLSContext):
    """The real context, announcing each reload attempt so that tests await it, not poll."""

    def __init__(self, cert_file: Path, key_file: Path) -> None:
        super().__init__(cert_file, key_file)
        self.attempted = asyncio.Event()

    def reload(self) -> bool:
        try:
            return super().reload()
        finally:
            self.attempted.set()

    async def until(self, condition: Callable[[], bool]) -> None:
        """Wait, within a bound, until a reload attempt leaves ``condition`` true."""
        async with asyncio.timeout(RELOAD_TIMEOUT_S):
            while not condition():
                self.attempted.clear()
                await self.attempted.wait()


@dataclass
class Served:
    """A TLS server running with certificate A, and what a client needs to reach it."""

    port: int
    tls: ObservedTLSContext
    first: GeneratedCertificates
    paths: CertificatePaths

    def client(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.paths.ca_cert))


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    first = generate_certificates(
        dns_names=["localhost"], ip_addresses=["127.0.0.1"], now=utc_now()
    )
    paths = write_certificates(first, tmp_path / "certs")
    tls = ObservedTLSContext(paths.tls_cert, paths.tls_key)
    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls.context)
        await site.start()
        port: int = runner.addresses[0][1]
        yield Served(port=port, tls=tls, first=first, paths=paths)
    finally:
        await runner.cleanup()


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


async def test_server_presents_the_loaded_certificate(served: Served) -> None:
    serial = await served_serial(served.port, served.client())
    assert serial == serial_of(served.first.tls_cert)
    assert serial == served.tls.serial_number


async def test_ip_san_verifies_too(served: Served) -> None:
    serial = await served_serial(served.port, served.client(), server_hostname="127.0.0.1")
    assert serial == serial_of(served.first.tls_cert)


async def test_http_is_answered_over_tls(served: Served) -> None:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", served.port, ssl=served.client(), server_hostname="localhost"
    )
    try:
        assert await http_get(reader, writer) == b"hello"
    finally:
        await close(writer)


async def test_client_trusting_another_ca_refuses_the_server(
    served: Served, tmp_path: Path
) -> None:
    other = write_certificates(
        generate_certificates(dns_names=["localhost"], now=utc_now()), tmp_path / "other"
    )
    client = ssl.create_default_context(cafile=str(other.ca_cert))
    with pytest.raises(ssl.SSLCertVerificationError):
        await served_serial(served.port, client)


async def test_name_not_in_the_certificate_is_refused(served: Served) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        await served_serial(served.port, served.client(), server_hostname="elsewhere.example")


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
async def test_tls_1_1_is_refused_and_tls_1_2_accepted(served: Served) -> None:
    old = served.client()
    old.minimum_version = ssl.TLSVersion.TLSv1
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    with contextlib.suppress(ssl.SSLError):
        # Let the client offer TLS 1.1 if this OpenSSL can, so that the server is what refuses.
        old.set_ciphers("DEFAULT:@SECLEVEL=0")
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        await served_serial(served.port, old)

    tls12 = served.client()
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    assert await served_serial(served.port, tls12) == served.tls.serial_number


async def test_reload_serves_the_new_certificate_to_new_connections_only(served: Served) -> None:
    context = served.tls.context
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", served.port, ssl=served.client(), server_hostname="localhost"
    )
    try:
        second = renewed(served.first)
        write_certificates(second, served.paths.directory)
        loaded_before = served.tls.loaded_at

        assert served.tls.reload() is True

        assert served.tls.reloads == 1
        assert served.tls.reload_failures == 0
        assert served.tls.context is context
        assert served.tls.serial_number == serial_of(second.tls_cert)
        assert served.tls.loaded_at >= loaded_before
        assert await served_serial(served.port, served.client()) == serial_of(second.tls_cert)
        # The connection opened before the reload keeps its certificate and still works.
        assert peer_serial(writer) == serial_of(served.first.tls_cert)
        assert await http_get(reader, writer) == b"hello"
    finally:
        await close(writer)


def broken_key(served: Served) -> bytes:
    return b"-----BEGIN PRIVATE KEY-----\nnot base64 at all\n"


def key_of_another_certificate(served: Served) -> bytes:
    return generate_certificates(dns_names=["localhost"], now=utc_now()).tls_key


@pytest.mark.parametrize("bad_key", [broken_key, key_of_another_certificate])
async def test_failed_reload_keeps_serving_the_previous_certificate(
    served: Served, bad_key: Callable[[Served], bytes]
) -> None:
    second = renewed(served.first)
    write_certificates(second, served.paths.directory)
    assert served.tls.reload() is True
    served.paths.tls_key.write_bytes(bad_key(served))

    with structlog.testing.capture_logs() as logs:
        assert served.tls.reload() is False

    assert served.tls.reload_failures == 1
    assert served.tls.reloads == 1
    assert served.tls.serial_number == serial_of(second.tls_cert)
    assert await served_serial(served.port, served.client()) == serial_of(second.tls_cert)
    [failure] = [entry for entry in logs if entry["event"] == "tls_reload_failed"]
    assert failure["log_level"] == "warning"
    assert str(served.paths.tls_key) in failure["error"]


async def test_watch_reloads_when_the_files_change(served: Served) -> None:
    watcher = asyncio.create_task(served.tls.watch(WATCH_INTERVAL_S), name="tls-watch")
    try:
        second = renewed(served.first)
        write_certificates(second, served.paths.directory)

        await served.tls.until(lambda: served.tls.reloads >= 1)

        assert served.tls.serial_number == serial_of(second.tls_cert)
        assert await served_serial(served.port, served.client()) == serial_of(second.tls_cert)
    finally:
        await stop(watcher)


async def test_watch_survives_a_bad_write_and_retries_on_the_next_change(
    served: Served,
) -> None:
    watcher = asyncio.create_task(served.tls.watch(WATCH_INTERVAL_S), name="tls-watch")
    try:
        served.paths.tls_cert.write_bytes(b"-----BEGIN CERTIFICATE-----\ntruncat")
        await served.tls.until(lambda: served.tls.reload_failures >= 1)
        assert served.tls.reloads == 0
        first_serial = serial_of(served.first.tls_cert)
        assert await served_serial(served.port, served.client()) == first_serial

        second = renewed(served.first)
        write_certificates(second, served.paths.directory)
        await served.tls.until(lambda: served.tls.reloads >= 1)

        assert await served_serial(served.port, served.client()) == serial_of(second.tls_cert)
        assert not watcher.done()
    finally:
        await stop(watcher)


@pytest.mark.parametrize(
    ("issued_days_ago", "message"),
    [(400, "the certificate expired at"), (-2, "the certificate is not valid before")],
    ids=["expired", "not-yet-valid"],
)
async def test_a_certificate_outside_its_validity_is_refused_and_counted(
    served: Served, issued_days_ago: int, message: str
) -> None:
    stale = generate_certificates(
        dns_names=["localhost"],
        now=utc_now() - timedelta(days=issued_days_ago),
        valid_days=365,
    )
    failures: list[None] = []
    watcher = asyncio.create_task(
        served.tls.watch(WATCH_INTERVAL_S, on_failure=lambda: failures.append(None))
    )
    try:
        with structlog.testing.capture_logs() as logs:
            # The serving pair only: the client keeps trusting the first CA.
            served.paths.tls_key.write_bytes(stale.tls_key)
            served.paths.tls_cert.write_bytes(stale.tls_cert)
            await served.tls.until(
                lambda: any(
                    message in entry.get("error", "")
                    for entry in logs
                    if entry["event"] == "tls_reload_failed"
                )
            )
        assert failures
        assert len(failures) == served.tls.reload_failures
        assert served.tls.reloads == 0
        first_serial = serial_of(served.first.tls_cert)
        assert await served_serial(served.port, served.client()) == first_serial
    finally:
        await stop(watcher)


async def test_watch_refuses_a_non_positive_interval(served: Served) -> None:
    with pytest.raises(ValueError, match="interval_s must be positive"):
        await served.tls.watch(0)


def test_context_is_server_side_with_tls_1_2_at_least(tmp_path: Path) -> None:
    paths = write_certificates(
        generate_certificates(dns_names=["localhost"], now=utc_now()), tmp_path
    )
    tls = ReloadingTLSContext(paths.tls_cert, paths.tls_key)
    assert tls.context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert tls.context.protocol == ssl.PROTOCOL_TLS_SERVER
    assert tls.reloads == 0
    assert tls.reload_failures == 0
    assert tls.cert_file == paths.tls_cert
    assert tls.key_file == paths.tls_key
    assert (
        tls.not_valid_after
        == x509.load_pem_x509_certificate(paths.tls_cert.read_bytes()).not_valid_after_utc
    )


@pytest.mark.parametrize(
    ("break_files", "message"),
    [
        (lambda p: p.tls_cert.unlink(), "cannot read {cert}: No such file or directory"),
        (lambda p: p.tls_key.unlink(), "cannot read {key}: No such file or directory"),
        (lambda p: p.tls_cert.write_text("junk"), "{cert}: not a PEM certificate chain"),
        (lambda p: p.tls_key.write_text("junk"), "{key}: not an unencrypted PEM private key"),
        (
            lambda p: p.tls_key.write_bytes(p.ca_key.read_bytes()),
            "{key} is not the private key of the certificate in {cert}",
        ),
    ],
)
def test_first_load_errors_name_the_file_and_the_reason(
    tmp_path: Path, break_files: Callable[[CertificatePaths], object], message: str
) -> None:
    paths = write_certificates(
        generate_certificates(dns_names=["localhost"], now=utc_now()), tmp_path
    )
    break_files(paths)
    with pytest.raises(CertificateError) as raised:
        ReloadingTLSContext(paths.tls_cert, paths.tls_key)
    assert message.format(cert=paths.tls_cert, key=paths.tls_key) in str(raised.value)


def renewed(certs: GeneratedCertificates) -> GeneratedCertificates:
    """A new serving certificate from the same CA, as a renewal would issue it."""
    ca_cert = x509.load_pem_x509_certificate(certs.ca_cert)
    ca_key = serialization.load_pem_private_key(certs.ca_key, password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = utc_now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return GeneratedCertificates(
        ca_cert=certs.ca_cert,
        ca_key=certs.ca_key,
        tls_cert=certificate.public_bytes(serialization.Encoding.PEM),
        tls_key=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def serial_of(pem: bytes) -> int:
    return x509.load_pem_x509_certificate(pem).serial_number


def peer_serial(writer: asyncio.StreamWriter) -> int:
    ssl_object: ssl.SSLObject = writer.get_extra_info("ssl_object")
    der = ssl_object.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


async def served_serial(
    port: int, client: ssl.SSLContext, *, server_hostname: str = "localhost"
) -> int:
    """Serial number of the certificate a new connection is shown."""
    _, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=client, server_hostname=server_hostname
    )
    try:
        return peer_serial(writer)
    finally:
        await close(writer)


async def http_get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n")
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return await reader.readexactly(length)


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    # The peer may drop the connection without a TLS close_notify; that is fine here.
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        await writer.wait_closed()


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
