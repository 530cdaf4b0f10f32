"""A server TLS context that picks up renewed certificate files without a restart."""

from __future__ import annotations

import asyncio
import os
import ssl
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from imagegate.tls._certificates import CertificateError

log = structlog.get_logger("imagegate.tls")

_FileStamp = tuple[int, int, int] | None
# Clocks of the machine that issued a certificate and of this one may differ a little.
_CLOCK_SKEW = timedelta(minutes=5)
_PROC_FD = Path("/proc/self/fd")


@dataclass(frozen=True)
class _Loaded:
    serial_number: int
    not_valid_after: datetime
    loaded_at: datetime


class ReloadingTLSContext:
    """One server ``ssl.SSLContext`` (TLS 1.2+) whose certificate follows its files.

    Reloading loads the new certificate into the same context object, so a server
    started with :attr:`context` uses it for new handshakes; open connections keep
    theirs. A certificate that fails to load never replaces the one being served.
    """

    def __init__(
        self,
        cert_file: Path | str,
        key_file: Path | str,
        *,
        client_ca_file: Path | str | None = None,
    ) -> None:
        """Load ``cert_file`` (PEM chain, leaf first) and ``key_file`` (PEM key).

        With ``client_ca_file``, clients are asked for a certificate, and one they
        present must be signed by that CA (clients without one still connect: what
        may be done without one is the server's decision, per request).

        Raises :class:`CertificateError` naming the file and the reason.
        """
        self._cert_file = Path(cert_file)
        self._key_file = Path(key_file)
        self._context = _server_context()
        if client_ca_file is not None:
            _ask_for_client_certificates(self._context, Path(client_ca_file))
        self._stamps = self._file_stamps()
        self._loaded = self._load_into(self._context)
        self.reloads = 0
        """Successful reloads since the first load."""
        self.reload_failures = 0
        """Reloads that failed and left the previous certificate in place."""
        log.info(
            "tls_certificate_loaded",
            cert_file=str(self._cert_file),
            serial_number=f"{self.serial_number:x}",
            not_valid_after=self.not_valid_after.isoformat(),
        )

    @property
    def context(self) -> ssl.SSLContext:
        """The context to give the server; the same object for the server's whole life."""
        return self._context

    @property
    def cert_file(self) -> Path:
        """The certificate chain file watched."""
        return self._cert_file

    @property
    def key_file(self) -> Path:
        """The private key file watched."""
        return self._key_file

    @property
    def serial_number(self) -> int:
        """Serial number of the leaf certificate being served."""
        return self._loaded.serial_number

    @property
    def not_valid_after(self) -> datetime:
        """When the leaf certificate being served expires (UTC)."""
        return self._loaded.not_valid_after

    @property
    def loaded_at(self) -> datetime:
        """When the certificate being served was loaded (UTC)."""
        return self._loaded.loaded_at

    def reload(self) -> bool:
        """Load the files again now; False (and a warning) if they fail, keeping the old ones."""
        # Stamped before reading, so a change during the read is seen at the next tick.
        self._stamps = self._file_stamps()
        try:
            loaded = self._load_into(self._context)
        except CertificateError as error:
            self.reload_failures += 1
            log.warning(
                "tls_reload_failed",
                error=str(error),
                cert_file=str(self._cert_file),
                key_file=str(self._key_file),
                serving_serial_number=f"{self.serial_number:x}",
            )
            return False
        self._loaded = loaded
        self.reloads += 1
        log.info(
            "tls_certificate_reloaded",
            cert_file=str(self._cert_file),
            serial_number=f"{loaded.serial_number:x}",
            not_valid_after=loaded.not_valid_after.isoformat(),
        )
        return True

    async def watch(
        self, interval_s: float = 10.0, *, on_failure: Callable[[], None] = lambda: None
    ) -> None:
        """Poll the files every ``interval_s`` seconds and reload when they change.

        Runs until cancelled; meant as a named background task. A change is a new
        mtime, size or inode of either file (Kubernetes swaps Secret volumes by
        symlink, which changes the inode). A failed reload is retried at the next change.
        """
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, not {interval_s}")
        while True:
            await asyncio.sleep(interval_s)
            # Loading takes about a millisecond and must not race handshakes on the
            # loop's thread, so it runs here rather than in a worker thread.
            if self._file_stamps() != self._stamps and not self.reload():
                on_failure()

    def _file_stamps(self) -> tuple[_FileStamp, _FileStamp]:
        return _stamp(self._cert_file), _stamp(self._key_file)

    def _load_into(self, context: ssl.SSLContext) -> _Loaded:
        cert_pem = _read(self._cert_file)
        key_pem = _read(self._key_file)
        leaf = self._checked_pair(cert_pem, key_pem)
        try:
            _load_verified(context, key_pem + b"\n" + cert_pem)
        except OSError as error:  # ssl.SSLError included
            raise CertificateError(
                f"cannot load {self._cert_file} with {self._key_file}: {error}"
            ) from error
        return _Loaded(
            serial_number=leaf.serial_number,
            not_valid_after=leaf.not_valid_after_utc,
            loaded_at=datetime.now(UTC),
        )

    def _checked_pair(self, cert_pem: bytes, key_pem: bytes) -> x509.Certificate:
        try:
            chain = x509.load_pem_x509_certificates(cert_pem)
        except ValueError as error:
            raise CertificateError(
                f"{self._cert_file}: not a PEM certificate chain ({error})"
            ) from error
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError) as error:
            # TypeError is how cryptography reports an encrypted key without a password.
            raise CertificateError(
                f"{self._key_file}: not an unencrypted PEM private key ({error})"
            ) from error
        leaf = chain[0]
        if leaf.public_key() != key.public_key():
            raise CertificateError(
                f"{self._key_file} is not the private key of the certificate in {self._cert_file}"
            )
        now = datetime.now(UTC)
        if leaf.not_valid_after_utc <= now:
            raise CertificateError(
                f"{self._cert_file}: the certificate expired at "
                f"{leaf.not_valid_after_utc.isoformat()}"
            )
        if leaf.not_valid_before_utc > now + _CLOCK_SKEW:
            raise CertificateError(
                f"{self._cert_file}: the certificate is not valid before "
                f"{leaf.not_valid_before_utc.isoformat()}"
            )
        return leaf


