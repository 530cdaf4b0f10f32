"""A whole Kubernetes cluster with one real node, as local processes in a network
namespace of its own: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, containerd (runc, the CNI bridge), kubelet, kube-proxy, CoreDNS
and an OCI registry (Debian's docker-registry).

Like Kubernetes' ``hack/local-up-cluster.sh``, but every address and path is the
harness's own: the node's address is a bridge inside the namespace, the state of
every component lives in the work directory, and :meth:`NodeCluster.stop` takes
down pods, containers, mounts and the namespace, whatever state the tests left.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from testbed.controlplane import (
    ManagedProcess,
    ProcessFailedError,
    admission_configuration,
    http_ok,
)
from testbed.pki import ClusterPki, make_cluster_pki

from cluster import configs
from cluster.configs import Layout
from cluster.netns import NetworkNamespace, remove_stale_namespaces
from imagegate.tracking import utc_now

_NODE_READY_TIMEOUT_S = 120.0
_DRAIN_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ClusterTools:
    """Where the binaries are: ``hack/cluster-tools.sh`` builds them into one directory."""

    bin_dir: Path

    def path(self, name: str) -> str:
        return str(self.bin_dir / name)


@dataclass
class NodeCluster:
    """Start with :meth:`start`; always :meth:`stop`, also after a failure."""

    tools: ClusterTools
    work_dir: Path
    layout: Layout = field(init=False)
    netns: NetworkNamespace = field(init=False)
    pki: ClusterPki | None = None
    webhook_callers: ClusterPki | None = None
    """The CA and client certificate (CN ``e2e-admin``) kube-apiserver presents to
    every webhook Service (``*.svc``), through its AdmissionConfiguration."""
    kubeconfig: Path = field(default_factory=Path)
    processes: dict[str, ManagedProcess] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.layout = Layout(work_dir=self.work_dir)
        self.netns = NetworkNamespace(
            name=f"imagegate-e2e-{os.getpid()}", node_ip=self.layout.node_ip
        )

    # --- the interface the scenarios use (the e2e suite's Cluster protocol) ---------

    def kubectl(
        self,
        *arguments: str,
        input_text: str | None = None,
        check: bool = True,
        timeout_s: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against the cluster, as a user on the node would."""
        return self.run_inside(
            [self.tools.path("kubectl"), "--kubeconfig", str(self.kubeconfig), *arguments],
            input_text=input_text,
            check=check,
            timeout_s=timeout_s,
            what="kubectl",
        )

    def run_inside(
        self,
        command: Sequence[str],
        *,
        input_text: str | None = None,
        check: bool = True,
        timeout_s: float = 120,
        what: str | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a host program inside the cluster's network namespace."""
        completed = subprocess.run(
            [*self.netns.nsenter(), *command],
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            env=env or clean_env(),
        )
        if check and completed.returncode != 0:
            name = what or Path(command[0]).name
            raise AssertionError(
                f"{name} {' '.join(command[1:])} failed ({completed.returncode}):\n"
                f"{completed.stderr}{completed.stdout}"
            )
        return completed

    def get_json(self, *arguments: str) -> dict[str, object]:
        """``kubectl get ARGS -o json``, parsed."""
        loaded: dict[str, object] = json.loads(self.kubectl("get", *arguments, "-o", "json").stdout)
        return loaded

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        remove_stale_namespaces()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.netns.create()
        (self.work_dir / "pki").mkdir()
        self.pki = make_cluster_pki(
            self.work_dir / "pki",
            now=utc_now(),
            extra_ips=(self.layout.node_ip,),
            node_name=self.layout.node_name,
        )
        (self.work_dir / "webhook-callers").mkdir()
        self.webhook_callers = make_cluster_pki(self.work_dir / "webhook-callers", now=utc_now())
        self._write_kubeconfigs()
        self._start_etcd()
        self._start_apiserver()
        self.start_process("kube-controller-manager", self._controller_manager_command())
        self.start_process("kube-scheduler", self._scheduler_command())
        self._start_registry()
        self._start_containerd()
        self._start_kubelet()
        self._start_kube_proxy()
        self._start_coredns()
        self.wait_for_node_ready()

    def stop(self) -> None:
        """Pods first (so kubelet tears their networks and volumes down), then the
        node's processes, the control plane, leftover containers and mounts, and the
        namespace."""
        try:
            if self._alive("kubelet") and self._alive("kube-apiserver"):
                self._drain()
        finally:
            last = ("containerd", "kube-apiserver", "etcd")
            for name in reversed(list(self.processes)):
                if name not in last:
                    self._stop(name)
            self._remove_leftover_containers()
            self._stop("containerd")
            self._stop("kube-apiserver")
            self._stop("etcd")
            self._unmount_under(self.work_dir)
            self.netns.delete()

    def wait_for_node_ready(self) -> None:
        def ready() -> bool:
            completed = self.kubectl(
                "get",
                "node",
                self.layout.node_name,
                "-o",
                'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
                check=False,
            )
            return completed.stdout.strip() == "True"

        self.wait_until(ready, what="a Ready node", timeout_s=_NODE_READY_TIMEOUT_S)

    def wait_until(self, condition: Callable[[], bool], *, what: str, timeout_s: float) -> None:
        """Poll ``condition`` (the cluster's state changes in other processes); on
        timeout, fail with the logs of every component that died."""
        deadline = time.monotonic() + timeout_s
        delay = 0.1
        while time.monotonic() < deadline:
            if condition():
                return
            dead = [name for name, process in self.processes.items() if not process.alive()]
            if dead:
                raise ProcessFailedError(self._logs_of(dead, f"exited while waiting for {what}"))
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        raise ProcessFailedError(
            self._logs_of(list(self.processes), f"no {what} in {timeout_s:.0f}s")
        )

    def log_tails(self, lines: int = 30) -> str:
        """The last lines of every component's log, for a failure message."""
        return self._logs_of(list(self.processes), "logs", lines=lines)

    # --- components ---------------------------------------------------------------------

    def start_process(self, name: str, command: Sequence[str]) -> ManagedProcess:
        """Run ``command`` in the namespace as one of the cluster's processes (its log
        beside the others', stopped with them)."""
        process = ManagedProcess(
            name=name,
            command=[*self.netns.nsenter(), *command],
            log_path=self.work_dir / f"{name}.log",
            env=clean_env(),
        )
        process.start()
        self.processes[name] = process
        return process

    def _stop(self, name: str) -> None:
        process = self.processes.get(name)
        if process is not None:
            process.stop(timeout_s=20)

    def _alive(self, name: str) -> bool:
        process = self.processes.get(name)
        return process is not None and process.alive()

    def _write_kubeconfigs(self) -> None:
        assert self.pki is not None
        assert self.pki.node_cert is not None
        assert self.pki.node_key is not None
        self.kubeconfig = self._write(
            "admin.kubeconfig",
            configs.kubeconfig(
                self.layout,
                ca=self.pki.ca_cert,
                cert=self.pki.admin_cert,
                key=self.pki.admin_key,
                user="admin",
            ),
        )
        self._node_kubeconfig = self._write(
            "node.kubeconfig",
            configs.kubeconfig(
                self.layout,
                ca=self.pki.ca_cert,
                cert=self.pki.node_cert,
                key=self.pki.node_key,
                user=f"system:node:{self.layout.node_name}",
            ),
        )

    def _write(self, relative: str, text: str) -> Path:
        path = self.work_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o600)
        return path

    def _start_etcd(self) -> None:
        process = self.start_process(
            "etcd",
            [
                self.tools.path("etcd"),
                "--name=node",
                f"--data-dir={self.work_dir / 'etcd-data'}",
                "--listen-client-urls=http://127.0.0.1:2379",
                "--advertise-client-urls=http://127.0.0.1:2379",
                "--listen-peer-urls=http://127.0.0.1:2380",
                "--initial-advertise-peer-urls=http://127.0.0.1:2380",
                "--initial-cluster=node=http://127.0.0.1:2380",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        process.wait_until(
            lambda: self.netns.call(lambda: http_ok("http://127.0.0.1:2379/health")),
            what="health",
        )

    def _start_apiserver(self) -> None:
        pki = self.pki
        assert pki is not None
        assert self.webhook_callers is not None
        admission = admission_configuration(self.work_dir, "*.svc", self.webhook_callers)
        process = self.start_process(
            "kube-apiserver",
            [
                self.tools.path("kube-apiserver"),
                "--etcd-servers=http://127.0.0.1:2379",
                "--bind-address=0.0.0.0",
                f"--advertise-address={self.layout.node_ip}",
                f"--secure-port={self.layout.apiserver_port}",
                *pki.apiserver_flags(cert_dir=self.work_dir / "apiserver-certs"),
                f"--service-cluster-ip-range={self.layout.service_subnet}",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                # It would otherwise look the node's name up in the host's DNS.
                "--kubelet-preferred-address-types=InternalIP",
                f"--kubelet-client-certificate={pki.admin_cert}",
                f"--kubelet-client-key={pki.admin_key}",
                "--allow-privileged=true",
                f"--admission-control-config-file={admission}",
                "--v=1",
            ],
        )
        context = ssl.create_default_context(cafile=pki.ca_cert)
        context.load_cert_chain(pki.admin_cert, pki.admin_key)
        url = f"{self.layout.server}/readyz"
        process.wait_until(lambda: self.netns.call(lambda: http_ok(url, context)), what="/readyz")

    def _controller_manager_command(self) -> list[str]:
        pki = self.pki
        assert pki is not None
        return [
            self.tools.path("kube-controller-manager"),
            f"--kubeconfig={self.kubeconfig}",
            f"--authentication-kubeconfig={self.kubeconfig}",
            f"--authorization-kubeconfig={self.kubeconfig}",
            "--bind-address=127.0.0.1",
            # Token and root-CA controllers: pods get ServiceAccount tokens and CA.
            f"--service-account-private-key-file={pki.service_account_key}",
            f"--root-ca-file={pki.ca_cert}",
            "--use-service-account-credentials=true",
            f"--service-cluster-ip-range={self.layout.service_subnet}",
            "--leader-elect=false",
            "--v=1",
        ]

    def _scheduler_command(self) -> list[str]:
        return [
            self.tools.path("kube-scheduler"),
            f"--kubeconfig={self.kubeconfig}",
            f"--authentication-kubeconfig={self.kubeconfig}",
            f"--authorization-kubeconfig={self.kubeconfig}",
            "--bind-address=127.0.0.1",
            "--leader-elect=false",
            "--v=1",
        ]

    def _start_registry(self) -> None:
        binary = shutil.which("docker-registry")
        if binary is None:
            raise ProcessFailedError("docker-registry is not installed: run hack/cluster-tools.sh")
        config = self._write(
            "registry/config.yml",
            configs.registry_config(self.layout, storage=self.work_dir / "registry" / "storage"),
        )
        process = self.start_process("docker-registry", [binary, "serve", str(config)])
        url = f"http://{self.layout.registry}/v2/"
        process.wait_until(lambda: self.netns.call(lambda: http_ok(url)), what="/v2/")

    def _start_containerd(self) -> None:
        layout = self.layout
        sandbox = (
            f"{layout.registry}/pause:{(self.tools.bin_dir / 'pause.version').read_text().strip()}"
        )
        config = self._write(
            "containerd/config.toml", configs.containerd_config(layout, sandbox_image=sandbox)
        )
        self._write(
            f"containerd/certs.d/{layout.registry}/hosts.toml", configs.registry_hosts(layout)
        )
        self._write("cni/net.d/10-bridge.conflist", configs.cni_conflist(layout))
        process = self.start_process("containerd", ["containerd", "--config", str(config)])
        process.wait_until(layout.containerd_socket.exists, what="its socket")

    def _start_kubelet(self) -> None:
        assert self.pki is not None
        layout = self.layout
        resolv = self._write("kubelet/resolv.conf", f"nameserver {layout.node_ip}\n")
        resolv.chmod(0o644)
        config = self._write(
            "kubelet/config.json",
            configs.kubelet_config(layout, client_ca=self.pki.ca_cert, resolv_conf=resolv),
        )
        (layout.work_dir / "pod-logs").mkdir(exist_ok=True)
        self.start_process(
            "kubelet",
            [
                self.tools.path("kubelet"),
                f"--config={config}",
                f"--kubeconfig={self._node_kubeconfig}",
                f"--root-dir={layout.kubelet_dir / 'root'}",
                f"--cert-dir={layout.kubelet_dir / 'pki'}",
                f"--hostname-override={layout.node_name}",
                f"--node-ip={layout.node_ip}",
                "--v=1",
            ],
        )

    def _start_kube_proxy(self) -> None:
        config = self._write(
            "kube-proxy/config.json",
            configs.kube_proxy_config(self.layout, kubeconfig_path=self.kubeconfig),
        )
        self.start_process(
            "kube-proxy", [self.tools.path("kube-proxy"), f"--config={config}", "--v=1"]
        )

    def _start_coredns(self) -> None:
        corefile = self._write(
            "coredns/Corefile", configs.corefile(self.layout, kubeconfig_path=self.kubeconfig)
        )
        process = self.start_process(
            "coredns", [self.tools.path("coredns"), "-conf", str(corefile)]
        )
        process.wait_until(
            lambda: self.netns.call(lambda: http_ok("http://127.0.0.1:8181/ready")),
            what="/ready",
        )

    # --- teardown -----------------------------------------------------------------------

    def _drain(self) -> None:
        """Delete every pod, so kubelet stops their sandboxes (CNI teardown, volume
        unmounts); controllers stop first, or they would make new ones."""
        for name in ("kube-controller-manager", "kube-scheduler"):
            self._stop(name)
        self.kubectl(
            "delete",
            "pods",
            "--all",
            "--all-namespaces",
            "--grace-period=0",
            "--force",
            "--wait=false",
            check=False,
        )

        def nothing_runs() -> bool:
            # Rows of `ctr tasks list`: TASK PID STATUS; kubelet keeps stopped ones a while.
            rows = self._ctr("tasks", "list").splitlines()[1:]
            return not [row for row in rows if row.split()[-1:] == ["RUNNING"]]

        deadline = time.monotonic() + _DRAIN_TIMEOUT_S
        while time.monotonic() < deadline and not nothing_runs():
            time.sleep(0.5)

    def kill_container(self, container_id: str) -> None:
        """SIGKILL a container's process, as the OOM killer or a crash would.

        ``container_id`` as a pod's status gives it (``containerd://<id>``)."""
        task = container_id.removeprefix("containerd://")
        completed = subprocess.run(
            [
                "ctr",
                "--address",
                str(self.layout.containerd_socket),
                "-n",
                "k8s.io",
                "tasks",
                "kill",
                "--signal",
                "SIGKILL",
                task,
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        # kubelet may have stopped it first: then it is as dead as asked.
        if completed.returncode != 0 and "not found" not in completed.stderr:
            raise AssertionError(f"ctr tasks kill {task} failed: {completed.stderr}")

    def _ctr(self, *arguments: str) -> str:
        completed = subprocess.run(
            ["ctr", "--address", str(self.layout.containerd_socket), "-n", "k8s.io", *arguments],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return completed.stdout

    def _remove_leftover_containers(self) -> None:
        """Containers kubelet did not stop: kill their tasks, free their pod network
        namespaces, delete them."""
        if not self._alive("containerd"):
            return
        for container in self._ctr("containers", "list", "-q").split():
            info = self._ctr("containers", "info", container)
            self._ctr("tasks", "kill", "--signal", "SIGKILL", container)
            self._ctr("tasks", "delete", "--force", container)
            for path in _network_namespace_paths(info):
                subprocess.run(["umount", path], capture_output=True, check=False)
                Path(path).unlink(missing_ok=True)
            self._ctr("containers", "delete", container)

    def _unmount_under(self, directory: Path) -> None:
        """Whatever is still mounted below ``directory``, deepest first."""
        prefix = str(directory.resolve()) + "/"
        mounts = []
        with open("/proc/self/mounts") as table:
            for line in table:
                target = line.split()[1].replace("\\040", " ")
                if target.startswith(prefix):
                    mounts.append(target)
        for target in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "--lazy", target], capture_output=True, check=False)

    def _logs_of(self, names: list[str], headline: str, *, lines: int = 30) -> str:
        parts = [headline]
        for name in names:
            process = self.processes.get(name)
            if process is not None:
                state = "running" if process.alive() else "exited"
                parts.append(f"--- {name} ({state}) ---\n{process.log_tail(lines)}")
        return "\n".join(parts)


def _network_namespace_paths(container_info: str) -> list[str]:
    """The pod network namespace files a sandbox container joined (CRI makes them)."""
    try:
        spec = json.loads(container_info).get("Spec") or {}
    except json.JSONDecodeError:
        return []
    namespaces = (spec.get("linux") or {}).get("namespaces") or []
    return [
        entry["path"]
        for entry in namespaces
        if entry.get("type") == "network" and entry.get("path", "").startswith("/var/run/netns/")
    ]


def clean_env() -> dict[str, str]:
    """The caller's environment without what would steer the cluster's programs
    (etcd reads every ETCD_* variable as a flag; kubectl and helm honour KUBECONFIG
    and the proxy variables)."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ETCD_", "HELM_", "KUBE"))
        and key.upper() not in ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY")
    }


def tools_from_environment() -> ClusterTools | None:
    """``IMAGEGATE_CLUSTER_BIN``, when set."""
    configured = os.environ.get("IMAGEGATE_CLUSTER_BIN")
    return ClusterTools(Path(configured)) if configured else None
