"""Self-managed certificates against a real kube-apiserver: the Secret, the caBundles,
renewal, replicas racing, and the API server trusting what imagegate made."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import ssl
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from testbed.controlplane import Cluster, ManagedProcess, http_ok

from e2e.manifests import deployment
from e2e.webhook import CLUSTER_NAME, TAG_ONLY_IMAGE, eventually
from imagegate.kube import (
    CertificateAction,
    CertificateManager,
    CertificateRequirements,
    CertificateSettings,
    CertificateSetupError,
    KubeClient,
    KubeConnection,
    load_connection,
)
from support.processes import free_port

SERVICE_DNS = ("imagegate.imagegate.svc", "imagegate.imagegate.svc.cluster.local")
# Matched by no namespace: these configurations must never intercept other tests' requests.
NEVER_LABEL = "e2e.imagegate.dev/self-managed-certs-never"
_numbers = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_numbers)}"


def webhook_configuration(
    kind: str, name: str, url: str, namespace_selector: dict[str, Any], failure_policy: str
) -> str:
    """One webhook on Deployments, by URL, with no caBundle: imagegate must set it."""
    webhook: dict[str, Any] = {
        "name": f"{name}.imagegate.dev",
        "admissionReviewVersions": ["v1"],
        "clientConfig": {"url": url},
        "rules": [
            {
                "apiGroups": ["apps"],
                "apiVersions": ["v1"],
                "resources": ["deployments"],
                "operations": ["CREATE", "UPDATE"],
                "scope": "Namespaced",
            }
        ],
        "sideEffects": "NoneOnDryRun",
        "timeoutSeconds": 5,
        "failurePolicy": failure_policy,
        "namespaceSelector": namespace_selector,
    }
    document = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": kind,
        "metadata": {"name": name},
        "webhooks": [webhook],
    }
    return yaml.safe_dump(document, sort_keys=False)


def get_json(cluster: Cluster, *arguments: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(cluster.kubectl("get", *arguments, "-o", "json").stdout)
    return document


def ca_bundles(cluster: Cluster, resource: str, name: str) -> list[str | None]:
    document = get_json(cluster, resource, name)
    return [hook["clientConfig"].get("caBundle") for hook in document["webhooks"]]


def resource_version(cluster: Cluster, *arguments: str) -> str:
    return str(get_json(cluster, *arguments)["metadata"]["resourceVersion"])


def secret_pem(secret: dict[str, Any], key: str) -> bytes:
    return base64.b64decode(secret["data"][key])


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    name = unique("e2e-certs")
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def configurations(cluster: Cluster) -> Iterator[str]:
    """A Validating- and a MutatingWebhookConfiguration of this name, caBundle empty."""
    name = unique("imagegate-certs")
    selector = {"matchLabels": {NEVER_LABEL: "true"}}
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        manifest = webhook_configuration(kind, name, "https://127.0.0.1:1/x", selector, "Ignore")
        cluster.kubectl("apply", "-f", "-", input_text=manifest)
    yield name
    for resource in ("validatingwebhookconfiguration", "mutatingwebhookconfiguration"):
        cluster.kubectl("delete", resource, name, check=False)


@pytest.fixture
async def client(cluster: Cluster) -> AsyncIterator[KubeClient]:
    kube = KubeClient.open(load_connection(kubeconfig=str(cluster.kubeconfig)))
    try:
        yield kube
    finally:
        await kube.close()


def settings_for(namespace: str, configuration: str, directory: Path) -> CertificateSettings:
    return CertificateSettings(
        secret_name="imagegate-tls",
        namespace=namespace,
        tls_cert=directory / "tls.crt",
        tls_key=directory / "tls.key",
        requirements=CertificateRequirements(dns_names=SERVICE_DNS),
        validating_webhook_configuration=configuration,
        mutating_webhook_configuration=configuration,
    )


async def test_the_certificate_is_made_published_kept_and_renewed(
    cluster: Cluster, client: KubeClient, namespace: str, configurations: str, tmp_path: Path
) -> None:
    settings = settings_for(namespace, configurations, tmp_path / "tls")
    manager = CertificateManager(client, settings)

    first = await manager.ensure()

    assert first.action is CertificateAction.NEW_CA
    assert first.secret_written
    assert first.files_written
    assert first.patched_configurations == (
        f"ValidatingWebhookConfiguration/{configurations}",
        f"MutatingWebhookConfiguration/{configurations}",
    )
    secret = get_json(cluster, "secret", "imagegate-tls", "-n", namespace)
    assert secret["type"] == "kubernetes.io/tls"
    assert set(secret["data"]) == {"ca.crt", "ca.key", "tls.crt", "tls.key"}
    ca = x509.load_pem_x509_certificate(secret_pem(secret, "ca.crt"))
    serving = x509.load_pem_x509_certificate(secret_pem(secret, "tls.crt"))
    serving.verify_directly_issued_by(ca)
    san = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == list(SERVICE_DNS)
    for resource in ("validatingwebhookconfiguration", "mutatingwebhookconfiguration"):
        assert ca_bundles(cluster, resource, configurations) == [secret["data"]["ca.crt"]]
    assert settings.tls_cert.read_bytes() == secret_pem(secret, "tls.crt")
    assert settings.tls_key.read_bytes() == secret_pem(secret, "tls.key")
    assert settings.tls_key.stat().st_mode & 0o777 == 0o600

    versions = {
        "secret": resource_version(cluster, "secret", "imagegate-tls", "-n", namespace),
        "validating": resource_version(cluster, "validatingwebhookconfiguration", configurations),
        "mutating": resource_version(cluster, "mutatingwebhookconfiguration", configurations),
    }

    second = await manager.ensure()

    assert second.action is CertificateAction.KEEP
    assert not second.secret_written
    assert not second.files_written
    assert second.patched_configurations == ()
    assert versions == {
        "secret": resource_version(cluster, "secret", "imagegate-tls", "-n", namespace),
        "validating": resource_version(cluster, "validatingwebhookconfiguration", configurations),
        "mutating": resource_version(cluster, "mutatingwebhookconfiguration", configurations),
    }

    # 340 days on, the serving certificate is within the 30-day window; the CA is not.
    later = datetime.now(UTC) + timedelta(days=340)
    renewed = await CertificateManager(client, settings, clock=lambda: later).ensure()

    assert renewed.action is CertificateAction.ISSUE
    assert renewed.secret_written
    assert renewed.files_written
    assert renewed.patched_configurations == ()
    after = get_json(cluster, "secret", "imagegate-tls", "-n", namespace)
    assert after["data"]["ca.crt"] == secret["data"]["ca.crt"]
    assert after["data"]["ca.key"] == secret["data"]["ca.key"]
    assert after["data"]["tls.crt"] != secret["data"]["tls.crt"]
    new_serving = x509.load_pem_x509_certificate(secret_pem(after, "tls.crt"))
    new_serving.verify_directly_issued_by(ca)
    assert new_serving.not_valid_after_utc > serving.not_valid_after_utc
    assert settings.tls_cert.read_bytes() == secret_pem(after, "tls.crt")
    assert versions["validating"] == resource_version(
        cluster, "validatingwebhookconfiguration", configurations
    )


async def test_a_reset_ca_bundle_is_patched_again(
    cluster: Cluster, client: KubeClient, namespace: str, configurations: str, tmp_path: Path
) -> None:
    manager = CertificateManager(client, settings_for(namespace, configurations, tmp_path))
    bundle = (await manager.ensure()).certificates.ca_bundle
    webhook = f"{configurations}.imagegate.dev"
    reset = {"webhooks": [{"name": webhook, "clientConfig": {"caBundle": None}}]}
    cluster.kubectl(
        "patch", "mutatingwebhookconfiguration", configurations, "-p", json.dumps(reset)
    )
    assert ca_bundles(cluster, "mutatingwebhookconfiguration", configurations) == [None]

    outcome = await manager.ensure()

    assert outcome.action is CertificateAction.KEEP
    assert outcome.patched_configurations == (f"MutatingWebhookConfiguration/{configurations}",)
    assert ca_bundles(cluster, "mutatingwebhookconfiguration", configurations) == [bundle]


async def test_replicas_racing_agree_on_one_ca(
    cluster: Cluster, client: KubeClient, namespace: str, configurations: str, tmp_path: Path
) -> None:
    managers = [
        CertificateManager(client, settings_for(namespace, configurations, tmp_path / str(n)))
        for n in range(4)
    ]

    outcomes = await asyncio.gather(*(manager.ensure() for manager in managers))

    assert sum(outcome.secret_written for outcome in outcomes) == 1
    secret = get_json(cluster, "secret", "imagegate-tls", "-n", namespace)
    assert {outcome.certificates.ca_bundle for outcome in outcomes} == {secret["data"]["ca.crt"]}
    for n in range(4):
        assert (tmp_path / str(n) / "tls.crt").read_bytes() == secret_pem(secret, "tls.crt")
    assert ca_bundles(cluster, "validatingwebhookconfiguration", configurations) == [
        secret["data"]["ca.crt"]
    ]


async def test_the_periodic_check_renews_before_expiry(
    client: KubeClient, namespace: str, configurations: str, tmp_path: Path
) -> None:
    now = [datetime.now(UTC)]
    settings = replace(settings_for(namespace, configurations, tmp_path), check_interval_s=0.05)
    manager = CertificateManager(client, settings, clock=lambda: now[0])
    first = await manager.ensure()
    now[0] += timedelta(days=340)
    task = asyncio.create_task(manager.run(), name="test-certificate-rotation")
    try:
        # The check runs on its own schedule; the renewed file on disk is what it leaves.
        for _attempt in range(100):
            if settings.tls_cert.read_bytes() != first.certificates.tls_cert:
                break
            await asyncio.sleep(0.05)
        assert settings.tls_cert.read_bytes() != first.certificates.tls_cert
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    renewed = x509.load_pem_x509_certificate(settings.tls_cert.read_bytes())
    renewed.verify_directly_issued_by(x509.load_pem_x509_certificate(first.certificates.ca_cert))


async def test_a_missing_webhook_configuration_is_skipped(
    client: KubeClient, namespace: str, tmp_path: Path
) -> None:
    absent = unique("absent")
    settings = settings_for(namespace, absent, tmp_path)
    outcome = await CertificateManager(client, settings).ensure()
    assert outcome.action is CertificateAction.NEW_CA
    assert outcome.patched_configurations == ()
    # Reported, so that the periodic check comes back soon rather than in an hour.
    assert outcome.missing_configurations == (
        f"MutatingWebhookConfiguration/{absent}",
        f"ValidatingWebhookConfiguration/{absent}",
    )


async def test_errors_name_the_secret_and_the_api_answer(
    client: KubeClient, tmp_path: Path
) -> None:
    settings = settings_for("no-such-ns", "x", tmp_path)
    with pytest.raises(CertificateSetupError) as raised:
        await CertificateManager(client, settings).ensure()
    message = str(raised.value)
    assert message.startswith("cannot create Secret no-such-ns/imagegate-tls: ")
    assert "HTTP 404" in message
    assert "no-such-ns" in message


def rbac_manifests(namespace: str, secret: str, configuration: str, user: str) -> str:
    """The minimum RBAC of docs/admission.md, bound to ``user``."""
    subject = {"kind": "ServiceAccount", "name": user, "namespace": namespace}
    cluster_role = f"{namespace}-imagegate-certs"
    documents: list[dict[str, Any]] = [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "imagegate-certs", "namespace": namespace},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["secrets"],
                    "resourceNames": [secret],
                    "verbs": ["get", "update"],
                },
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "imagegate-certs", "namespace": namespace},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "imagegate-certs",
            },
            "subjects": [subject],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": cluster_role},
            "rules": [
                {
                    "apiGroups": ["admissionregistration.k8s.io"],
                    "resources": [
                        "validatingwebhookconfigurations",
                        "mutatingwebhookconfigurations",
                    ],
                    "resourceNames": [configuration],
                    "verbs": ["get", "patch"],
                }
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": cluster_role},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": cluster_role,
            },
            "subjects": [subject],
        },
    ]
    return yaml.safe_dump_all(documents, sort_keys=False)


def service_account_connection(cluster: Cluster, namespace: str) -> KubeConnection:
    """The admin's API server and trust, authenticated as ServiceAccount imagegate only."""
    cluster.kubectl("create", "serviceaccount", "imagegate", "-n", namespace)
    token = cluster.kubectl("create", "token", "imagegate", "-n", namespace).stdout.strip()
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    context = next(
        entry["context"] for entry in admin["contexts"] if entry["name"] == admin["current-context"]
    )
    entry = next(item for item in admin["clusters"] if item["name"] == context["cluster"])
    server = entry["cluster"]
    if "certificate-authority-data" in server:
        trust = ssl.create_default_context(
            cadata=base64.b64decode(server["certificate-authority-data"]).decode()
        )
    else:
        trust = ssl.create_default_context(cafile=server["certificate-authority"])
    # Built here rather than from a kubeconfig: no client certificate may vouch for us.
    return KubeConnection(
        server=server["server"].rstrip("/"), ssl_context=trust, bearer_token=lambda: token
    )