def _server_context() -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _ask_for_client_certificates(context: ssl.SSLContext, ca_file: Path) -> None:
    try:
        context.load_verify_locations(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as error:
        raise CertificateError(f"{ca_file}: not a readable PEM CA bundle ({error})") from error
    context.verify_mode = ssl.CERT_OPTIONAL


def _stamp(path: Path) -> _FileStamp:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size, status.st_ino


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise CertificateError(f"cannot read {path}: {error.strerror}") from error


def _load_verified(context: ssl.SSLContext, pem: bytes) -> None:
    # load_cert_chain drops the served key as soon as a mismatched certificate is
    # loaded, so the same bytes must load into a scratch context first.
    with _private_file(pem) as path:
        _server_context().load_cert_chain(path)
        context.load_cert_chain(path)


@contextmanager
def _private_file(data: bytes) -> Iterator[str]:
    """A path to ``data`` that only this process can read, removed afterwards."""
    # An anonymous memory file keeps keys off disk and works on a read-only root filesystem.
    if hasattr(os, "memfd_create") and _PROC_FD.is_dir():
        descriptor = os.memfd_create("imagegate-tls", os.MFD_CLOEXEC)
        try:
            _write_all(descriptor, data)
            yield str(_PROC_FD / str(descriptor))
        finally:
            os.close(descriptor)
        return
    descriptor, path = tempfile.mkstemp(prefix="imagegate-tls-", suffix=".pem")
    try:
        try:
            _write_all(descriptor, data)
        finally:
            os.close(descriptor)
        yield path
    finally:
        Path(path).unlink(missing_ok=True)


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]
