"""The names the random workloads are drawn from: namespaces, words, registries, shared images."""

from __future__ import annotations

NAMESPACES = (
    "payments",
    "checkout",
    "catalog",
    "search",
    "identity",
    "notifications",
    "analytics",
    "ingress",
    "monitoring",
    "data-pipeline",
    "ml-serving",
    "internal-tools",
)

WORDS = (
    "api",
    "web",
    "worker",
    "gateway",
    "auth",
    "billing",
    "cart",
    "indexer",
    "scheduler",
    "notifier",
    "mailer",
    "ledger",
    "reporting",
    "exporter",
    "ingest",
    "router",
    "frontend",
    "backend",
    "cache",
    "session",
    "profile",
    "inventory",
    "pricing",
    "shipping",
    "recommender",
    "feature-store",
    "model-server",
    "webhook",
    "sync",
    "reconciler",
)

REGISTRIES = (
    "registry.example.com",
    "ghcr.io/example-org",
    "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    "europe-docker.pkg.dev/example-prod/apps",
)

# Images shared across workloads, as sidecars and init containers are in real clusters.
SIDECARS = (
    ("envoy", "docker.io/envoyproxy/envoy", "v1.30.1"),
    ("istio-proxy", "docker.io/istio/proxyv2", "1.22.0"),
    ("fluent-bit", "cr.fluentbit.io/fluent/fluent-bit", "3.0.4"),
    ("vault-agent", "docker.io/hashicorp/vault", "1.16.2"),
    ("otel-collector", "docker.io/otel/opentelemetry-collector-contrib", "0.101.0"),
    ("cloud-sql-proxy", "gcr.io/cloud-sql-connectors/cloud-sql-proxy", "2.11.0"),
    ("oauth2-proxy", "quay.io/oauth2-proxy/oauth2-proxy", "v7.6.0"),
    ("node-exporter", "quay.io/prometheus/node-exporter", "v1.8.0"),
    ("statsd-exporter", "docker.io/prom/statsd-exporter", "v0.26.1"),
)

INITS = (
    ("wait-for-db", "docker.io/library/busybox", "1.36.1"),
    ("migrate", "docker.io/migrate/migrate", "v4.17.1"),
    ("config-render", "ghcr.io/example-org/config-render", "2.3.0"),
    ("vault-agent-init", "docker.io/hashicorp/vault", "1.16.2"),
    ("chown-data", "docker.io/library/alpine", "3.20.0"),
)
