"""Policies from YAML text, subjects with facts, and admission through ``decide``.

Policies are always built from document text (``compile_document`` of the parsed
YAML), so that the tests exercise the document format users write, not only the
compiled values.
"""

from __future__ import annotations

import copy
import json
import textwrap
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

from imagegate.admission import (
    DEFAULT_TEMPLATE,
    AdmissionContext,
    ContainerFacts,
    Decision,
    DeploymentNameTemplate,
    JsonPatch,
    decide,
    decode_review,
    workload_of,
)
from imagegate.facts import Evidence, ImageFacts, Provenance, ScanReport, Severity, Vulnerability
from imagegate.policy import (
    API_VERSION,
    KIND,
    CompiledPolicy,
    Deployed,
    Evaluation,
    ImageSubject,
    Target,
    Unavailable,
    compile_document,
    evaluate,
)
from imagegate.tracking import Platform, parse_reference
from imagegate.workloads import ContainerImage, ContainerType

NOW = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
TODAY = NOW.date()
CLUSTER = "prod-eu-1"
NAMESPACE = "shop"
LOGICAL_ENVIRONMENT = "production"
TARGET = Target(environment=CLUSTER, logical_environment=LOGICAL_ENVIRONMENT, namespace=NAMESPACE)

DIGEST = "sha256:" + "ab" * 32
DEPLOYED_DIGEST = "sha256:" + "cd" * 32
REPOSITORY = "ghcr.io/acme/web"
TAGGED = f"{REPOSITORY}:1.4"
PINNED = f"{TAGGED}@{DIGEST}"

AMD64 = Platform()
ARM64 = Platform(architecture="arm64")
ARM64_V8 = Platform(architecture="arm64", variant="v8")

MEDIA_TYPE_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_TYPE_MANIFEST = "application/vnd.oci.image.manifest.v1+json"

OUTAGE = "registry ghcr.io did not answer within 2.0s"
"""The reason of an Unavailable fact, as FactsGatherer words a timeout."""

Json = dict[str, Any]


# --- policies ---------------------------------------------------------------------


def document(
    rules: str,
    *,
    name: str = "test-policy",
    mode: str = "enforce",
    facts_unavailable: str | None = None,
    match: str | None = None,
    exceptions: str | None = None,
) -> str:
    """A DeploymentPolicy as YAML text; ``rules`` (and ``exceptions``) are YAML
    sequences, e.g. ``"- rule: scanned\\n  maxAge: 7d"``."""
    lines = [
        f"apiVersion: {API_VERSION}",
        f"kind: {KIND}",
        "metadata:",
        f"  name: {name}",
        "spec:",
        f"  mode: {mode}",
    ]
    if facts_unavailable is not None:
        lines.append(f"  factsUnavailable: {facts_unavailable}")
    if match is not None:
        lines.append("  match:")
        lines.append(textwrap.indent(textwrap.dedent(match).strip(), "    "))
    lines.append("  rules:")
    lines.append(textwrap.indent(textwrap.dedent(rules).strip(), "    "))
    if exceptions is not None:
        lines.append("  exceptions:")
        lines.append(textwrap.indent(textwrap.dedent(exceptions).strip(), "    "))
    return "\n".join(lines) + "\n"


def compiled(text: str, *, source: str = "test") -> CompiledPolicy:
    """The policy of one YAML document."""
    return compile_document(yaml.safe_load(text), source=source)


def policy(
    rules: str,
    *,
    name: str = "test-policy",
    mode: str = "enforce",
    facts_unavailable: str | None = None,
    match: str | None = None,
    exceptions: str | None = None,
) -> CompiledPolicy:
    """``document(rules, …)``, compiled."""
    return compiled(
        document(
            rules,
            name=name,
            mode=mode,
            facts_unavailable=facts_unavailable,
            match=match,
            exceptions=exceptions,
        )
    )


# --- subjects and facts -----------------------------------------------------------


def container(
    image: str,
    *,
    name: str = "app",
    container_type: ContainerType = ContainerType.CONTAINER,
    path: str = "/spec/containers/0/image",
) -> ContainerImage:
    """A container running ``image`` (which must be a valid reference)."""
    return ContainerImage(
        name=name,
        image=image,
        type=container_type,
        reference=parse_reference(image),
        path=path,
    )


def invalid_container(image: str, problem: str, *, name: str = "app") -> ContainerImage:
    """A container whose image is not a valid reference."""
    return ContainerImage(
        name=name,
        image=image,
        type=ContainerType.CONTAINER,
        reference=None,
        problem=problem,
        path="/spec/containers/0/image",
    )


def subject(
    image: str | ContainerImage = PINNED,
    *,
    registry: ImageFacts | Unavailable | None = None,
    evidence: Evidence | Unavailable | None = None,
    deployed: Deployed | Unavailable | None = None,
    platforms: Sequence[Platform] = (AMD64,),
    now: datetime = NOW,
) -> ImageSubject:
    """One container's image with the facts looked up for it."""
    return ImageSubject(
        container=container(image) if isinstance(image, str) else image,
        platforms=tuple(platforms),
        now=now,
        registry=registry,
        evidence=evidence,
        deployed=deployed,
    )


