"""What the cluster watch reads from Pods and Nodes beyond their pod specs.

Only the declared fields are built from the API's JSON, so that holding every
Pod and Node of a cluster stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from imagegate.tracking import Platform
from imagegate.workloads import ARCH_LABELS, OS_LABELS


class _ContainerStatus(msgspec.Struct, rename="camel"):
    name: str = ""
    image_id: str = msgspec.field(default="", name="imageID")


class _PodStatus(msgspec.Struct, rename="camel"):
    container_statuses: list[_ContainerStatus] = msgspec.field(default_factory=list)
    init_container_statuses: list[_ContainerStatus] = msgspec.field(default_factory=list)
    ephemeral_container_statuses: list[_ContainerStatus] = msgspec.field(default_factory=list)


class _Container(msgspec.Struct):
    name: str = ""
    image: str = ""


class _PodSpec(msgspec.Struct, rename="camel"):
    node_name: str = ""
    containers: list[_Container] = msgspec.field(default_factory=list)
    init_containers: list[_Container] = msgspec.field(default_factory=list)
    ephemeral_containers: list[_Container] = msgspec.field(default_factory=list)


class _Pod(msgspec.Struct):
    spec: _PodSpec = msgspec.field(default_factory=_PodSpec)
    status: _PodStatus = msgspec.field(default_factory=_PodStatus)


class _NodeInfo(msgspec.Struct, rename="camel"):
    operating_system: str = ""
    architecture: str = ""


class _NodeStatus(msgspec.Struct, rename="camel"):
    node_info: _NodeInfo = msgspec.field(default_factory=_NodeInfo)


class _NodeMeta(msgspec.Struct):
    name: str = ""
    labels: dict[str, str] = msgspec.field(default_factory=dict)


class _Node(msgspec.Struct):
    metadata: _NodeMeta = msgspec.field(default_factory=_NodeMeta)
    status: _NodeStatus = msgspec.field(default_factory=_NodeStatus)


@dataclass(frozen=True, slots=True)
class PodRun:
    """Where one pod runs and which image digest each of its containers pulled."""

    node: str
    digests: Mapping[str, tuple[str, str]]
    """Container name to (image as the pod's spec names it, digest its node reports in
    ``imageID``), for containers that report one with a repository (``repo@sha256:…``):
    a bare ``sha256:…`` is the image's config id, not a digest a registry knows."""

    def digest(self, container: str, image: str) -> str | None:
        """The digest pulled for ``container`` if its pod runs ``image`` as written."""
        pulled = self.digests.get(container)
        return pulled[1] if pulled is not None and pulled[0] == image else None


def pod_run(obj: Mapping[str, Any]) -> PodRun:
    """The node and pulled digests of a Pod object (an empty run if it is malformed)."""
    try:
        pod = msgspec.convert(obj, _Pod)
    except msgspec.ValidationError:
        return PodRun(node="", digests={})
    statuses = (
        *pod.status.container_statuses,
        *pod.status.init_container_statuses,
        *pod.status.ephemeral_container_statuses,
    )
    spec = pod.spec
    images = {
        c.name: c.image
        for c in (*spec.containers, *spec.init_containers, *spec.ephemeral_containers)
    }
    digests = {}
    for status in statuses:
        digest = digest_of_image_id(status.image_id)
        if status.name in images and digest:
            digests[status.name] = (images[status.name], digest)
    return PodRun(node=pod.spec.node_name, digests=digests)


def digest_of_image_id(image_id: str) -> str | None:
    """``sha256:…`` from ``[docker-pullable://]repo@sha256:…``; None without a repository."""
    _, at, digest = image_id.rpartition("@")
    if not at or ":" not in digest:
        return None
    return digest


def node_platform(obj: Mapping[str, Any]) -> tuple[str, Platform | None]:
    """(name, platform) of a Node: its kubernetes.io/os and /arch labels, else what its
    kubelet reports; None when neither says."""
    try:
        node = msgspec.convert(obj, _Node)
    except msgspec.ValidationError:
        return "", None
    labels = node.metadata.labels
    os_name = next((labels[label] for label in OS_LABELS if labels.get(label)), "")
    architecture = next((labels[label] for label in ARCH_LABELS if labels.get(label)), "")
    os_name = os_name or node.status.node_info.operating_system
    architecture = architecture or node.status.node_info.architecture
    if not os_name or not architecture:
        return node.metadata.name, None
    return node.metadata.name, Platform(os=os_name, architecture=architecture)
