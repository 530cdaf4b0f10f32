"""A real Kubernetes control plane (etcd + kube-apiserver) as local processes.

Like controller-runtime's envtest: no nodes, no scheduler, no controllers. The
API server stores and admits objects, which is all an admission webhook needs.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from testbed.pki import ClusterPki
from testbed.processes import free_port, stop_process

_START_TIMEOUT_S = 90.0


class ProcessFailedError(RuntimeError):
    """A control-plane process exited or never became ready; the message has its log tail."""


@dataclass
class ManagedProcess:
    """A child process whose output goes to a log file, stopped with SIGTERM."""

    name: str
    command: Sequence[str]
    log_path: Path
    env: dict[str, str] | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> None:
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                list(self.command),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        finally:
            log.close()

    def stop(self, timeout_s: float = 20.0) -> None:
        if self.process is not None:
            stop_process(self.process, timeout_s=timeout_s)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def wait_until(self, ready: Callable[[], bool], *, what: str) -> None:
        """Poll ``ready`` until true: a separate process gives no other signal."""
        deadline = time.monotonic() + _START_TIMEOUT_S
        delay = 0.05
        while time.monotonic() < deadline:
            if not self.alive():
                raise ProcessFailedError(f"{self.name} exited before {what}:\n{self.log_tail()}")
            if ready():
                return
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        raise ProcessFailedError(
            f"{self.name}: no {what} in {_START_TIMEOUT_S}s:\n{self.log_tail()}"
        )


def http_ok(url: str, context: ssl.SSLContext | None = None) -> bool:
    """Whether ``url`` answers 200 right now."""
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class Cluster(Protocol):
    """What the scenarios need of a cluster: its kubeconfig and kubectl."""

    kubeconfig: Path

    def kubectl(
        self, *arguments: str, input_text: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]: ...

    def stop(self) -> None: ...


@dataclass
class ExternalCluster:
    """A cluster that already runs (e.g. kind), reached through its kubeconfig."""

    kubeconfig: Path
    kubectl_path: str = "kubectl"

    def stop(self) -> None:
        """Nothing to stop: the cluster is not ours."""

    def kubectl(
        self, *arguments: str, input_text: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against the cluster."""
        return _kubectl(self.kubectl_path, self.kubeconfig, arguments, input_text, check)


