"""Workloads in Kubernetes objects: their containers, images, platforms and identity.

Pure: objects in, values out. Used by the admission webhook and by offline
checks of manifests alike.
"""

from imagegate.workloads._extract import (
    WORKLOAD_KINDS,
    ParsedObject,
    extract_parsed,
    extract_workload,
    handles,
    parse_object,
)
from imagegate.workloads._identity import workload_identity
from imagegate.workloads._model import (
    ContainerImage,
    ContainerType,
    ExtractedWorkload,
    InvalidObjectError,
    WorkloadIdentity,
)
from imagegate.workloads._platforms import (
    ARCH_LABELS,
    KNOWN_ARCHITECTURES,
    KNOWN_OSES,
    OS_LABELS,
    pod_platforms,
)

__all__ = [
    "ARCH_LABELS",
    "KNOWN_ARCHITECTURES",
    "KNOWN_OSES",
    "OS_LABELS",
    "WORKLOAD_KINDS",
    "ContainerImage",
    "ContainerType",
    "ExtractedWorkload",
    "InvalidObjectError",
    "ParsedObject",
    "WorkloadIdentity",
    "extract_parsed",
    "extract_workload",
    "handles",
    "parse_object",
    "pod_platforms",
    "workload_identity",
]
