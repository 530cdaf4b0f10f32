"""Which long-lived workload an object belongs to, from its ownerReferences.

Pods of one rollout are attributed to their Deployment (through the ReplicaSet
and its pod-template-hash), Jobs of a CronJob to the CronJob, so that they
heartbeat one record instead of creating one per Pod or per run.
"""

from __future__ import annotations

from imagegate.workloads._model import WorkloadIdentity
from imagegate.workloads._objects import ObjectMeta, OwnerReference

_POD_TEMPLATE_HASH = "pod-template-hash"


def workload_identity(
    kind: str, metadata: ObjectMeta, *, request_name: str, namespace: str
) -> WorkloadIdentity:
    """The workload that ``metadata`` (of an object of ``kind``) belongs to."""
    controller = _controller(metadata.owner_references)
    if controller is None:
        # generateName objects have no name yet at admission; the request may carry one.
        name = metadata.name or request_name or metadata.generate_name
        return WorkloadIdentity(kind=kind, name=name, namespace=namespace, owned=False)
    owner_kind, owner_name = controller.kind, controller.name
    pod_template_hash = metadata.labels.get(_POD_TEMPLATE_HASH)
    if (
        kind == "Pod"
        and owner_kind == "ReplicaSet"
        and pod_template_hash
        and owner_name.endswith(f"-{pod_template_hash}")
    ):
        # A Deployment names its ReplicaSets "<deployment>-<pod-template-hash>".
        owner_kind = "Deployment"
        owner_name = owner_name.removesuffix(f"-{pod_template_hash}")
    return WorkloadIdentity(kind=owner_kind, name=owner_name, namespace=namespace, owned=True)


def _controller(references: list[OwnerReference]) -> OwnerReference | None:
    return next((reference for reference in references if reference.controller), None)