def image_facts(
    *,
    digest: str = DIGEST,
    platforms: Sequence[Platform] = (AMD64,),
    labels: Mapping[str, str] | None = None,
    provenance: Provenance | None = None,
) -> ImageFacts:
    """What a registry says of an image: an index if it has several platforms."""
    return ImageFacts(
        digest=digest,
        media_type=MEDIA_TYPE_INDEX if len(platforms) > 1 else MEDIA_TYPE_MANIFEST,
        platforms=tuple(platforms),
        labels=dict(labels or {}),
        provenance=provenance,
    )


def vulnerability(id_: str, severity: str, package: str = "openssl") -> Vulnerability:
    return Vulnerability(
        id=id_, package=package, version="3.0.2", severity=Severity.parse(severity)
    )


def scan(
    *vulnerabilities: Vulnerability, digest: str = DIGEST, age: timedelta = timedelta(hours=1)
) -> ScanReport:
    """A scan of ``digest`` made ``age`` before NOW."""
    return ScanReport(
        digest=digest,
        scanner="grype 0.79.0",
        scanned_at=NOW - age,
        vulnerabilities=tuple(vulnerabilities),
    )


def scanned(*vulnerabilities: Vulnerability, age: timedelta = timedelta(hours=1)) -> Evidence:
    """Evidence holding a scan of DIGEST with ``vulnerabilities``."""
    return Evidence(scan=scan(*vulnerabilities, age=age))


# --- evaluation -------------------------------------------------------------------


def judge(
    policies: CompiledPolicy | Sequence[CompiledPolicy],
    *subjects: ImageSubject,
    target: Target = TARGET,
) -> Evaluation:
    """``evaluate`` of ``subjects`` (one pinned image by default) at ``target``."""
    chosen = [policies] if isinstance(policies, CompiledPolicy) else list(policies)
    return evaluate(policies=chosen, target=target, subjects=subjects or (subject(),))


# --- admission --------------------------------------------------------------------


def pod(
    image: str,
    *,
    container_name: str = "app",
    namespace: str = NAMESPACE,
    node_selector: Mapping[str, str] | None = None,
) -> Json:
    """A Pod running one container."""
    spec: Json = {"containers": [{"name": container_name, "image": image}]}
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": spec,
    }


def review_of(obj: Json, *, group: str = "", operation: str = "CREATE") -> Json:
    """The AdmissionReview of a CREATE of ``obj``."""
    kind = obj["kind"]
    version = obj["apiVersion"].rpartition("/")[2]
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "00000000-0000-0000-0000-000000000001",
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": kind.lower() + "s"},
            "name": obj["metadata"].get("name", ""),
            "namespace": obj["metadata"].get("namespace", ""),
            "operation": operation,
            "userInfo": {"username": "kubernetes-admin"},
            "object": obj,
            "oldObject": None,
            "dryRun": False,
        },
    }


def context(
    policies: Sequence[CompiledPolicy],
    facts: Mapping[str, ContainerFacts] | None = None,
    *,
    logical_environment: str = LOGICAL_ENVIRONMENT,
    namespace_labels: Mapping[str, str] | None = None,
) -> AdmissionContext:
    return AdmissionContext(
        cluster=CLUSTER,
        logical_environment=logical_environment,
        name_template=DeploymentNameTemplate(DEFAULT_TEMPLATE),
        default_platform=AMD64,
        policies=tuple(policies),
        now=NOW,
        namespace_labels=dict(namespace_labels or {}),
        facts=dict(facts or {}),
    )


def decide_review(
    review: Json,
    policies: Sequence[CompiledPolicy],
    facts: Mapping[str, ContainerFacts] | None = None,
) -> Decision:
    """What the validating webhook answers to ``review``."""
    request = decode_review(json.dumps(review).encode())[1]
    built = context(policies, facts)
    workload = workload_of(request, default_platform=built.default_platform)
    return decide(request=request, workload=workload, context=built)


def admit(policies: CompiledPolicy | Sequence[CompiledPolicy], judged: ImageSubject) -> Decision:
    """The decision on a Pod running ``judged``'s image on its (first) platform, with
    ``judged``'s facts looked up for it."""
    chosen = [policies] if isinstance(policies, CompiledPolicy) else list(policies)
    platform = judged.platforms[0]
    selector = {"kubernetes.io/os": platform.os, "kubernetes.io/arch": platform.architecture}
    obj = pod(judged.container.image, container_name=judged.container.name, node_selector=selector)
    facts = ContainerFacts(
        registry=judged.registry, evidence=judged.evidence, deployed=judged.deployed
    )
    return decide_review(review_of(obj), chosen, {judged.container.name: facts})


def apply_patch(document_: Json, patch: Sequence[JsonPatch]) -> Json:
    """``document_`` with RFC 6902 ``replace`` operations applied (a copy)."""
    patched = copy.deepcopy(document_)
    for operation in patch:
        assert operation["op"] == "replace", operation
        *parents, last = [
            part.replace("~1", "/").replace("~0", "~") for part in operation["path"].split("/")[1:]
        ]
        node: Any = patched
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key: Any = int(last) if isinstance(node, list) else last
        if isinstance(node, list):
            assert 0 <= key < len(node), operation
        else:
            assert key in node, f"replace needs an existing member: {operation}"
        node[key] = operation["value"]
    return patched