async def test_the_documented_rbac_is_enough_and_its_absence_is_reported(
    cluster: Cluster, namespace: str, configurations: str, tmp_path: Path
) -> None:
    settings = settings_for(namespace, configurations, tmp_path / "tls")
    client = KubeClient.open(service_account_connection(cluster, namespace))
    try:
        manager = CertificateManager(client, settings)
        with pytest.raises(CertificateSetupError) as raised:
            await manager.ensure()
        message = str(raised.value)
        assert message.startswith(f"cannot read Secret {namespace}/imagegate-tls: ")
        assert "HTTP 403" in message
        assert "forbidden" in message

        cluster.kubectl(
            "apply",
            "-f",
            "-",
            input_text=rbac_manifests(namespace, "imagegate-tls", configurations, "imagegate"),
        )
        # The API server's authorizer sees new bindings shortly after they are stored.
        outcome, last_error = None, None
        for _attempt in range(50):
            try:
                outcome = await manager.ensure()
                break
            except CertificateSetupError as error:
                last_error = error
                await asyncio.sleep(0.1)
        assert outcome is not None, last_error
        assert outcome.action is CertificateAction.NEW_CA
        assert len(outcome.patched_configurations) == 2

        later = datetime.now(UTC) + timedelta(days=340)
        renewed = await CertificateManager(client, settings, clock=lambda: later).ensure()
        assert renewed.action is CertificateAction.ISSUE
        assert renewed.secret_written
    finally:
        await client.close()
        cluster.kubectl(
            "delete", "clusterrole,clusterrolebinding", f"{namespace}-imagegate-certs", check=False
        )


