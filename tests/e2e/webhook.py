"""imagegate as a real webhook process for the control plane, and how to register it."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from testbed.controlplane import Cluster, ManagedProcess, http_ok

from e2e.manifests import deployment
from imagegate.tls import generate_certificates, write_certificates
from imagegate.tracking import utc_now
from support.processes import free_port

CLUSTER_NAME = "e2e"
WEBHOOK_NAME = "validate.imagegate.dev"
ENVIRONMENT_LABEL = "imagegate.dev/environment"
PROBE_NAMESPACE = "e2e-probe"
TAG_ONLY_IMAGE = "nginx:1.27"
AUDIT_LABEL = "e2e.imagegate.dev/audit"
PIN_LABEL = "e2e.imagegate.dev/pin"
REGISTRIES_LABEL = "e2e.imagegate.dev/registries"
ALLOWED_REGISTRY = "registry.example.com/**"
POLICIES = f"""
apiVersion: imagegate.dev/v1alpha1
kind: DeploymentPolicy
metadata: {{name: latest-is-discouraged}}
spec:
  mode: audit
  match: {{namespaceLabels: {{{AUDIT_LABEL}: "true"}}}}
  rules: [{{rule: no-latest}}]
---
apiVersion: imagegate.dev/v1alpha1
kind: DeploymentPolicy
metadata: {{name: pin-tags}}
spec:
  mode: enforce
  match: {{namespaceLabels: {{{PIN_LABEL}: "true"}}}}
  rules: [{{rule: pin-tags}}]
  factsUnavailable: warn
---
apiVersion: imagegate.dev/v1alpha1
kind: DeploymentPolicy
metadata: {{name: own-registry}}
spec:
  mode: enforce
  match: {{namespaceLabels: {{{REGISTRIES_LABEL}: "true"}}}}
  rules: [{{rule: allowed-registries, patterns: ["{ALLOWED_REGISTRY}"]}}]
"""
# The namespaces the chart keeps away from the webhook.
EXCLUDED_NAMESPACES = ("kube-system", "kube-node-lease", "imagegate")


@dataclass
class WebhookProcess:
    """``imagegate serve`` on a fixed loopback port, stoppable and restartable."""

    work_dir: Path
    kubeconfig: Path
    host: str = "127.0.0.1"
    """The address the API server calls imagegate at (a kind node reaches the host
    through its Docker network's gateway, not through 127.0.0.1)."""
    port: int = field(default_factory=free_port)
    policies: Path | None = None
    """DeploymentPolicy documents to serve with, beside the built-in default policy."""
    token: str = ""
    extra_args: tuple[str, ...] = ()
    """More ``imagegate serve`` arguments."""
    process: ManagedProcess | None = None

    def __post_init__(self) -> None:
        generated = generate_certificates(
            dns_names=["localhost"], ip_addresses=sorted({"127.0.0.1", self.host}), now=utc_now()
        )
        self.paths = write_certificates(generated, self.work_dir / "webhook-certs")
        self.ca_bundle = generated.ca_bundle
        self.store = self.work_dir / "imagegate.db"

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def start(self) -> None:
        if not self.token:
            self.token = self._cli("apikey", "create", "--scope", "read", "--name", "e2e").strip()
        self.process = ManagedProcess(
            name="imagegate",
            command=[
                sys.executable,
                "-m",
                "imagegate",
                "serve",
                "--listen",
                f"{self._listen_host}:{self.port}",
                "--tls-cert",
                str(self.paths.tls_cert),
                "--tls-key",
                str(self.paths.tls_key),
                "--store",
                f"sqlite:///{self.store}",
                "--spool",
                str(self.work_dir / "spool.db"),
                "--cluster-name",
                CLUSTER_NAME,
                "--kubeconfig",
                str(self.kubeconfig),
                *(["--policies", str(self.policies)] if self.policies else []),
                "--read-pull-secrets",
                *self.extra_args,
            ],
            log_path=self.work_dir / "imagegate.log",
        )
        self.process.start()
        context = self.ssl_context()
        self.process.wait_until(lambda: http_ok(f"{self.url}/readyz", context), what="/readyz")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    @property
    def _listen_host(self) -> str:
        # Reached from another network namespace (kind), imagegate must listen beyond
        # loopback; TLS is on, so serve allows it.
        return "127.0.0.1" if self.host == "127.0.0.1" else "0.0.0.0"

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.paths.ca_cert)

    def records(self, **filters: str) -> list[dict[str, Any]]:
        """Every record (history included) the API lists for ``filters``."""
        query = "&".join(f"{key}={value}" for key, value in {"history": "true", **filters}.items())
        request = urllib.request.Request(
            f"{self.url}/api/v1/deployments?limit=1000&{query}",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10, context=self.ssl_context()) as answer:
            items: list[dict[str, Any]] = json.load(answer)["items"]
            return items

    def _cli(self, *arguments: str) -> str:
        completed = subprocess.run(
            [sys.executable, "-m", "imagegate", "--store", f"sqlite:///{self.store}", *arguments],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return completed.stdout


def validating_webhook_configuration(
    webhook: WebhookProcess, *, failure_policy: str = "Fail"
) -> str:
    """The configuration the chart installs, pointed at ``webhook`` by URL."""
    rules = [
        {
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "resources": [
                "pods",
                "pods/ephemeralcontainers",
                "replicationcontrollers",
                "podtemplates",
            ],
        },
        {
            "apiGroups": ["apps"],
            "apiVersions": ["v1"],
            "resources": ["deployments", "replicasets", "statefulsets", "daemonsets"],
        },
        {"apiGroups": ["batch"], "apiVersions": ["v1"], "resources": ["jobs", "cronjobs"]},
    ]
    document = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "imagegate"},
        "webhooks": [
            {
                "name": WEBHOOK_NAME,
                "admissionReviewVersions": ["v1", "v1beta1"],
                "clientConfig": {"url": f"{webhook.url}/validate", "caBundle": webhook.ca_bundle},
                "rules": [
                    {**rule, "operations": ["CREATE", "UPDATE", "DELETE"], "scope": "Namespaced"}
                    for rule in rules
                ],
                "sideEffects": "NoneOnDryRun",
                "timeoutSeconds": 5,
                "failurePolicy": failure_policy,
                "matchPolicy": "Equivalent",
                "namespaceSelector": {
                    "matchExpressions": [
                        {
                            "key": "kubernetes.io/metadata.name",
                            "operator": "NotIn",
                            "values": list(EXCLUDED_NAMESPACES),
                        }
                    ]
                },
            }
        ],
    }
    return yaml.safe_dump(document, sort_keys=False)


