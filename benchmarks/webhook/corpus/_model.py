"""A workload of the modelled cluster: its kind, containers and pod spec."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.webhook.corpus._schema import Json


@dataclass
class Container:
    name: str
    image: str


@dataclass
class Workload:
    kind: str
    namespace: str
    name: str
    replicas: int
    containers: list[Container]
    init_containers: list[Container]
    platforms: list[str]
    """Platform suffixes of deployment names; one entry "" when only one platform."""
    pod_spec: Json
    labels: dict[str, str]
    minimal: bool = False
    """A one-off pod (``kubectl run``): one container, nothing else set."""
    rollout_image: str | None = None
    """For a workload caught mid-rollout: the new image of its first container."""


def deployment_names(workload: Workload) -> list[str]:
    return [
        f"{workload.namespace}/{workload.name}/{container.name}{platform}"
        for container in [*workload.containers, *workload.init_containers]
        for platform in workload.platforms
    ]
