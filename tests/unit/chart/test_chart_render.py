"""What charts/imagegate renders for the values that matter (helm template, no cluster)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from imagegate.cli._parser import build_parser

CHART = Path(__file__).resolve().parents[3] / "charts" / "imagegate"
POSTGRESQL = {"store": {"type": "postgresql", "postgresql": {"existingSecret": "imagegate-db"}}}
PROVIDED = {
    "certificates": {
        "mode": "provided",
        "provided": {"existingSecret": "my-tls", "caBundle": "LS0tLS1CRUdJTg=="},
    }
}


def run_helm(
    helm: Path, tmp_path: Path, values: dict[str, Any], *extra: str
) -> subprocess.CompletedProcess[str]:
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    return subprocess.run(
        [str(helm), "template", "ig", str(CHART), "-n", "gate", "-f", str(values_file), *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def render(helm: Path, tmp_path: Path, values: dict[str, Any] | None = None) -> list[Any]:
    completed = run_helm(helm, tmp_path, values or {})
    assert completed.returncode == 0, completed.stderr
    return [doc for doc in yaml.safe_load_all(completed.stdout) if doc]


def one(docs: list[Any], kind: str, name: str | None = None) -> Any:
    found = [
        d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"{len(found)} {kind} objects"
    return found[0]


def kinds(docs: list[Any]) -> set[str]:
    return {d["kind"] for d in docs}


def container(docs: list[Any]) -> Any:
    return one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]


def test_defaults_one_sqlite_replica_self_managed(helm: Path, tmp_path: Path) -> None:
    docs = render(helm, tmp_path)
    deployment = one(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert "PodDisruptionBudget" not in kinds(docs)
    assert one(docs, "PersistentVolumeClaim")["metadata"]["name"] == "ig-imagegate-data"
    args = container(docs)["args"]
    assert args[:4] == [
        "serve",
        "--listen=0.0.0.0:8443",
        "--tls-cert=/etc/imagegate/tls/tls.crt",
        "--tls-key=/etc/imagegate/tls/tls.key",
    ]
    flags = " ".join(args)
    assert (
        "--self-managed-certs --cert-secret ig-imagegate-tls "
        "--webhook-configurations ig-imagegate,ig-imagegate "
        "--service-dns ig-imagegate.gate.svc"
    ) in flags
    assert "--require-digest=enforce" in args
    env = {e["name"]: e for e in container(docs)["env"]}
    assert env["IMAGEGATE_STORE"]["value"] == "sqlite:////var/lib/imagegate/data/imagegate.db"
    tls = next(v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "tls")
    # imagegate writes the serving pair from its Secret into a writable emptyDir.
    assert tls["emptyDir"] == {"medium": "Memory", "sizeLimit": "1Mi"}


def test_restricted_security_context_and_https_probes(helm: Path, tmp_path: Path) -> None:
    docs = render(helm, tmp_path)
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = pod["containers"][0]["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    mounts = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    assert {"/tmp", "/etc/imagegate/tls", "/var/lib/imagegate/spool"} <= mounts
    live, ready = pod["containers"][0]["livenessProbe"], pod["containers"][0]["readinessProbe"]
    assert live["httpGet"] == {"path": "/healthz", "port": "https", "scheme": "HTTPS"}
    assert ready["httpGet"] == {"path": "/readyz", "port": "https", "scheme": "HTTPS"}
    anti = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert anti[0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"


def test_sqlite_refuses_several_replicas(helm: Path, tmp_path: Path) -> None:
    completed = run_helm(helm, tmp_path, {"replicaCount": 2})
    assert completed.returncode != 0
    assert "replicaCount 2 with store.type sqlite" in completed.stderr
    assert "use store.type postgresql" in completed.stderr


def test_postgresql_two_replicas_with_budget(helm: Path, tmp_path: Path) -> None:
    docs = render(helm, tmp_path, POSTGRESQL)
    deployment = one(docs, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert one(docs, "PodDisruptionBudget")["spec"]["minAvailable"] == 1
    assert "PersistentVolumeClaim" not in kinds(docs)
    env = {e["name"]: e for e in container(docs)["env"]}
    assert env["IMAGEGATE_STORE"]["valueFrom"] == {
        "secretKeyRef": {"name": "imagegate-db", "key": "url"}
    }


def test_postgresql_needs_its_secret(helm: Path, tmp_path: Path) -> None:
    completed = run_helm(helm, tmp_path, {"store": {"type": "postgresql"}})
    assert completed.returncode != 0
    assert "store.postgresql.existingSecret is required" in completed.stderr


def test_webhook_configurations(helm: Path, tmp_path: Path) -> None:
    docs = render(helm, tmp_path, {"webhook": {"objectSelector": {"matchLabels": {"a": "b"}}}})
    validating = one(docs, "ValidatingWebhookConfiguration")["webhooks"][0]
    mutating = one(docs, "MutatingWebhookConfiguration")["webhooks"][0]
    assert validating["sideEffects"] == "NoneOnDryRun"
    assert validating["failurePolicy"] == "Fail"
    assert validating["timeoutSeconds"] == 5
    assert validating["clientConfig"]["service"] == {
        "namespace": "gate",
        "name": "ig-imagegate",
        "path": "/validate",
        "port": 443,
    }
    assert "caBundle" not in validating["clientConfig"]
    assert mutating["sideEffects"] == "None"
    assert mutating["failurePolicy"] == "Ignore"
    assert mutating["reinvocationPolicy"] == "IfNeeded"
    assert mutating["clientConfig"]["service"]["path"] == "/mutate"
    for webhook in (validating, mutating):
        excluded = webhook["namespaceSelector"]["matchExpressions"][0]["values"]
        assert excluded == ["kube-system", "kube-node-lease", "gate"]
        assert webhook["objectSelector"] == {"matchLabels": {"a": "b"}}
        resources = {r for rule in webhook["rules"] for r in rule["resources"]}
        assert {"pods/ephemeralcontainers", "deployments", "cronjobs", "podtemplates"} <= resources
    assert validating["rules"][0]["operations"] == ["CREATE", "UPDATE", "DELETE"]
    assert mutating["rules"][0]["operations"] == ["CREATE", "UPDATE"]


def test_validating_failure_policy_ignore_and_no_mutating(helm: Path, tmp_path: Path) -> None:
    values = {
        "webhook": {"validating": {"failurePolicy": "Ignore"}, "mutating": {"enabled": False}}
    }
    docs = render(helm, tmp_path, values)
    assert one(docs, "ValidatingWebhookConfiguration")["webhooks"][0]["failurePolicy"] == "Ignore"
    assert "MutatingWebhookConfiguration" not in kinds(docs)
    args = container(docs)["args"]
    assert args[args.index("--webhook-configurations") + 1] == "ig-imagegate"
    rules = one(docs, "ClusterRole")["rules"]
    assert [r["resources"] for r in rules if "resourceNames" in r] == [
        ["validatingwebhookconfigurations"]
    ]


def test_rbac_least_privilege(helm: Path, tmp_path: Path) -> None:
    docs = render(helm, tmp_path)
    rules = one(docs, "ClusterRole")["rules"]
    assert {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]} in (
        rules
    )
    assert not [r for r in rules if "secrets" in r["resources"]]
    for rule in rules:
        if rule["apiGroups"] == ["admissionregistration.k8s.io"]:
            assert rule["resourceNames"] == ["ig-imagegate"]
            assert rule["verbs"] == ["get", "patch"]
    role = one(docs, "Role", "ig-imagegate")
    assert role["metadata"]["namespace"] == "gate"
    named, create = role["rules"]
    assert named["resourceNames"] == ["ig-imagegate-tls"]
    assert named["verbs"] == ["get", "update"]
    assert create["verbs"] == ["create"]

    assert "--read-pull-secrets" not in container(docs)["args"]

    pulls = render(helm, tmp_path, {"registry": {"readPullSecrets": True}})
    assert "--read-pull-secrets" in container(pulls)["args"]
    assert {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]} in one(
        pulls, "ClusterRole"
    )["rules"]


def test_cert_manager_mode(helm: Path, tmp_path: Path) -> None:
    docs = render(helm, tmp_path, {"certificates": {"mode": "certManager"}})
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        annotations = one(docs, kind)["metadata"]["annotations"]
        assert annotations == {"cert-manager.io/inject-ca-from": "gate/ig-imagegate-tls"}
    certificate = one(docs, "Certificate", "ig-imagegate-tls")
    assert certificate["spec"]["secretName"] == "ig-imagegate-tls"
    assert "ig-imagegate.gate.svc" in certificate["spec"]["dnsNames"]
    assert one(docs, "Certificate", "ig-imagegate-ca")["spec"]["isCA"] is True
    assert {d["metadata"]["name"] for d in docs if d["kind"] == "Issuer"} == {
        "ig-imagegate-selfsigned",
        "ig-imagegate-ca",
    }
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "Role"] == ["ig-imagegate-leader"]
    assert "--self-managed-certs" not in container(docs)["args"]


def test_provided_mode(helm: Path, tmp_path: Path) -> None:
    docs = render(helm, tmp_path, PROVIDED)
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        assert one(docs, kind)["webhooks"][0]["clientConfig"]["caBundle"] == "LS0tLS1CRUdJTg=="
    volumes = one(docs, "Deployment")["spec"]["template"]["spec"]["volumes"]
    assert next(v for v in volumes if v["name"] == "tls")["secret"] == {"secretName": "my-tls"}
    test_pod = one(docs, "Pod")
    ca = next(e for e in test_pod["spec"]["containers"][0]["env"] if e["name"] == "IMAGEGATE_CA")
    assert ca["value"] == "-----BEGIN"


def test_provided_mode_needs_the_ca_bundle(helm: Path, tmp_path: Path) -> None:
    values = {"certificates": {"mode": "provided", "provided": {"existingSecret": "my-tls"}}}
    completed = run_helm(helm, tmp_path, values)
    assert completed.returncode != 0
    assert "certificates.provided.caBundle is required" in completed.stderr


def test_inline_policies_become_a_config_map(helm: Path, tmp_path: Path) -> None:
    policy = {
        "apiVersion": "imagegate.dev/v1alpha1",
        "kind": "DeploymentPolicy",
        "metadata": {"name": "no-latest"},
        "spec": {"rules": [{"rule": "no-latest"}]},
    }
    second = {**policy, "metadata": {"name": "second"}}
    docs = render(helm, tmp_path, {"policies": {"inline": [policy, second]}})
    config_map = one(docs, "ConfigMap")
    assert list(yaml.safe_load_all(config_map["data"]["policies.yaml"])) == [policy, second]
    assert "--policies=/etc/imagegate/policies" in container(docs)["args"]

    existing = render(helm, tmp_path, {"policies": {"existingConfigMap": "mine"}})
    assert "ConfigMap" not in kinds(existing)
    volumes = one(existing, "Deployment")["spec"]["template"]["spec"]["volumes"]
    assert next(v for v in volumes if v["name"] == "policies")["configMap"] == {"name": "mine"}


def test_adding_policies_changes_only_the_config_map_not_the_pods(
    helm: Path, tmp_path: Path
) -> None:
    # A pod template change would roll the pods; imagegate reloads the mounted
    # ConfigMap itself, so `helm upgrade` with new policies must not.
    policy = {
        "apiVersion": "imagegate.dev/v1alpha1",
        "kind": "DeploymentPolicy",
        "metadata": {"name": "no-latest"},
        "spec": {"rules": [{"rule": "no-latest"}]},
    }
    without = render(helm, tmp_path)
    with_policy = render(helm, tmp_path, {"policies": {"inline": [policy]}})
    template = one(without, "Deployment")["spec"]["template"]
    assert template == one(with_policy, "Deployment")["spec"]["template"]
    assert "--policies=/etc/imagegate/policies" in template["spec"]["containers"][0]["args"]
    assert list(yaml.safe_load_all(one(without, "ConfigMap")["data"]["policies.yaml"])) == []


def test_a_stopping_pod_keeps_serving_while_it_leaves_the_endpoints(
    helm: Path, tmp_path: Path
) -> None:
    assert container(render(helm, tmp_path))["lifecycle"] == {"preStop": {"sleep": {"seconds": 5}}}
    assert "lifecycle" not in container(render(helm, tmp_path, {"shutdownDelaySeconds": 0}))

    completed = run_helm(helm, tmp_path, {"shutdownDelaySeconds": 30})
    assert completed.returncode != 0
    assert (
        "shutdownDelaySeconds 30 must be less than terminationGracePeriodSeconds 30"
        in completed.stderr
    )


def test_client_auth_mounts_the_callers_ca_and_names_the_allowed_callers(
    helm: Path, tmp_path: Path
) -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
    auth = {"enabled": True, "caCertificate": pem, "commonNames": ["kube-apiserver"]}
    docs = render(helm, tmp_path, {"webhook": {"clientAuth": auth}})
    config_map = one(docs, "ConfigMap", "ig-imagegate-webhook-client-ca")
    assert config_map["data"]["ca.crt"].strip() == pem
    args = container(docs)["args"]
    assert "--webhook-client-ca=/etc/imagegate/webhook-client-ca/ca.crt" in args
    assert "--webhook-client-name=kube-apiserver" in args
    volumes = one(docs, "Deployment")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "webhook-client-ca", "configMap": {"name": config_map["metadata"]["name"]}} in (
        volumes
    )
    test_env = one(docs, "Pod")["spec"]["containers"][0]["env"]
    assert {"name": "CLIENT_AUTH", "value": "true"} in test_env

    existing = render(
        helm, tmp_path, {"webhook": {"clientAuth": {"enabled": True, "existingConfigMap": "ca"}}}
    )
    volumes = one(existing, "Deployment")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "webhook-client-ca", "configMap": {"name": "ca"}} in volumes
    assert not any(arg.startswith("--webhook-client-name") for arg in container(existing)["args"])

    off = render(helm, tmp_path)
    assert not any(arg.startswith("--webhook-client") for arg in container(off)["args"])


def test_client_auth_needs_the_callers_ca(helm: Path, tmp_path: Path) -> None:
    completed = run_helm(helm, tmp_path, {"webhook": {"clientAuth": {"enabled": True}}})
    assert completed.returncode != 0
    assert "webhook.clientAuth.caCertificate or .existingConfigMap is required" in (
        completed.stderr
    )


def test_registry_credentials_and_namespace_map(helm: Path, tmp_path: Path) -> None:
    values = {
        "registry": {"existingSecret": "pull"},
        "logicalEnvironment": {"namespaces": {"shop-staging": "staging", "shop": "production"}},
        "clusterName": "k8s-east",
        "namespaceLabels": False,
    }
    docs = render(helm, tmp_path, values)
    args = container(docs)["args"]
    assert "--registry-config=/etc/imagegate/registry/config.json" in args
    assert "--namespace-env=shop=production" in args
    assert "--namespace-env=shop-staging=staging" in args
    assert "--cluster-name=k8s-east" in args
    assert "--no-namespace-labels" in args
    volumes = one(docs, "Deployment")["spec"]["template"]["spec"]["volumes"]
    registry = next(v for v in volumes if v["name"] == "registry")
    assert registry["secret"]["items"] == [{"key": ".dockerconfigjson", "path": "config.json"}]
    rules = one(docs, "ClusterRole")["rules"]
    assert not [r for r in rules if "namespaces" in r["resources"]]


def test_optional_objects(helm: Path, tmp_path: Path) -> None:
    values = {
        "monitoring": {"serviceMonitor": {"enabled": True}},
        "networkPolicy": {"enabled": True},
        "priorityClassName": "system-cluster-critical",
        "image": {"digest": "sha256:" + "a" * 64},
    }
    docs = render(helm, tmp_path, values)
    monitor = one(docs, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["scheme"] == "https"
    policy = one(docs, "NetworkPolicy")
    assert policy["spec"]["ingress"] == [{"ports": [{"port": 8443, "protocol": "TCP"}]}]
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert pod["containers"][0]["image"] == "ghcr.io/imagegate/imagegate:0.1.0@sha256:" + "a" * 64


@pytest.mark.parametrize(
    "values",
    [
        {"requireDigest": "maybe"},
        {"heartbeatInterval": -1},
        {"heartbeatInterval": "10s"},
        {"replicaCount": 0},
        {"store": {"type": "mysql"}},
        {"certificates": {"mode": "letsencrypt"}},
        {"webhook": {"validating": {"failurePolicy": "Sometimes"}}},
        {"replicas": 2},
        {"image": {"digest": "latest"}},
    ],
)
def test_schema_refuses_bad_values(helm: Path, tmp_path: Path, values: dict[str, Any]) -> None:
    completed = run_helm(helm, tmp_path, values)
    assert completed.returncode != 0
    assert "schema" in completed.stderr.lower()


@pytest.mark.parametrize("mode", ["selfManaged", "certManager", "provided"])
def test_rendered_arguments_are_what_imagegate_serve_accepts(
    helm: Path, tmp_path: Path, mode: str
) -> None:
    values: dict[str, Any] = {
        "certificates": PROVIDED["certificates"] if mode == "provided" else {"mode": mode},
        "registry": {"existingSecret": "pull", "readPullSecrets": True, "insecure": ["reg:5000"]},
        "policies": {"existingConfigMap": "mine"},
        "logicalEnvironment": {"namespaces": {"shop": "staging"}},
        "namespaceLabels": False,
        "requireDigest": "audit",
        "heartbeatInterval": 2.5,
        "logLevel": "debug",
    }
    args = container(render(helm, tmp_path, values))["args"]
    parsed = build_parser().parse_args(args)
    assert parsed.command_name == "serve"
    assert parsed.listen == "0.0.0.0:8443"
    assert parsed.tls_cert == "/etc/imagegate/tls/tls.crt"
    assert parsed.tls_key == "/etc/imagegate/tls/tls.key"
    assert parsed.self_managed_certs is (mode == "selfManaged")
    if mode == "selfManaged":
        assert parsed.cert_secret == "ig-imagegate-tls"
        assert parsed.service_dns == ["ig-imagegate.gate.svc"]
        assert parsed.webhook_configurations == "ig-imagegate,ig-imagegate"
    assert parsed.namespace_env == ["shop=staging"]
    assert parsed.policies == "/etc/imagegate/policies"
    assert parsed.registry_config == "/etc/imagegate/registry/config.json"
    assert parsed.read_pull_secrets is True
    assert parsed.insecure_registry == ["reg:5000"]
    assert parsed.no_namespace_labels is True
    assert parsed.require_digest == "audit"
    assert parsed.heartbeat_interval == 2.5
    assert parsed.log_level == "debug"


def test_the_cluster_watch_may_list_and_watch_what_it_records_and_hold_its_lease(
    helm: Path, tmp_path: Path
) -> None:
    docs = render(helm, tmp_path)
    rules = one(docs, "ClusterRole")["rules"]
    watched = {
        (group, resource)
        for rule in rules
        if rule["verbs"] == ["list", "watch"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    assert watched == {
        ("", "pods"),
        ("", "replicationcontrollers"),
        ("", "nodes"),
        ("apps", "deployments"),
        ("apps", "statefulsets"),
        ("apps", "daemonsets"),
        ("apps", "replicasets"),
        ("batch", "jobs"),
        ("batch", "cronjobs"),
    }
    named, create = one(docs, "Role", "ig-imagegate-leader")["rules"]
    assert named == {
        "apiGroups": ["coordination.k8s.io"],
        "resources": ["leases"],
        "resourceNames": ["ig-imagegate-cluster-watch"],
        "verbs": ["get", "update"],
    }
    assert create["verbs"] == ["create"]
    args = container(docs)["args"]
    assert "--record-from=cluster" in args
    assert "--leader-election-namespace=gate" in args
    assert "--leader-election-name=ig-imagegate-cluster-watch" in args
    assert [a for a in args if a.startswith("--exclude-namespace=")] == [
        "--exclude-namespace=kube-system",
        "--exclude-namespace=kube-node-lease",
        "--exclude-namespace=gate",
    ]


def test_recording_at_admission_needs_no_watch_permissions(helm: Path, tmp_path: Path) -> None:
    docs = render(helm, tmp_path, {"recordFrom": "admission", "namespaceLabels": False})
    rules = one(docs, "ClusterRole")["rules"]  # self-managed certificates only
    assert [r for r in rules if "watch" in r["verbs"]] == []
    assert "ig-imagegate-leader" not in {d["metadata"]["name"] for d in docs if d["kind"] == "Role"}
    args = container(docs)["args"]
    assert "--record-from=admission" in args
    assert not [a for a in args if a.startswith(("--exclude-namespace", "--leader-election"))]


def test_the_webhooks_object_selector_is_the_watchs_too(helm: Path, tmp_path: Path) -> None:
    selector = {"matchExpressions": [{"key": "team", "operator": "In", "values": ["shop"]}]}
    docs = render(helm, tmp_path, {"webhook": {"objectSelector": selector}})
    (flag,) = [a for a in container(docs)["args"] if a.startswith("--object-selector=")]
    assert json.loads(flag.removeprefix("--object-selector=")) == selector
    assert one(docs, "ValidatingWebhookConfiguration")["webhooks"][0]["objectSelector"] == selector
