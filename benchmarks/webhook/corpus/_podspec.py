"""Pod specs as the API server holds them: containers, env, volumes, probes, scheduling."""

from __future__ import annotations

import random
from collections.abc import Sequence

from benchmarks.webhook.corpus._model import Container
from benchmarks.webhook.corpus._schema import Json
from benchmarks.webhook.corpus._vocabulary import NAMESPACES, WORDS


def random_pod_spec(
    rng: random.Random,
    *,
    namespace: str,
    name: str,
    containers: Sequence[Container],
    init_containers: Sequence[Container],
    env_per_container: int,
    multi_arch: bool,
    restart_policy: str,
) -> Json:
    volumes: list[Json] = [
        {"name": "config", "configMap": {"name": f"{name}-config", "defaultMode": 420}},
        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
    ]
    if rng.random() < 0.6:
        volumes.append({"name": "tls", "secret": {"secretName": f"{name}-tls", "defaultMode": 420}})
    if rng.random() < 0.3:
        volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": f"{name}-data"}})
    spec: Json = {
        "volumes": volumes,
        "initContainers": [
            _container(rng, c, env_count=rng.randint(0, 3), volumes=volumes, probes=False)
            for c in init_containers
        ],
        "containers": [
            _container(
                rng,
                c,
                env_count=env_per_container if index == 0 else rng.randint(0, 4),
                volumes=volumes,
                probes=index == 0 or rng.random() < 0.25,
            )
            for index, c in enumerate(containers)
        ],
        "restartPolicy": restart_policy,
        "terminationGracePeriodSeconds": rng.choice((30, 60, 120)),
        "dnsPolicy": "ClusterFirst",
        "serviceAccountName": name,
        "serviceAccount": name,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "fsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "imagePullSecrets": [{"name": "registry-credentials"}],
        "schedulerName": "default-scheduler",
        "priorityClassName": rng.choice(("default", "high-priority", "batch-low")),
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
    }
    if not init_containers:
        del spec["initContainers"]
    if rng.random() < 0.5:
        spec["nodeSelector"] = {"kubernetes.io/os": "linux"}
    architectures = ["amd64", "arm64"] if multi_arch else ["amd64"]
    affinity: Json = {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 100,
                    "podAffinityTerm": {
                        "labelSelector": {
                            "matchLabels": {"app.kubernetes.io/name": name},
                        },
                        "topologyKey": "kubernetes.io/hostname",
                    },
                }
            ]
        }
    }
    if multi_arch or rng.random() < 0.4:
        affinity["nodeAffinity"] = {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {
                                "key": "kubernetes.io/arch",
                                "operator": "In",
                                "values": architectures,
                            },
                            {
                                "key": "node.example.com/pool",
                                "operator": "NotIn",
                                "values": ["spot-preemptible"],
                            },
                        ]
                    }
                ]
            }
        }
    spec["affinity"] = affinity
    if rng.random() < 0.4:
        spec["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": name}},
            }
        ]
    if namespace in ("data-pipeline", "ml-serving", "monitoring"):
        spec["tolerations"] = [
            {"key": "dedicated", "operator": "Equal", "value": namespace, "effect": "NoSchedule"}
        ]
    return spec


def _container(
    rng: random.Random, container: Container, *, env_count: int, volumes: list[Json], probes: bool
) -> Json:
    env: list[Json] = []
    for index in range(env_count):
        key = f"{rng.choice(_ENV_WORDS)}_{rng.choice(_ENV_WORDS)}_{index}".upper()
        roll = rng.random()
        if roll < 0.6:
            env.append({"name": key, "value": _env_value(rng)})
        elif roll < 0.85:
            env.append(
                {
                    "name": key,
                    "valueFrom": {
                        "secretKeyRef": {
                            "name": f"{container.name}-secrets",
                            "key": key.lower().replace("_", "-"),
                        }
                    },
                }
            )
        else:
            env.append(
                {
                    "name": key,
                    "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}},
                }
            )
    cpu = rng.choice((50, 100, 250, 500, 1000))
    memory = rng.choice((64, 128, 256, 512, 1024, 2048))
    result: Json = {
        "name": container.name,
        "image": container.image,
        "args": [f"--{rng.choice(_ENV_WORDS)}={rng.randint(1, 9999)}" for _ in range(3)],
        "env": env,
        "envFrom": [{"configMapRef": {"name": f"{container.name}-env"}}],
        "resources": {
            "limits": {"cpu": f"{cpu * 2}m", "memory": f"{memory}Mi"},
            "requests": {"cpu": f"{cpu}m", "memory": f"{memory}Mi"},
        },
        "volumeMounts": [
            {"name": volume["name"], "mountPath": f"/var/run/{volume['name']}", "readOnly": True}
            for volume in volumes[: rng.randint(1, len(volumes))]
        ],
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    if probes:
        port = rng.choice((8080, 8443, 9090, 3000))
        result["ports"] = [
            {"name": "http", "containerPort": port, "protocol": "TCP"},
            {"name": "metrics", "containerPort": 9090, "protocol": "TCP"},
        ]
        result["livenessProbe"] = _probe(rng, port, "/healthz")
        result["readinessProbe"] = _probe(rng, port, "/readyz")
        if rng.random() < 0.3:
            result["startupProbe"] = _probe(rng, port, "/startupz")
    return result


_ENV_WORDS = (
    "log",
    "level",
    "db",
    "host",
    "port",
    "user",
    "timeout",
    "pool",
    "size",
    "feature",
    "flag",
    "cache",
    "ttl",
    "region",
    "bucket",
    "queue",
    "topic",
    "endpoint",
    "retries",
    "workers",
    "tracing",
    "sample",
    "rate",
    "otel",
)


def _env_value(rng: random.Random) -> str:
    return rng.choice(
        (
            str(rng.randint(0, 65535)),
            rng.choice(("true", "false", "info", "debug", "eu-west-1")),
            f"postgres://db-{rng.randint(1, 9)}.internal.example.com:5432/app?sslmode=verify-full",
            f"https://{rng.choice(WORDS)}.{rng.choice(NAMESPACES)}.svc.cluster.local:8443/v1",
            f"kafka-{rng.randint(0, 2)}.kafka.svc:9092,kafka-{rng.randint(3, 5)}.kafka.svc:9092",
        )
    )


def _probe(rng: random.Random, port: int, path: str) -> Json:
    handler: Json
    if rng.random() < 0.8:
        handler = {"httpGet": {"path": path, "port": port, "scheme": "HTTP"}}
    else:
        handler = {"tcpSocket": {"port": port}}
    return {
        **handler,
        "initialDelaySeconds": rng.choice((0, 5, 10)),
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }


def api_token_volume(name: str) -> Json:
    return {
        "name": name,
        "projected": {
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {
                    "configMap": {
                        "name": "kube-root-ca.crt",
                        "items": [{"key": "ca.crt", "path": "ca.crt"}],
                    }
                },
                {
                    "downwardAPI": {
                        "items": [
                            {
                                "path": "namespace",
                                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                            }
                        ]
                    }
                },
            ],
            "defaultMode": 420,
        },
    }


def with_token_mount(container: Json, volume: str) -> Json:
    mount = {
        "name": volume,
        "readOnly": True,
        "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
    }
    return {**container, "volumeMounts": [*container.get("volumeMounts", []), mount]}
