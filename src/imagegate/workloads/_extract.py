"""From a raw Kubernetes object of a workload kind to an ExtractedWorkload."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from imagegate.errors import RefusedError
from imagegate.tracking import Platform, parse_reference
from imagegate.workloads._identity import workload_identity
from imagegate.workloads._model import (
    IMAGE_VOLUME_PREFIX,
    ContainerImage,
    ContainerType,
    ExtractedWorkload,
    InvalidObjectError,
)
from imagegate.workloads._objects import ObjectMeta, Pod, PodSpec, PodTemplate, Workload
from imagegate.workloads._platforms import pod_platforms

# (API group, kind) of every object whose pods imagegate judges; any version.
WORKLOAD_KINDS = frozenset(
    {
        ("", "Pod"),
        ("", "PodTemplate"),
        ("", "ReplicationController"),
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "StatefulSet"),
        ("apps", "DaemonSet"),
        ("batch", "Job"),
        ("batch", "CronJob"),
    }
)

# JSON pointer to the pod spec in an object of each kind (see ContainerImage.path).
_POD_SPEC_POINTERS = {
    "Pod": "/spec",
    "PodTemplate": "/template/spec",
    "CronJob": "/spec/jobTemplate/spec/template/spec",
}
_TEMPLATE_POD_SPEC = "/spec/template/spec"

_POD = msgspec.json.Decoder(Pod)
_WORKLOAD = msgspec.json.Decoder(Workload)
_POD_TEMPLATE = msgspec.json.Decoder(PodTemplate)


def handles(group: str, kind: str) -> bool:
    """Whether objects of this group and kind carry pod specs imagegate judges."""
    return (group, kind) in WORKLOAD_KINDS


def extract_workload(
    *,
    group: str,
    kind: str,
    raw: bytes,
    request_name: str,
    namespace: str,
    default_platform: Platform,
) -> ExtractedWorkload:
    """Containers, platforms and identity of ``raw``, an object of a handled kind."""
    metadata, spec = _decode(kind, raw)
    return _extracted(
        kind,
        metadata,
        spec,
        request_name=request_name,
        namespace=namespace,
        default_platform=default_platform,
        nodes=(),
    )


@dataclass(frozen=True, slots=True)
class ParsedObject:
    """The parts of a workload object that records are made from, kept small (only the
    declared fields) so that a watch can hold every object of a cluster."""

    kind: str
    metadata: ObjectMeta
    spec: PodSpec


def parse_object(obj: Mapping[str, Any], *, kind: str) -> ParsedObject:
    """An object already parsed from JSON (a list or watch of the API), of a handled kind."""
    try:
        if kind == "Pod":
            pod = msgspec.convert(obj, Pod)
            return ParsedObject(kind, pod.metadata, pod.spec)
        workload = msgspec.convert(obj, Workload)
    except msgspec.ValidationError as error:
        raise InvalidObjectError(f"the object is not a valid {kind}: {error}") from None
    return ParsedObject(kind, workload.metadata, _template_spec(kind, workload))


def extract_parsed(
    parsed: ParsedObject, *, default_platform: Platform, nodes: Collection[Platform] = ()
) -> ExtractedWorkload:
    """The workload of ``parsed``; ``nodes``: platforms of the nodes it can run on."""
    return _extracted(
        parsed.kind,
        parsed.metadata,
        parsed.spec,
        request_name="",
        namespace=parsed.metadata.namespace,
        default_platform=default_platform,
        nodes=nodes,
    )


def _extracted(
    kind: str,
    metadata: ObjectMeta,
    spec: PodSpec,
    *,
    request_name: str,
    namespace: str,
    default_platform: Platform,
    nodes: Collection[Platform],
) -> ExtractedWorkload:
    namespace = namespace or metadata.namespace
    return ExtractedWorkload(
        object_kind=kind,
        object_name=metadata.name or request_name or metadata.generate_name,
        identity=workload_identity(kind, metadata, request_name=request_name, namespace=namespace),
        containers=tuple(_containers(spec, _POD_SPEC_POINTERS.get(kind, _TEMPLATE_POD_SPEC))),
        platforms=pod_platforms(spec, default=default_platform, nodes=nodes),
        pull_secrets=tuple(secret.name for secret in spec.image_pull_secrets if secret.name),
    )


def _decode(kind: str, raw: bytes) -> tuple[ObjectMeta, PodSpec]:
    try:
        if kind == "Pod":
            pod = _POD.decode(raw)
            return pod.metadata, pod.spec
        if kind == "PodTemplate":
            template = _POD_TEMPLATE.decode(raw)
            return template.metadata, template.template.spec
        workload = _WORKLOAD.decode(raw)
    except msgspec.DecodeError as error:
        raise InvalidObjectError(f"the object is not a valid {kind}: {error}") from None
    except RecursionError:
        raise InvalidObjectError(f"the {kind} is nested too deeply") from None
    return workload.metadata, _template_spec(kind, workload)


def _template_spec(kind: str, workload: Workload) -> PodSpec:
    if kind == "CronJob":
        job_template = workload.spec.job_template
        return job_template.spec.template.spec if job_template else PodSpec()
    return workload.spec.template.spec if workload.spec.template else PodSpec()


def _containers(spec: PodSpec, pointer: str) -> Iterator[ContainerImage]:
    for index, container in enumerate(spec.containers):
        path = f"{pointer}/containers/{index}/image"
        yield _image(container.name, container.image, ContainerType.CONTAINER, path)
    for index, container in enumerate(spec.init_containers):
        sidecar = container.restart_policy == "Always"
        path = f"{pointer}/initContainers/{index}/image"
        kind = ContainerType.SIDECAR if sidecar else ContainerType.INIT
        yield _image(container.name, container.image, kind, path)
    for index, container in enumerate(spec.ephemeral_containers):
        path = f"{pointer}/ephemeralContainers/{index}/image"
        yield _image(container.name, container.image, ContainerType.EPHEMERAL, path)
    for index, volume in enumerate(spec.volumes):
        if volume.image is not None:
            path = f"{pointer}/volumes/{index}/image/reference"
            name = f"{IMAGE_VOLUME_PREFIX}{volume.name}"
            yield _image(name, volume.image.reference, ContainerType.IMAGE_VOLUME, path)


def _image(name: str, image: str, container_type: ContainerType, path: str) -> ContainerImage:
    if not image:
        missing = (
            "the image volume names no image reference"
            if container_type is ContainerType.IMAGE_VOLUME
            else "the container names no image"
        )
        return ContainerImage(
            name=name, image=image, type=container_type, reference=None, problem=missing, path=path
        )
    try:
        reference = parse_reference(image)
    except RefusedError as error:
        return ContainerImage(
            name=name,
            image=image,
            type=container_type,
            reference=None,
            problem=error.message,
            path=path,
        )
    return ContainerImage(
        name=name, image=image, type=container_type, reference=reference, path=path
    )
