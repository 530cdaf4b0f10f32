"""The Helm chart against a real kube-apiserver: every object it renders is accepted
by the API server (server-side dry run), in each certificate mode and with each
store, and its pods pass Pod Security admission at the restricted level.

Nothing is created but namespaces and service accounts: the dry runs go through
the API server's validation and admission (Pod Security included) and stop
before storage. Installing the chart for real needs nodes and the image; see
`make kind-deploy`.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from testbed.controlplane import Cluster, ControlPlane, ManagedProcess, http_ok

from e2e.webhook import eventually
from imagegate.tls import generate_certificates
from imagegate.tracking import utc_now
from support.processes import free_port

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "imagegate"
CRDS = Path(__file__).parent / "fixtures" / "chart-crds.yaml"
# Not "imagegate": the webhook fixture of the other e2e tests owns cluster-scoped
# objects of that name (webhook configurations), and helm refuses to adopt them.
RELEASE = "imagegate-e2e-chart"
DIGEST = "sha256:" + "c3" * 32
PSS_LABELS = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/warn-version": "latest",
}
SQLITE_REPLICAS_MESSAGE = "replicaCount 2 with store.type sqlite"
_numbers = itertools.count(1)


def helm_binary() -> Path:
    """helm beside the control-plane binaries, else on PATH (an external cluster)."""
    bin_dir = os.environ.get("IMAGEGATE_E2E_BIN")
    if bin_dir and (Path(bin_dir) / "helm").exists():
        return Path(bin_dir) / "helm"
    found = shutil.which("helm")
    if found is None:
        message = "no helm in $IMAGEGATE_E2E_BIN or on PATH: run hack/e2e-tools.sh"
        if os.environ.get("IMAGEGATE_E2E_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return Path(found)


def helm(*arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [str(helm_binary()), *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check and completed.returncode != 0:
        raise AssertionError(f"helm {' '.join(arguments)} failed:\n{completed.stderr}")
    return completed


def template(
    namespace: str, values: dict[str, Any], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    values_file = tmp_path / f"values-{next(_numbers)}.yaml"
    values_file.write_text(yaml.safe_dump(values))
    return helm(
        "template",
        RELEASE,
        str(CHART),
        "--namespace",
        namespace,
        "-f",
        str(values_file),
        check=False,
    )


def base_values() -> dict[str, Any]:
    """Every optional object on, so that all of them meet the API server."""
    return {
        # Pinned, so an imagegate webhook registered by other e2e tests admits it.
        "image": {"digest": DIGEST},
        "clusterName": "e2e-chart",
        "logicalEnvironment": {"namespaces": {"shop-staging": "staging"}},
        "policies": {
            "inline": [
                {
                    "apiVersion": "imagegate.dev/v1alpha1",
                    "kind": "DeploymentPolicy",
                    "metadata": {"name": "no-latest"},
                    "spec": {"mode": "audit", "rules": [{"rule": "no-latest"}]},
                }
            ]
        },
        "registry": {"existingSecret": "registry-credentials", "readPullSecrets": True},
        "apiKeys": {"existingSecret": "imagegate-api-key"},
        "monitoring": {"serviceMonitor": {"enabled": True}},
        "networkPolicy": {"enabled": True},
        "webhook": {
            "objectSelector": {
                "matchExpressions": [{"key": "imagegate.dev/skip", "operator": "DoesNotExist"}]
            }
        },
    }


def certificate_values(mode: str) -> dict[str, Any]:
    if mode != "provided":
        return {"mode": mode}
    generated = generate_certificates(
        dns_names=[f"{RELEASE}.chart.svc"], ip_addresses=[], now=utc_now()
    )
    return {
        "mode": "provided",
        "provided": {"existingSecret": "imagegate-serving-tls", "caBundle": generated.ca_bundle},
    }


def store_values(store: str) -> dict[str, Any]:
    if store == "sqlite":
        return {"store": {"type": "sqlite"}}
    return {
        "replicaCount": 2,
        "store": {"type": "postgresql", "postgresql": {"existingSecret": "imagegate-db"}},
    }


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def restricted_namespace(cluster: Cluster, prefix: str, *, service_account: bool = True) -> str:
    """A new namespace enforcing Pod Security restricted, with imagegate's service account
    (on clusters with the ServiceAccount admission plugin, pods need it to exist)."""
    name = f"{prefix}-{next(_numbers)}"
    labels = "".join(f"    {key}: {value}\n" for key, value in PSS_LABELS.items())
    account = (
        f"---\napiVersion: v1\nkind: ServiceAccount\n"
        f"metadata: {{name: {RELEASE}, namespace: {name}}}\n"
    )
    cluster.kubectl(
        "apply",
        "-f",
        "-",
        input_text=(
            f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n  labels:\n{labels}"
            + (account if service_account else "")
        ),
    )
    return name


def dry_run(cluster: Cluster, manifest: str) -> subprocess.CompletedProcess[str]:
    return cluster.kubectl("apply", "--dry-run=server", "-f", "-", input_text=manifest, check=False)


@pytest.fixture(scope="module")
def crds(cluster: Cluster) -> Iterator[None]:
    """Stand-in CRDs for cert-manager and ServiceMonitor, unless the cluster has them."""
    created = []
    for crd in documents(CRDS.read_text()):
        name = crd["metadata"]["name"]
        if cluster.kubectl("get", "crd", name, check=False).returncode == 0:
            continue  # the real one (e.g. cert-manager on kind): leave it alone
        cluster.kubectl("apply", "-f", "-", input_text=yaml.safe_dump(crd))
        created.append(name)
    for name in created:
        cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{name}")
    try:
        yield
    finally:
        for name in created:
            cluster.kubectl("delete", "crd", name, "--wait=false", check=False)


def test_helm_lint() -> None:
    linted = helm("lint", str(CHART), "--strict")
    assert "1 chart(s) linted, 0 chart(s) failed" in linted.stdout
    for mode in ("certManager", "provided"):
        values = [f"certificates.mode={mode}"]
        if mode == "provided":
            values += [
                "certificates.provided.existingSecret=tls",
                "certificates.provided.caBundle=LS0t",
            ]
        helm("lint", str(CHART), "--strict", "--set", ",".join(values))
    helm(
        "lint",
        str(CHART),
        "--strict",
        "--set",
        "store.type=postgresql,store.postgresql.existingSecret=db,replicaCount=3",
    )


@pytest.mark.usefixtures("crds")
@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
@pytest.mark.parametrize("mode", ["selfManaged", "certManager", "provided"])
def test_every_rendered_object_is_accepted(
    cluster: Cluster, tmp_path: Path, mode: str, store: str
) -> None:
    namespace = restricted_namespace(cluster, f"chart-{mode.lower()}-{store}")
    values = {**base_values(), **store_values(store), "certificates": certificate_values(mode)}
    rendered = template(namespace, values, tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    docs = documents(rendered.stdout)
    kinds = sorted({doc["kind"] for doc in docs})
    expected = {
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "Deployment",
        "MutatingWebhookConfiguration",
        "NetworkPolicy",
        "Pod",
        "Service",
        "ServiceAccount",
        "ServiceMonitor",
        "ValidatingWebhookConfiguration",
    }
    expected |= {"PodDisruptionBudget"} if store == "postgresql" else {"PersistentVolumeClaim"}
    # The certificate Secret's Role (self-managed), and the cluster watch's Lease's.
    expected |= {"Role", "RoleBinding"}
    expected |= {"Certificate", "Issuer"} if mode == "certManager" else set()
    assert set(kinds) == expected

    applied = dry_run(cluster, rendered.stdout)
    assert applied.returncode == 0, applied.stderr + applied.stdout
    accepted = set(applied.stdout.splitlines())
    for doc in docs:
        kind, name = doc["kind"].lower(), doc["metadata"]["name"]
        outcome = r"(created|configured|unchanged) \(server dry run\)"
        line = re.compile(rf"{kind}(\.[a-z0-9.-]+)?/{re.escape(name)} {outcome}")
        assert any(line.fullmatch(text) for text in accepted), (kind, name, applied.stdout)
    assert len(accepted) == len(docs), applied.stdout
    # The Deployment's pod template is checked against the namespace's Pod Security
    # level too: kubectl would print "would violate PodSecurity" warnings.
    assert "PodSecurity" not in applied.stderr, applied.stderr


def test_sqlite_with_two_replicas_is_refused(tmp_path: Path) -> None:
    rendered = template("imagegate", {"replicaCount": 2}, tmp_path)
    assert rendered.returncode != 0
    assert SQLITE_REPLICAS_MESSAGE in rendered.stderr
    assert "use store.type postgresql" in rendered.stderr


def pod_from_deployment(docs: list[dict[str, Any]], namespace: str) -> dict[str, Any]:
    (deployment,) = [doc for doc in docs if doc["kind"] == "Deployment"]
    pod_template = deployment["spec"]["template"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "imagegate-pss-probe",
            "namespace": namespace,
            "labels": pod_template["metadata"]["labels"],
        },
        "spec": copy.deepcopy(pod_template["spec"]),
    }


@pytest.mark.parametrize("mode", ["selfManaged", "certManager"])
def test_pods_pass_pod_security_restricted(cluster: Cluster, tmp_path: Path, mode: str) -> None:
    namespace = restricted_namespace(cluster, "chart-pss")
    values = {**base_values(), "certificates": {"mode": mode}}
    rendered = template(namespace, values, tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    docs = documents(rendered.stdout)
    pod = pod_from_deployment(docs, namespace)

    accepted = dry_run(cluster, yaml.safe_dump(pod))
    assert accepted.returncode == 0, accepted.stderr
    assert "pod/imagegate-pss-probe created (server dry run)" in accepted.stdout

    # The `helm test` pod runs in the same namespace.
    (test_pod,) = [doc for doc in docs if doc["kind"] == "Pod"]
    accepted = dry_run(cluster, yaml.safe_dump(test_pod))
    assert accepted.returncode == 0, accepted.stderr

    # The same pod allowed to escalate privileges is refused: the check is real.
    escalating = copy.deepcopy(pod)
    escalating["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    refused = dry_run(cluster, yaml.safe_dump(escalating))
    assert refused.returncode != 0
    assert "violates PodSecurity" in refused.stderr
    assert "allowPrivilegeEscalation != false" in refused.stderr


def test_weakened_values_draw_pod_security_warnings(cluster: Cluster, tmp_path: Path) -> None:
    """The absence of warnings in the dry runs above means something: here they appear."""
    namespace = restricted_namespace(cluster, "chart-weak")
    values = {**base_values(), "securityContext": {"allowPrivilegeEscalation": True}}
    rendered = template(namespace, values, tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    applied = dry_run(cluster, rendered.stdout)
    assert applied.returncode != 0  # the helm test pod is refused outright
    assert 'would violate PodSecurity "restricted:latest"' in applied.stderr
    assert "allowPrivilegeEscalation != false" in applied.stderr


def test_helm_install_server_dry_run(cluster: Cluster) -> None:
    """helm itself, against the API server: kubeVersion, the objects and NOTES.txt."""
    namespace = restricted_namespace(cluster, "chart-install", service_account=False)
    installed = helm(
        "install",
        RELEASE,
        str(CHART),
        "--namespace",
        namespace,
        "--dry-run=server",
        "--kubeconfig",
        str(cluster.kubeconfig),
        "--set",
        f"image.digest={DIGEST}",
    )
    assert "STATUS: pending-install" in installed.stdout
    notes = installed.stdout.split("NOTES:", 1)[1]
    assert f"helm test {RELEASE} -n {namespace} --logs" in notes
    assert "kubectl create deployment imagegate-check --image=nginx:1.27 --dry-run=server" in notes


def test_self_managed_mode_works_with_only_the_charts_rbac(
    cluster: Cluster, tmp_path: Path
) -> None:
    """The chart's ServiceAccount, ClusterRole and Role applied for real, and imagegate
    run with the Deployment's own arguments as that ServiceAccount: it creates the
    certificate Secret, patches both webhook configurations and gets ready. So the
    chart grants enough, with RBAC limited to names. (No nodes run here, so imagegate
    runs as a local process; only its paths and listen address are changed.)"""
    if not isinstance(cluster, ControlPlane):
        pytest.skip("needs the local control plane's API address and CA")
    namespace = restricted_namespace(cluster, "chart-rbac", service_account=False)
    # Inert webhook configurations: they select no object, and Ignore failures.
    values = {
        **base_values(),
        "webhook": {
            "validating": {"failurePolicy": "Ignore"},
            "objectSelector": {"matchLabels": {"e2e.imagegate.dev/never": "selected"}},
        },
    }
    rendered = template(namespace, values, tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    docs = documents(rendered.stdout)
    wanted = {
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    }
    applied = yaml.safe_dump_all([doc for doc in docs if doc["kind"] in wanted])
    (deployment,) = [doc for doc in docs if doc["kind"] == "Deployment"]
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    port = free_port()
    tls = tmp_path / "tls"  # the emptyDir
    local_args = [
        arg.replace("/etc/imagegate/tls", str(tls)).replace("0.0.0.0:8443", f"127.0.0.1:{port}")
        for arg in args
        if not arg.startswith(("--policies", "--registry-config"))  # mounts absent here
    ]
    process: ManagedProcess | None = None
    try:
        cluster.kubectl("apply", "-f", "-", input_text=applied)
        process = ManagedProcess(
            name="imagegate",
            command=[
                sys.executable,
                "-m",
                "imagegate",
                *local_args,
                "--cert-namespace",
                namespace,  # in a pod: read from the service-account mount
                "--kubeconfig",
                str(service_account_kubeconfig(cluster, namespace, tmp_path)),
                "--store",
                f"sqlite:///{tmp_path / 'imagegate.db'}",
                "--spool",
                str(tmp_path / "spool.db"),
            ],
            log_path=tmp_path / "imagegate.log",
        )
        process.start()
        unverified = ssl.create_default_context()
        unverified.check_hostname = False
        unverified.verify_mode = ssl.CERT_NONE
        process.wait_until(
            lambda: http_ok(f"https://127.0.0.1:{port}/readyz", unverified), what="/readyz"
        )
        secret = json.loads(
            cluster.kubectl("get", "secret", f"{RELEASE}-tls", "-n", namespace, "-o", "json").stdout
        )
        for kind in ("validatingwebhookconfiguration", "mutatingwebhookconfiguration"):
            configuration = json.loads(cluster.kubectl("get", kind, RELEASE, "-o", "json").stdout)
            bundles = [hook["clientConfig"].get("caBundle") for hook in configuration["webhooks"]]
            assert bundles == [secret["data"]["ca.crt"]], kind

        # The cluster watch may list and watch what it records, and holds its Lease.
        def recording() -> dict[str, Any]:
            with urllib.request.urlopen(
                f"https://127.0.0.1:{port}/readyz", context=unverified, timeout=10
            ) as answer:
                detail: dict[str, Any] = json.load(answer)["recording"]
                return detail

        assert recording()["source"] == "cluster"
        eventually(lambda: recording()["leader"], what="this replica leading")
        lease = json.loads(
            cluster.kubectl(
                "get", "lease", f"{RELEASE}-cluster-watch", "-n", namespace, "-o", "json"
            ).stdout
        )
        assert lease["spec"]["holderIdentity"]
    finally:
        if process is not None:
            process.stop()
        cluster.kubectl("delete", "-f", "-", "--wait=false", input_text=applied, check=False)


def service_account_kubeconfig(cluster: ControlPlane, namespace: str, directory: Path) -> Path:
    """A kubeconfig that authenticates as the chart's ServiceAccount, by a bound token."""
    token = cluster.kubectl("create", "token", RELEASE, "-n", namespace).stdout.strip()
    path = directory / "service-account.kubeconfig"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "e2e",
                "cluster": {
                    "server": cluster.server,
                    "certificate-authority": str(cluster.pki.ca_cert),
                },
            }
        ],
        "users": [{"name": RELEASE, "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "e2e", "user": RELEASE}}],
        "current-context": "sa",
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path
