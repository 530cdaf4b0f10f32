"""The argument grammar of ``imagegate serve``: listening, TLS, admission, recording
and self-managed certificates."""

from __future__ import annotations

import argparse
import os

from imagegate.admission import DEFAULT_ENVIRONMENT_LABEL, DEFAULT_TEMPLATE
from imagegate.policy import Mode


def add_serve(
    groups: argparse._SubParsersAction[argparse.ArgumentParser],
    connection: argparse.ArgumentParser,
) -> None:
    serve = groups.add_parser("serve", help="run the server", parents=[connection])
    serve.set_defaults(command_name="serve")
    serve.add_argument(
        "--listen",
        default=None,
        metavar="HOST:PORT",
        help="default 127.0.0.1:8080, or 0.0.0.0:8443 with TLS",
    )
    serve.add_argument(
        "--tls-cert",
        default=os.environ.get("IMAGEGATE_TLS_CERT"),
        metavar="FILE",
        help="PEM certificate chain (env IMAGEGATE_TLS_CERT)",
    )
    serve.add_argument(
        "--tls-key",
        default=os.environ.get("IMAGEGATE_TLS_KEY"),
        metavar="FILE",
        help="PEM private key (env IMAGEGATE_TLS_KEY)",
    )
    serve.add_argument(
        "--auto-create-environments",
        action="store_true",
        help="create unknown environments on first record instead of refusing",
    )
    serve.add_argument(
        "--default-logical-env",
        default="production",
        metavar="NAME",
        help="logical environment of records that name none (production)",
    )
    serve.add_argument(
        "--log-level",
        default=os.environ.get("IMAGEGATE_LOG_LEVEL", "info"),
        choices=["debug", "info", "warning", "error"],
    )
    serve.add_argument(
        "--event-loop",
        default=os.environ.get("IMAGEGATE_EVENT_LOOP", "auto"),
        choices=["auto", "uvloop", "asyncio"],
        help="auto: uvloop when installed, else asyncio's (env IMAGEGATE_EVENT_LOOP)",
    )
    _admission_options(serve)
    _certificate_options(serve)


def _certificate_options(serve: argparse.ArgumentParser) -> None:
    certs = serve.add_argument_group(
        "self-managed certificates",
        "imagegate keeps a CA and serving certificate in a TLS Secret, writes --tls-cert and "
        "--tls-key from it and patches the webhooks' caBundle; it renews them before expiry",
    )
    env = os.environ.get
    certs.add_argument(
        "--self-managed-certs",
        action="store_true",
        help="manage the webhook certificate in the cluster (needs --cert-secret, --service-dns)",
    )
    certs.add_argument(
        "--cert-secret",
        default=env("IMAGEGATE_CERT_SECRET"),
        metavar="NAME",
        help="the kubernetes.io/tls Secret holding the CA and certificate (env "
        "IMAGEGATE_CERT_SECRET)",
    )
    certs.add_argument(
        "--cert-namespace",
        default=env("IMAGEGATE_CERT_NAMESPACE"),
        metavar="NAMESPACE",
        help="namespace of the Secret (default: the pod's own namespace)",
    )
    certs.add_argument(
        "--service-dns",
        action="append",
        default=[],
        metavar="NAME",
        help="a DNS name the API server calls imagegate at, e.g. imagegate.imagegate.svc; "
        "repeatable",
    )
    certs.add_argument(
        "--service-ip",
        action="append",
        default=[],
        metavar="ADDR",
        help="an IP address the API server calls imagegate at; repeatable",
    )
    certs.add_argument(
        "--webhook-configurations",
        default=env("IMAGEGATE_WEBHOOK_CONFIGURATIONS", ""),
        metavar="VALIDATING,MUTATING",
        help="names of the Validating- and MutatingWebhookConfiguration whose caBundle to set; "
        "either may be empty",
    )
    certs.add_argument(
        "--cert-check-interval",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="how often the certificate and caBundles are checked again (3600)",
    )
    certs.add_argument(
        "--cert-renew-before-days",
        type=int,
        default=30,
        metavar="DAYS",
        help="renew a certificate this long before it expires (30; certificates last 365)",
    )