@dataclass
class ControlPlane:
    """etcd and kube-apiserver on free loopback ports, with an admin kubeconfig."""

    bin_dir: Path
    work_dir: Path
    pki: ClusterPki
    extra_flags: tuple[str, ...] = ()
    """More kube-apiserver flags, e.g. an --admission-control-config-file."""
    etcd: ManagedProcess | None = None
    apiserver: ManagedProcess | None = None
    server: str = ""
    kubeconfig: Path = field(default_factory=Path)

    def start(self) -> None:
        self._start_etcd()
        self._start_apiserver()
        self.kubeconfig = self._write_kubeconfig()

    def stop(self) -> None:
        for process in (self.apiserver, self.etcd):
            if process is not None:
                process.stop()

    def admin_ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.pki.ca_cert)
        context.load_cert_chain(self.pki.admin_cert, self.pki.admin_key)
        return context

    def kubectl(
        self, *arguments: str, input_text: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this control plane, as a user would."""
        return _kubectl(
            str(self.bin_dir / "kubectl"), self.kubeconfig, arguments, input_text, check
        )

    def _start_etcd(self) -> None:
        client, peer = free_port(), free_port()
        data = self.work_dir / "etcd-data"
        self.etcd = ManagedProcess(
            name="etcd",
            command=[
                str(self.bin_dir / "etcd"),
                "--name=e2e",
                f"--data-dir={data}",
                f"--listen-client-urls=http://127.0.0.1:{client}",
                f"--advertise-client-urls=http://127.0.0.1:{client}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=e2e=http://127.0.0.1:{peer}",
                # A test cluster lives minutes; durability of its data is not wanted.
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
            log_path=self.work_dir / "etcd.log",
            env=_clean_env(),
        )
        self.etcd.start()
        self._etcd_url = f"http://127.0.0.1:{client}"
        self.etcd.wait_until(lambda: http_ok(f"{self._etcd_url}/health"), what="health")

    def _start_apiserver(self) -> None:
        port = free_port()
        pki = self.pki
        self.server = f"https://127.0.0.1:{port}"
        self.apiserver = ManagedProcess(
            name="kube-apiserver",
            command=[
                str(self.bin_dir / "kube-apiserver"),
                f"--etcd-servers={self._etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                # The default reconciler refuses a loopback advertise address; there
                # are no Service endpoints to keep without nodes anyway.
                "--endpoint-reconciler-type=none",
                f"--secure-port={port}",
                *pki.apiserver_flags(cert_dir=self.work_dir / "apiserver-certs"),
                "--service-cluster-ip-range=10.0.0.0/24",
                "--authorization-mode=RBAC",
                # No controller-manager runs to mint service-account tokens for pods.
                "--disable-admission-plugins=ServiceAccount",
                "--allow-privileged=true",
                "--v=1",
                *self.extra_flags,
            ],
            log_path=self.work_dir / "kube-apiserver.log",
            env=_clean_env(),
        )
        self.apiserver.start()
        context = self.admin_ssl_context()
        self.apiserver.wait_until(lambda: http_ok(f"{self.server}/readyz", context), what="/readyz")

    def _write_kubeconfig(self) -> Path:
        path = self.work_dir / "kubeconfig"
        path.write_text(
            f"""apiVersion: v1
kind: Config
clusters:
  - name: e2e
    cluster:
      server: {self.server}
      certificate-authority: {self.pki.ca_cert}
users:
  - name: admin
    user:
      client-certificate: {self.pki.admin_cert}
      client-key: {self.pki.admin_key}
contexts:
  - name: e2e
    context: {{cluster: e2e, user: admin}}
current-context: e2e
"""
        )
        path.chmod(0o600)
        return path


def _kubectl(
    binary: str,
    kubeconfig: Path,
    arguments: Sequence[str],
    input_text: str | None,
    check: bool,
) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [binary, "--kubeconfig", str(kubeconfig), *arguments],
        input=input_text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=_clean_env(),
    )
    if check and completed.returncode != 0:
        raise AssertionError(
            f"kubectl {' '.join(arguments)} failed ({completed.returncode}):\n"
            f"{completed.stderr}{completed.stdout}"
        )
    return completed


def _clean_env() -> dict[str, str]:
    # etcd reads every ETCD_* variable as a flag, kubectl honours KUBECONFIG: keep
    # the caller's out of the test cluster.
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ETCD_") and key not in ("KUBECONFIG", "HTTPS_PROXY", "HTTP_PROXY")
    }


def admission_configuration(directory: Path, webhook_host: str, callers: ClusterPki) -> Path:
    """kube-apiserver's AdmissionConfiguration (for --admission-control-config-file):
    the webhook plugins present ``callers``' client certificate (its admin pair) to
    ``webhook_host``: host:port as in a webhook URL, a Service's DNS name, or a
    wildcard such as ``*.svc``."""
    kubeconfig = directory / "webhook-clients.kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "users": [
                    {
                        "name": webhook_host,
                        "user": {
                            "client-certificate": str(callers.admin_cert),
                            "client-key": str(callers.admin_key),
                        },
                    }
                ],
            }
        )
    )
    plugin = {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "WebhookAdmissionConfiguration",
        "kubeConfigFile": str(kubeconfig),
    }
    path = directory / "admission-configuration.json"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "apiserver.config.k8s.io/v1",
                "kind": "AdmissionConfiguration",
                "plugins": [
                    {"name": "ValidatingAdmissionWebhook", "configuration": plugin},
                    {"name": "MutatingAdmissionWebhook", "configuration": plugin},
                ],
            }
        )
    )
    return path
