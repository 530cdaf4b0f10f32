"""Policies through a real kube-apiserver: audit warnings in kubectl, tags pinned by digest."""

from __future__ import annotations

import asyncio
import itertools

import aiohttp

from e2e.controlplane import Cluster
from e2e.webhook import AUDIT_LABEL, PIN_LABEL, WebhookProcess, eventually
from imagegate.tracking import Platform
from support.registry import LocalRegistry, OciPusher, push_image, push_index, unique_repository

_numbers = itertools.count(1)
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers: [{{name: app, image: "{image}"}}]
"""


def labelled_namespace(cluster: Cluster, label: str) -> str:
    name = f"e2e-policy-{next(_numbers)}"
    cluster.kubectl("create", "namespace", name)
    cluster.kubectl("label", "namespace", name, f"{label}=true")
    return name


def push_multi_platform_image(registry: LocalRegistry, tag: str) -> tuple[str, str]:
    """(image by tag, index digest) of a fresh linux/amd64 + linux/arm64 image."""

    async def push() -> tuple[str, str]:
        async with aiohttp.ClientSession() as session:
            pusher = OciPusher(session, registry.url)
            path = unique_repository("e2e")
            platforms = (Platform("linux", "amd64"), Platform("linux", "arm64"))
            images = [(await push_image(pusher, path, platform=p), p) for p in platforms]
            index = await push_index(pusher, path, images, tag=tag)
            return f"{registry.host}/{path}:{tag}", index.digest

    return asyncio.run(push())


def test_an_audit_finding_is_printed_by_kubectl(cluster: Cluster, webhook: WebhookProcess) -> None:
    ns = labelled_namespace(cluster, AUDIT_LABEL)
    image = "registry.example.com/shop/web:latest@sha256:" + "d4" * 32
    result = cluster.kubectl(
        "apply", "-f", "-", input_text=DEPLOYMENT.format(name="web", namespace=ns, image=image)
    )
    assert "Warning: imagegate (audit): [latest-is-discouraged/no-latest] container 'app'" in (
        result.stderr
    )
    assert "deployment.apps/web created" in result.stdout


def test_a_tag_is_pinned_to_its_digest_in_the_stored_object(
    cluster: Cluster, webhook: WebhookProcess, registry: LocalRegistry
) -> None:
    ns = labelled_namespace(cluster, PIN_LABEL)
    image, digest = push_multi_platform_image(registry, "1.0")
    cluster.kubectl(
        "apply", "-f", "-", input_text=DEPLOYMENT.format(name="web", namespace=ns, image=image)
    )
    stored = cluster.kubectl(
        "get",
        "deployment",
        "web",
        "-n",
        ns,
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ).stdout
    assert stored == f"{image}@{digest}"
    # The pinned image passed the default digest-pinned policy and was recorded by digest.
    (record,) = eventually(
        lambda: webhook.records(deployment_name=f"{ns}/web/app"), what="the pinned record"
    )
    assert (record["artifact"]["digest"], record["artifact"]["tag"]) == (digest, "1.0")
