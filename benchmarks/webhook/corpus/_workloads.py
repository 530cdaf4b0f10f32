"""Random workloads: kind, name, containers and images (pinned by digest), platforms."""

from __future__ import annotations

import hashlib
import random

from benchmarks.webhook.corpus._model import Container, Workload
from benchmarks.webhook.corpus._podspec import random_pod_spec
from benchmarks.webhook.corpus._vocabulary import INITS, NAMESPACES, REGISTRIES, SIDECARS, WORDS


def random_workload(rng: random.Random, used: set[tuple[str, str]]) -> Workload:
    kind = rng.choices(("Deployment", "StatefulSet", "CronJob", "Pod"), (60, 15, 15, 10))[0]
    namespace = rng.choice(NAMESPACES)
    name = rng.choice(WORDS)
    while (namespace, name) in used:
        name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}"
    used.add((namespace, name))
    minimal = kind == "Pod" and rng.random() < 0.5
    count = 1 if minimal else rng.choices(range(1, 11), (30, 25, 15, 10, 6, 5, 3, 2, 2, 2))[0]
    init_count = 0 if minimal else rng.choices(range(4), (50, 30, 15, 5))[0]
    registry = rng.choice(REGISTRIES)
    repository = f"{registry}/{namespace}/{name}"
    containers = [Container(name, _image(rng, repository, _version(rng)))]
    sidecars = rng.sample(SIDECARS, k=min(count - 1, len(SIDECARS)))
    for sidecar_name, sidecar_repository, tag in sidecars:
        containers.append(Container(sidecar_name, _shared_image(sidecar_repository, tag)))
    while len(containers) < count:
        helper = f"{name}-helper-{len(containers)}"
        containers.append(Container(helper, _image(rng, f"{registry}/{namespace}/{helper}", "")))
    init_containers = [
        Container(init_name, _shared_image(init_repository, tag))
        for init_name, init_repository, tag in rng.sample(INITS, k=init_count)
    ]
    # Few workloads run on two architectures; those get one record per platform.
    multi_arch = not minimal and rng.random() < 0.12
    env_per_container = max(
        0, rng.choices((0, 2, 4, 6, 10, 16), (10, 20, 25, 20, 15, 10))[0] - count
    )
    pod_spec = random_pod_spec(
        rng,
        namespace=namespace,
        name=name,
        containers=containers,
        init_containers=init_containers,
        env_per_container=env_per_container,
        multi_arch=multi_arch,
        restart_policy="OnFailure" if kind == "CronJob" else "Always",
    )
    rollout = kind == "Deployment" and rng.random() < 0.15
    return Workload(
        kind=kind,
        namespace=namespace,
        name=name,
        replicas=rng.choices((1, 2, 3, 4, 6), (20, 35, 25, 10, 10))[0],
        containers=containers,
        init_containers=init_containers,
        platforms=["@linux/amd64", "@linux/arm64"] if multi_arch else [""],
        pod_spec=pod_spec,
        labels={"run": name}
        if minimal
        else {
            "app.kubernetes.io/name": name,
            "app.kubernetes.io/instance": f"{name}-{namespace}",
            "app.kubernetes.io/part-of": namespace,
            "app.kubernetes.io/managed-by": "Helm" if rng.random() < 0.5 else "kustomize",
            "team": rng.choice(("core", "growth", "platform", "data", "sre")),
        },
        minimal=minimal,
        rollout_image=_image(rng, repository, _version(rng)) if rollout else None,
    )


def _image(rng: random.Random, repository: str, tag: str) -> str:
    digest = f"sha256:{rng.getrandbits(256):064x}"
    return f"{repository}:{tag}@{digest}" if tag else f"{repository}@{digest}"


def _shared_image(repository: str, tag: str) -> str:
    # The same digest wherever the image appears, as with a real shared sidecar.
    digest = hashlib.sha256(f"{repository}:{tag}".encode()).hexdigest()
    return f"{repository}:{tag}@sha256:{digest}"


def _version(rng: random.Random) -> str:
    return rng.choice(
        (
            f"v{rng.randint(1, 4)}.{rng.randint(0, 30)}.{rng.randint(0, 12)}",
            f"2024.{rng.randint(1, 12):02d}.{rng.randint(1, 28)}",
            f"main-{rng.getrandbits(28):07x}",
            "",
        )
    )