def test_the_api_server_trusts_the_certificate_imagegate_made(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    """imagegate serve in self-managed mode; the configuration starts without a caBundle."""
    port = free_port()
    name = unique("imagegate-self-managed")
    selector = {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
    manifest = webhook_configuration(
        "ValidatingWebhookConfiguration",
        name,
        f"https://127.0.0.1:{port}/validate",
        selector,
        "Fail",
    )
    cluster.kubectl("apply", "-f", "-", input_text=manifest)
    tls = tmp_path / "tls"  # as an emptyDir: nothing in it yet
    process = ManagedProcess(
        name="imagegate",
        command=[
            sys.executable,
            "-m",
            "imagegate",
            "serve",
            "--listen",
            f"127.0.0.1:{port}",
            "--tls-cert",
            str(tls / "tls.crt"),
            "--tls-key",
            str(tls / "tls.key"),
            "--self-managed-certs",
            "--cert-secret",
            "webhook-tls",
            "--cert-namespace",
            namespace,
            "--service-dns",
            "localhost",
            "--service-ip",
            "127.0.0.1",
            # The mutating one does not exist: a warning, not a failure.
            "--webhook-configurations",
            f"{name},{name}-absent",
            "--store",
            f"sqlite:///{tmp_path / 'imagegate.db'}",
            "--spool",
            str(tmp_path / "spool.db"),
            "--cluster-name",
            CLUSTER_NAME,
            "--kubeconfig",
            str(cluster.kubeconfig),
        ],
        log_path=tmp_path / "imagegate.log",
    )
    try:
        process.start()
        unverified = ssl.create_default_context()
        unverified.check_hostname = False
        unverified.verify_mode = ssl.CERT_NONE
        process.wait_until(
            lambda: http_ok(f"https://127.0.0.1:{port}/readyz", unverified), what="/readyz"
        )
        secret = get_json(cluster, "secret", "webhook-tls", "-n", namespace)
        trusted = ssl.create_default_context(cadata=secret_pem(secret, "ca.crt").decode())
        assert http_ok(f"https://127.0.0.1:{port}/readyz", trusted)
        assert ca_bundles(cluster, "validatingwebhookconfiguration", name) == [
            secret["data"]["ca.crt"]
        ]

        manifest = deployment("probe", namespace, TAG_ONLY_IMAGE)

        def refused_by_imagegate() -> bool:
            result = cluster.kubectl(
                "apply", "--dry-run=server", "-f", "-", input_text=manifest, check=False
            )
            return result.returncode != 0 and "imagegate denied" in result.stderr

        eventually(refused_by_imagegate, what="the API server calling imagegate over TLS")
        # This process judged it (not another imagegate the session may run).
        events = [
            json.loads(line)
            for line in (tmp_path / "imagegate.log").read_text().splitlines()
            if line.startswith("{")
        ]
        assert any(
            event["event"] == "admission"
            and event["namespace"] == namespace
            and event["decision"] == "deny"
            for event in events
        )
        assert any(event["event"] == "webhook_configuration_missing" for event in events)
    finally:
        process.stop()
        cluster.kubectl("delete", "validatingwebhookconfiguration", name, check=False)
