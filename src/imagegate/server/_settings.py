"""Settings of the ``imagegate serve`` process."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, field
from pathlib import Path

from imagegate.admission import AdmissionSettings
from imagegate.api import ApiSettings
from imagegate.cluster import ClusterWatchSettings
from imagegate.errors import InvalidInputError
from imagegate.kube import CertificateSettings
from imagegate.store import DEFAULT_STORE_URL
from imagegate.tracking import TrackerSettings

EVENT_LOOPS = frozenset({"auto", "uvloop", "asyncio"})
RECORD_FROM = frozenset({"auto", "cluster", "admission"})


class SettingsError(InvalidInputError):
    """Settings that cannot work together; the message says which and why."""


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Where and how the server listens, and what it serves from."""

    host: str = "127.0.0.1"
    """Address to bind; without TLS only a loopback address is allowed."""
    port: int = 8080
    """TCP port to bind; 0 picks a free one."""
    tls_cert: Path | None = None
    """PEM certificate chain; TLS is on when this and ``tls_key`` are set."""
    tls_key: Path | None = None
    """PEM private key of ``tls_cert``."""
    store_url: str = DEFAULT_STORE_URL
    """Where records live, e.g. ``sqlite:///var/lib/imagegate/imagegate.db``."""
    tracker: TrackerSettings = field(default_factory=TrackerSettings)
    """How unknown environments are treated."""
    api: ApiSettings = field(default_factory=ApiSettings)
    """Behaviour of the HTTP API."""
    admission: AdmissionSettings = field(default_factory=AdmissionSettings)
    """The admission webhook: cluster name, environments, policy, spool."""
    tls_reload_interval_s: float = 10.0
    """How often the certificate files are checked for a new certificate."""
    shutdown_drain_s: float = 5.0
    """How long shutdown waits for the recorder to empty the spool into the store;
    what is left stays in the spool file and is written after the next start."""
    shutdown_timeout_s: float = 10.0
    """How long in-flight requests may finish after SIGTERM."""
    event_loop: str = "auto"
    """``uvloop`` (faster, needs the package), ``asyncio``, or ``auto``: uvloop when
    installed."""
    certificates: CertificateSettings | None = None
    """Self-managed certificates: imagegate keeps its TLS Secret, the ``tls_cert`` and
    ``tls_key`` files and the webhooks' caBundle itself; None when they come from outside."""
    record_from: str = "auto"
    """``cluster``: records follow what the API server persisted (a watch); ``admission``:
    what the webhook admitted; ``auto``: cluster when the cluster's API can be read."""
    cluster_watch: ClusterWatchSettings = field(default_factory=ClusterWatchSettings)
    """What the cluster watch leaves out, and how often it reconciles."""

    @property
    def tls(self) -> bool:
        """Whether the server speaks TLS."""
        return self.tls_cert is not None

    def validate(self) -> ServerSettings:
        """Return self if the settings can work, else raise SettingsError."""
        if (self.tls_cert is None) != (self.tls_key is None):
            raise SettingsError("--tls-cert and --tls-key go together")
        if not self.tls and not is_loopback(self.host):
            raise SettingsError(
                f"refusing plain HTTP on {self.host}: API keys would cross the network in "
                "clear text; give --tls-cert and --tls-key, or listen on 127.0.0.1"
            )
        if self.admission.callers is not None and not self.tls:
            raise SettingsError(
                "--webhook-client-ca needs --tls-cert and --tls-key: client certificates "
                "are only presented over TLS"
            )
        if self.certificates is not None and (
            self.certificates.tls_cert != self.tls_cert or self.certificates.tls_key != self.tls_key
        ):
            raise SettingsError(
                "--self-managed-certs writes the files the server loads: give --tls-cert and "
                "--tls-key (e.g. in an emptyDir)"
            )
        interval = self.admission.heartbeat_interval_s
        if not (math.isfinite(interval) and interval >= 0):
            raise SettingsError(
                f"--heartbeat-interval {interval:g}: give seconds, 0 or more (0 spools every "
                "admission)"
            )
        if self.event_loop not in EVENT_LOOPS:
            raise SettingsError(
                f"event loop {self.event_loop!r}: one of {', '.join(sorted(EVENT_LOOPS))}"
            )
        facts_timeout = self.admission.facts_timeout_s
        if not (math.isfinite(facts_timeout) and facts_timeout > 0):
            raise SettingsError(f"--facts-timeout {facts_timeout:g}: give seconds, more than 0")
        if self.record_from not in RECORD_FROM:
            raise SettingsError(
                f"--record-from {self.record_from!r}: one of {', '.join(sorted(RECORD_FROM))}"
            )
        reconcile = self.cluster_watch.reconcile_interval_s
        if not (math.isfinite(reconcile) and reconcile > 0):
            raise SettingsError(f"--reconcile-interval {reconcile:g}: give seconds, more than 0")
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"port {self.port} is not a TCP port")
        return self


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
