"""The parts of Kubernetes objects that admission reads, as msgspec Structs.

Only the fields imagegate uses are declared; msgspec skips the rest without
building them, which keeps decoding large pod specs cheap.
"""

from __future__ import annotations

import msgspec


class OwnerReference(msgspec.Struct, rename="camel"):
    api_version: str = ""
    kind: str = ""
    name: str = ""
    controller: bool = False


class ObjectMeta(msgspec.Struct, rename="camel"):
    name: str = ""
    generate_name: str = ""
    namespace: str = ""
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    owner_references: list[OwnerReference] = msgspec.field(default_factory=list)


class Container(msgspec.Struct, rename="camel"):
    name: str = ""
    image: str = ""
    restart_policy: str | None = None
    """``Always`` on an init container makes it a sidecar."""


class ImageVolumeSource(msgspec.Struct):
    reference: str = ""


class Volume(msgspec.Struct):
    """A pod volume; only the ``image`` kind (an OCI artifact mounted read-only) runs
    an image, so only it is read."""

    name: str = ""
    image: ImageVolumeSource | None = None


class NodeSelectorRequirement(msgspec.Struct):
    key: str = ""
    operator: str = ""
    values: list[str] = msgspec.field(default_factory=list)


class NodeSelectorTerm(msgspec.Struct, rename="camel"):
    match_expressions: list[NodeSelectorRequirement] = msgspec.field(default_factory=list)


class NodeSelector(msgspec.Struct, rename="camel"):
    node_selector_terms: list[NodeSelectorTerm] = msgspec.field(default_factory=list)


class NodeAffinity(msgspec.Struct):
    required: NodeSelector | None = msgspec.field(
        default=None, name="requiredDuringSchedulingIgnoredDuringExecution"
    )


class Affinity(msgspec.Struct, rename="camel"):
    node_affinity: NodeAffinity | None = None


class LocalObjectReference(msgspec.Struct):
    name: str = ""


class PodSpec(msgspec.Struct, rename="camel"):
    containers: list[Container] = msgspec.field(default_factory=list)
    init_containers: list[Container] = msgspec.field(default_factory=list)
    ephemeral_containers: list[Container] = msgspec.field(default_factory=list)
    volumes: list[Volume] = msgspec.field(default_factory=list)
    node_selector: dict[str, str] = msgspec.field(default_factory=dict)
    affinity: Affinity | None = None
    image_pull_secrets: list[LocalObjectReference] = msgspec.field(default_factory=list)


class PodTemplateSpec(msgspec.Struct):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: PodSpec = msgspec.field(default_factory=PodSpec)


class JobSpec(msgspec.Struct):
    template: PodTemplateSpec = msgspec.field(default_factory=PodTemplateSpec)


class JobTemplateSpec(msgspec.Struct):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: JobSpec = msgspec.field(default_factory=JobSpec)


class WorkloadSpec(msgspec.Struct, rename="camel"):
    """``spec`` of every workload kind at once; each kind fills the part it has."""

    template: PodTemplateSpec | None = None
    """Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, ReplicationController."""
    job_template: JobTemplateSpec | None = None
    """CronJob."""


class Pod(msgspec.Struct):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: PodSpec = msgspec.field(default_factory=PodSpec)


class Workload(msgspec.Struct):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: WorkloadSpec = msgspec.field(default_factory=WorkloadSpec)


class PodTemplate(msgspec.Struct):
    """The ``PodTemplate`` kind: its template sits at the top level, not under spec."""

    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    template: PodTemplateSpec = msgspec.field(default_factory=PodTemplateSpec)