def _admission_options(serve: argparse.ArgumentParser) -> None:
    admission = serve.add_argument_group("admission webhook")
    env = os.environ.get
    admission.add_argument(
        "--cluster-name",
        default=env("IMAGEGATE_CLUSTER_NAME", "default"),
        metavar="NAME",
        help="environment admitted workloads are recorded in (env IMAGEGATE_CLUSTER_NAME)",
    )
    admission.add_argument(
        "--environment-label",
        default=DEFAULT_ENVIRONMENT_LABEL,
        metavar="LABEL",
        help=f"namespace label naming the logical environment ({DEFAULT_ENVIRONMENT_LABEL})",
    )
    admission.add_argument(
        "--namespace-env",
        action="append",
        default=[],
        metavar="NAMESPACE=ENV",
        help="logical environment of a namespace without the label; repeatable",
    )
    admission.add_argument(
        "--deployment-name-template",
        default=DEFAULT_TEMPLATE,
        metavar="TEMPLATE",
        help="deployment name of admitted containers; placeholders {cluster} {namespace} "
        f"{{kind}} {{workload}} {{container}} (default {DEFAULT_TEMPLATE})",
    )
    admission.add_argument(
        "--default-platform",
        default="linux/amd64",
        metavar="OS/ARCH[/VARIANT]",
        help="platform of pods that constrain neither OS nor architecture (linux/amd64)",
    )
    admission.add_argument(
        "--require-digest",
        default=env("IMAGEGATE_REQUIRE_DIGEST", "enforce"),
        choices=[mode.value for mode in Mode],
        help="tag-only images: enforce denies, audit warns, off ignores (default enforce)",
    )
    admission.add_argument(
        "--policies",
        default=env("IMAGEGATE_POLICIES"),
        metavar="PATH",
        help="DeploymentPolicy file or directory, reloaded on change (env IMAGEGATE_POLICIES)",
    )
    admission.add_argument(
        "--spool",
        default=env("IMAGEGATE_SPOOL", "imagegate-spool.db"),
        metavar="FILE",
        help="local file where admitted deployments wait for the store (env IMAGEGATE_SPOOL)",
    )
    admission.add_argument(
        "--heartbeat-interval",
        type=float,
        default=env("IMAGEGATE_HEARTBEAT_INTERVAL", "10"),
        metavar="SECONDS",
        help="spool a deployment admitted again unchanged at most once per interval; "
        "last_seen lags by up to 1.25 intervals; 0: every admission (10; env "
        "IMAGEGATE_HEARTBEAT_INTERVAL)",
    )
    admission.add_argument(
        "--registry-config",
        default=env("IMAGEGATE_REGISTRY_CONFIG"),
        metavar="FILE",
        help="docker config JSON with registry credentials, e.g. a mounted .dockerconfigjson "
        "(env IMAGEGATE_REGISTRY_CONFIG)",
    )
    admission.add_argument(
        "--webhook-client-ca",
        default=env("IMAGEGATE_WEBHOOK_CLIENT_CA"),
        metavar="FILE",
        help="/validate and /mutate answer only clients with a certificate this PEM CA "
        "signed: kube-apiserver's, from its AdmissionConfiguration (env "
        "IMAGEGATE_WEBHOOK_CLIENT_CA); the HTTP API keeps its bearer keys",
    )
    admission.add_argument(
        "--webhook-client-name",
        action="append",
        default=[],
        metavar="COMMON_NAME",
        help="with --webhook-client-ca: only these subject common names; repeatable",
    )
    admission.add_argument(
        "--read-pull-secrets",
        action="store_true",
        help="read pods' imagePullSecrets for registry credentials (needs get on secrets)",
    )
    admission.add_argument(
        "--insecure-registry",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="a registry reached over plain HTTP (loopback ones always are); repeatable",
    )
    admission.add_argument(
        "--facts-timeout",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="longest an admission waits for one registry or evidence lookup (2)",
    )
    admission.add_argument(
        "--kubeconfig",
        default=None,
        metavar="FILE",
        help="for namespace labels; default: in-cluster service account, else $KUBECONFIG",
    )
    admission.add_argument(
        "--no-namespace-labels",
        action="store_true",
        help="do not read namespace labels from the cluster",
    )
    admission.add_argument(
        "--record-from",
        default=env("IMAGEGATE_RECORD_FROM", "auto"),
        choices=["auto", "cluster", "admission"],
        help="cluster: record what the API server persisted (a watch of every workload "
        "kind; needs list/watch on them, pods and nodes); admission: record what the webhook "
        "admitted; auto: cluster when its API can be read, else admission (env "
        "IMAGEGATE_RECORD_FROM)",
    )
    admission.add_argument(
        "--exclude-namespace",
        action="append",
        default=None,
        metavar="NAMESPACE",
        help="namespace whose workloads the cluster watch never records, as the webhook "
        "is not called for them; repeatable (default kube-system and kube-node-lease)",
    )
    admission.add_argument(
        "--leader-election-namespace",
        default=env("IMAGEGATE_LEADER_ELECTION_NAMESPACE"),
        metavar="NAMESPACE",
        help="namespace of the Lease that lets one replica alone run the cluster watch "
        "(needs get, create, update on leases there; default: the pod's own namespace, "
        "none outside a pod)",
    )
    admission.add_argument(
        "--leader-election-name",
        default=env("IMAGEGATE_LEADER_ELECTION_NAME", "imagegate-cluster-watch"),
        metavar="NAME",
        help="name of that Lease (imagegate-cluster-watch)",
    )
    admission.add_argument(
        "--object-selector",
        default=env("IMAGEGATE_OBJECT_SELECTOR", ""),
        metavar="JSON",
        help="the webhooks' objectSelector as JSON (matchLabels, matchExpressions): objects "
        "it leaves out are not recorded by the cluster watch either (env "
        "IMAGEGATE_OBJECT_SELECTOR)",
    )
    admission.add_argument(
        "--reconcile-interval",
        type=float,
        default=env("IMAGEGATE_RECONCILE_INTERVAL", "300"),
        metavar="SECONDS",
        help="how often the cluster watch compares the store with the whole cluster (300)",
    )
