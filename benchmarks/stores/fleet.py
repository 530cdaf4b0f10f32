"""The history both stores are filled with: keys, their chains of records, the rows.

About 100,000 deployment keys (namespace/workload/container names in 12
environments, some Helm charts), each a chain of superseded records ending in one
deployed record; ids are handed out in rounds, so that a key's history is spread over
the id range as after a year of use.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from imagegate.tracking import Artifact, DeploymentKey, Kind, Platform

SEED = 20261123
"""The fleet's and the queries' random seed."""


COLUMNS = (
    "id",
    "environment",
    "logical_environment",
    "deployment_name",
    "kind",
    "repository",
    "digest",
    "tag",
    "platform_os",
    "platform_architecture",
    "platform_variant",
    "status",
    "created_at",
    "updated_at",
    "last_seen_at",
    "superseded_by",
)


# Clusters as environments, each serving one stage of delivery.
REGIONS = ("eu-west-1", "eu-central-1", "us-east-1", "us-west-2")


STAGES = (("dev", "development"), ("stg", "staging"), ("prd", "production"))


NAMESPACES = [
    "payments",
    "checkout",
    "search",
    "identity",
    "catalog",
    "orders",
    "shipping",
    "billing",
    "ledger",
    "fraud",
    "notifications",
    "inventory",
    "pricing",
    "recommendations",
    "reviews",
    "media",
    "auth",
    "gateway",
    "analytics",
    "reporting",
    "support",
    "chat",
    "loyalty",
    "partners",
    "warehouse",
    "returns",
    "tax",
    "invoices",
    "subscriptions",
    "onboarding",
]


WORKLOADS = [
    "api",
    "worker",
    "web",
    "consumer",
    "scheduler",
    "cron",
    "migrator",
    "exporter",
    "gateway",
    "indexer",
    "processor",
    "sync",
    "ingest",
    "render",
    "cache",
    "proxy",
    "admin",
    "webhook",
    "backfill",
    "reconciler",
]


SIDECARS = (
    ("istio-proxy", "docker.io/istio/proxyv2"),
    ("otel-collector", "ghcr.io/open-telemetry/opentelemetry-collector"),
    ("cloudsql-proxy", "gcr.io/cloud-sql-connectors/cloud-sql-proxy"),
)


AMD64 = Platform(os="linux", architecture="amd64")


@dataclass(frozen=True, slots=True)
class KeySpec:
    """One deployment key of the fill, and its history."""

    key: DeploymentKey
    repository: str
    length: int
    """Records of its history; the last one is deployed."""

    @property
    def platform(self) -> Platform | None:
        return AMD64 if self.key.kind is Kind.CONTAINER_IMAGE else None

    def artifact(self, generation: int) -> Artifact:
        return Artifact(
            repository=self.repository,
            digest=digest_of(self.key, generation),
            tag=f"1.{generation}.0",
        )


def digest_of(key: DeploymentKey, generation: int) -> str:
    text = f"{key.environment}|{key.deployment_name}|{key.kind}|{generation}"
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Fleet:
    """The filled history: keys, rows (as tuples with datetimes), environments."""

    keys: list[KeySpec]
    rows: list[tuple[Any, ...]]
    environments: list[tuple[str, str]]
    """(environment, logical environment) pairs."""
    names: list[str]
    now: datetime


def build_fleet(records: int, rng: random.Random) -> Fleet:
    environments = [(f"{short}-{region}", stage) for short, stage in STAGES for region in REGIONS]
    # Deployment names as admission makes them: namespace/workload/container.
    names: list[tuple[str, str, Kind]] = []
    for namespace in NAMESPACES:
        for workload in WORKLOADS:
            for index in range(14):
                base = f"{namespace}/{workload}-{index}"
                repository = f"registry.example.com/{namespace}/{workload}-{index}"
                names.append((f"{base}/{workload}", repository, Kind.CONTAINER_IMAGE))
                for container, sidecar_repo in SIDECARS:
                    if rng.random() < 0.5:
                        names.append((f"{base}/{container}", sidecar_repo, Kind.CONTAINER_IMAGE))
                if rng.random() < 0.1:
                    names.append((base, f"registry.example.com/charts/{workload}", Kind.HELM_CHART))
    keys: list[KeySpec] = []
    total = 0
    while total < records:
        for name, repository, kind in names:
            for environment, logical in environments:
                if rng.random() >= 0.4:  # not every workload runs in every cluster
                    continue
                length = min(1 + rng.randrange(19), records - total)  # 10 on average
                key = DeploymentKey(environment, logical, name, kind)
                keys.append(KeySpec(key=key, repository=repository, length=length))
                total += length
                if total >= records:
                    break
            if total >= records:
                break
        if total < records:  # a second pass adds keys under fresh names
            names = [(f"{name}-b", repository, kind) for name, repository, kind in names]
    rng.shuffle(keys)

    # Ids in rounds (every key's first record, then every key's second, ...), so that a
    # key's history is spread over the id range as it would be after a year of use.
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=365)
    ids: list[list[int]] = [[] for _ in keys]
    next_id = 1
    for generation in range(max(spec.length for spec in keys)):
        for index, spec in enumerate(keys):
            if spec.length > generation:
                ids[index].append(next_id)
                next_id += 1
    step = timedelta(days=360) / next_id
    stamps = [start + step * record_id for record_id in range(next_id)]
    rows: list[tuple[Any, ...]] = [()] * (next_id - 1)
    for index, spec in enumerate(keys):
        chain = ids[index]
        platform_ = spec.platform
        os_, arch = (platform_.os, platform_.architecture) if platform_ else (None, None)
        for generation, record_id in enumerate(chain):
            deployed = generation == len(chain) - 1
            created = stamps[record_id]
            if deployed:
                updated = created
                seen = now - timedelta(seconds=rng.randrange(60, 3600))
                successor = None
            else:
                successor = chain[generation + 1]
                updated = seen = stamps[successor]
            rows[record_id - 1] = (
                record_id,
                spec.key.environment,
                spec.key.logical_environment,
                spec.key.deployment_name,
                spec.key.kind.value,
                spec.repository,
                digest_of(spec.key, generation),
                f"1.{generation}.0",
                os_,
                arch,
                None,
                "deployed" if deployed else "superseded",
                created,
                updated,
                seen,
                successor,
            )
    return Fleet(
        keys=keys,
        rows=rows,
        environments=environments,
        names=sorted({spec.key.deployment_name for spec in keys}),
        now=now,
    )