def eventually(check: Any, *, timeout_s: float = 30.0, what: str = "condition") -> Any:
    """Retry ``check`` until it returns a truthy value; the webhook records in the background
    of another process, so polling is the only way to see it happen."""
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(delay)
        delay = min(delay * 2, 0.5)
    raise AssertionError(f"{what} did not happen within {timeout_s}s (last: {last!r})")


def mutating_webhook_configuration(webhook: WebhookProcess) -> str:
    """The chart's MutatingWebhookConfiguration (tag pinning), pointed at ``webhook``."""
    validating = yaml.safe_load(validating_webhook_configuration(webhook))
    hook = validating["webhooks"][0]
    hook.update(
        name="mutate.imagegate.dev",
        clientConfig={"url": f"{webhook.url}/mutate", "caBundle": webhook.ca_bundle},
        reinvocationPolicy="IfNeeded",
        sideEffects="None",
        # Unpinned objects are still judged by /validate, whose failurePolicy decides.
        failurePolicy="Ignore",
    )
    hook["rules"] = [{**rule, "operations": ["CREATE", "UPDATE"]} for rule in hook["rules"]]
    document = {**validating, "kind": "MutatingWebhookConfiguration", "webhooks": [hook]}
    return yaml.safe_dump(document, sort_keys=False)


def register(plane: Cluster, webhook: WebhookProcess, *, failure_policy: str = "Fail") -> None:
    """Apply the webhook configuration (again) with ``failure_policy``."""
    configuration = validating_webhook_configuration(webhook, failure_policy=failure_policy)
    plane.kubectl("apply", "-f", "-", input_text=configuration)


def dry_run_tag_only(plane: Cluster) -> tuple[int, str]:
    """(exit code, stderr) of a server-side dry run that imagegate, if asked, refuses."""
    plane.kubectl("create", "namespace", PROBE_NAMESPACE, check=False)
    manifest = deployment("probe", PROBE_NAMESPACE, TAG_ONLY_IMAGE)
    result = plane.kubectl("apply", "--dry-run=server", "-f", "-", input_text=manifest, check=False)
    return result.returncode, result.stderr


def wait_until_webhook_is_called(plane: Cluster) -> None:
    """The API server picks a new webhook configuration up asynchronously: wait until a
    dry run that imagegate refuses is refused by imagegate."""

    def refused() -> bool:
        code, stderr = dry_run_tag_only(plane)
        return code != 0 and "imagegate denied" in stderr

    eventually(refused, what="the API server calling imagegate")
