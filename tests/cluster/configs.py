"""The configuration files of the node's components, as text: pure functions of
the cluster's layout, so each can be read (and checked) apart from starting it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Layout:
    """Addresses and paths the whole cluster agrees on."""

    work_dir: Path
    node_name: str = "imagegate-e2e-node"
    node_ip: str = "10.240.0.1"
    pod_subnet: str = "10.241.0.0/24"
    service_subnet: str = "10.0.0.0/24"
    apiserver_port: int = 6443
    registry_port: int = 5000
    cluster_domain: str = "cluster.local"

    @property
    def server(self) -> str:
        return f"https://{self.node_ip}:{self.apiserver_port}"

    @property
    def registry(self) -> str:
        """``host:port`` of the registry, as image references name it."""
        return f"{self.node_ip}:{self.registry_port}"

    @property
    def containerd_dir(self) -> Path:
        return self.work_dir / "containerd"

    @property
    def containerd_socket(self) -> Path:
        return self.containerd_dir / "containerd.sock"

    @property
    def kubelet_dir(self) -> Path:
        return self.work_dir / "kubelet"

    @property
    def cni_conf_dir(self) -> Path:
        return self.work_dir / "cni" / "net.d"


def kubeconfig(layout: Layout, *, ca: Path, cert: Path, key: Path, user: str) -> str:
    """A kubeconfig for ``user`` authenticating with a client certificate."""
    return f"""apiVersion: v1
kind: Config
clusters:
  - name: e2e
    cluster:
      server: {layout.server}
      certificate-authority: {ca}
users:
  - name: {user}
    user:
      client-certificate: {cert}
      client-key: {key}
contexts:
  - name: e2e
    context: {{cluster: e2e, user: {user}}}
current-context: e2e
"""


def containerd_config(layout: Layout, *, sandbox_image: str) -> str:
    """containerd 1.6 with the CRI plugin, every path inside the work directory."""
    base = layout.containerd_dir
    return f"""version = 2
root = "{base / "root"}"
state = "{base / "state"}"

[grpc]
  address = "{layout.containerd_socket}"

[plugins."io.containerd.internal.v1.opt"]
  path = "{base / "opt"}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox_image}"
  # Without CAP_SYS_RESOURCE a container may not get a lower OOM score than ours.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{layout.cni_conf_dir}"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{base / "certs.d"}"
"""


def registry_hosts(layout: Layout) -> str:
    """containerd's hosts.toml: the local registry speaks plain HTTP."""
    return f"""server = "http://{layout.registry}"

[host."http://{layout.registry}"]
  capabilities = ["pull", "resolve", "push"]
"""


def cni_conflist(layout: Layout) -> str:
    """One bridge for the pods, masquerading what leaves their subnet."""
    gateway = layout.pod_subnet.rsplit(".", 1)[0] + ".1"
    return json.dumps(
        {
            "cniVersion": "1.0.0",
            "name": "imagegate-e2e",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": "cni0",
                    "isGateway": True,
                    "ipMasq": True,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": layout.pod_subnet, "gateway": gateway}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": str(layout.work_dir / "cni" / "ipam"),
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        },
        indent=2,
    )


def kubelet_config(layout: Layout, *, client_ca: Path, resolv_conf: Path) -> str:
    """What kubelet needs on this host: cgroup v1 with cgroupfs and no QoS cgroups,
    swap tolerated, eviction only when the disk is really full. Mounted ConfigMaps
    are refreshed on each sync, every 10 s here (1 min by default): that bounds how
    soon a policy changed by ``helm upgrade`` reaches imagegate."""
    return json.dumps(
        {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "failCgroupV1": False,
            "cgroupDriver": "cgroupfs",
            "cgroupsPerQOS": False,
            "enforceNodeAllocatable": [],
            "failSwapOn": False,
            "containerRuntimeEndpoint": f"unix://{layout.containerd_socket}",
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": True},
                "x509": {"clientCAFile": str(client_ca)},
            },
            "authorization": {"mode": "Webhook"},
            "clusterDNS": [layout.node_ip],
            "clusterDomain": layout.cluster_domain,
            "resolvConf": str(resolv_conf),
            "podLogsDir": str(layout.work_dir / "pod-logs"),
            "volumePluginDir": str(layout.kubelet_dir / "volume-plugins"),
            "serializeImagePulls": False,
            "syncFrequency": "10s",
            "evictionHard": {
                "memory.available": "100Mi",
                "nodefs.available": "1%",
                "imagefs.available": "1%",
                "nodefs.inodesFree": "1%",
            },
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "healthzBindAddress": "127.0.0.1",
            "readOnlyPort": 0,
        },
        indent=2,
    )


def kube_proxy_config(layout: Layout, *, kubeconfig_path: Path) -> str:
    """iptables mode; every Service connection masqueraded, so replies between pods
    on one bridge come back through the rewrite; no conntrack sysctls (read-only
    outside the host's first network namespace)."""
    return json.dumps(
        {
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
            "kind": "KubeProxyConfiguration",
            "clientConnection": {"kubeconfig": str(kubeconfig_path)},
            "hostnameOverride": layout.node_name,
            "mode": "iptables",
            "clusterCIDR": layout.pod_subnet,
            "iptables": {"masqueradeAll": True},
            "conntrack": {
                "maxPerCore": 0,
                "min": 0,
                "tcpEstablishedTimeout": "0s",
                "tcpCloseWaitTimeout": "0s",
            },
            "metricsBindAddress": "127.0.0.1:10249",
            "healthzBindAddress": "127.0.0.1:10256",
        },
        indent=2,
    )


def corefile(layout: Layout, *, kubeconfig_path: Path) -> str:
    """Cluster DNS for Services and Pods only: nothing is forwarded anywhere."""
    return f""".:53 {{
    errors
    health 127.0.0.1:8080
    ready 127.0.0.1:8181
    kubernetes {layout.cluster_domain} in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig_path} e2e
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }}
    cache 30
}}
"""


def registry_config(layout: Layout, *, storage: Path) -> str:
    """docker-registry on the node's address, anonymous, plain HTTP."""
    return json.dumps(
        {
            "version": 0.1,
            "log": {"level": "warn"},
            "storage": {
                "filesystem": {"rootdirectory": str(storage)},
                "delete": {"enabled": True},
            },
            "http": {"addr": layout.registry, "secret": "imagegate-e2e"},
        }
    )
