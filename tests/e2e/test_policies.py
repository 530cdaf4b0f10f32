"""Policies through a real kube-apiserver: audit warnings in kubectl, tags pinned by digest."""

from __future__ import annotations

import asyncio
import base64
import itertools

import aiohttp
import pytest
from testbed.controlplane import Cluster

from e2e.manifests import deployment, stored_image
from e2e.webhook import AUDIT_LABEL, PIN_LABEL, REGISTRIES_LABEL, WebhookProcess, eventually
from imagegate.tracking import Platform
from support.registry import (
    LocalRegistry,
    OciPusher,
    htpasswd_line,
    push_image,
    push_index,
    unique_repository,
)

_numbers = itertools.count(1)


def labelled_namespace(cluster: Cluster, label: str) -> str:
    name = f"e2e-policy-{next(_numbers)}"
    cluster.kubectl("create", "namespace", name)
    cluster.kubectl("label", "namespace", name, f"{label}=true")
    return name


def push_multi_platform_image(
    registry: LocalRegistry, tag: str, *, authorization: str | None = None
) -> tuple[str, str]:
    """(image by tag, index digest) of a fresh linux/amd64 + linux/arm64 image."""

    async def push() -> tuple[str, str]:
        async with aiohttp.ClientSession() as session:
            pusher = OciPusher(session, registry.url, lambda path: authorization)
            path = unique_repository("e2e")
            platforms = (Platform("linux", "amd64"), Platform("linux", "arm64"))
            images = [(await push_image(pusher, path, platform=p), p) for p in platforms]
            index = await push_index(pusher, path, images, tag=tag)
            return f"{registry.host}/{path}:{tag}", index.digest

    return asyncio.run(push())


def test_an_audit_finding_is_printed_by_kubectl(cluster: Cluster, webhook: WebhookProcess) -> None:
    ns = labelled_namespace(cluster, AUDIT_LABEL)
    image = "registry.example.com/shop/web:latest@sha256:" + "d4" * 32
    result = cluster.kubectl("apply", "-f", "-", input_text=deployment("web", ns, image))
    assert "Warning: imagegate (audit): [latest-is-discouraged/no-latest] container 'app'" in (
        result.stderr
    )
    assert "deployment.apps/web created" in result.stdout


def test_a_tag_is_pinned_to_its_digest_in_the_stored_object(
    cluster: Cluster, webhook: WebhookProcess, registry: LocalRegistry
) -> None:
    ns = labelled_namespace(cluster, PIN_LABEL)
    image, digest = push_multi_platform_image(registry, "1.0")
    cluster.kubectl("apply", "-f", "-", input_text=deployment("web", ns, image))
    stored = stored_image(cluster, "web", ns)
    assert stored == f"{image}@{digest}"
    # The pinned image passed the default digest-pinned policy and was recorded by digest.
    (record,) = eventually(
        lambda: webhook.records(deployment_name=f"{ns}/web/app"), what="the pinned record"
    )
    assert (record["artifact"]["digest"], record["artifact"]["tag"]) == (digest, "1.0")


def test_a_private_registry_is_read_with_the_pods_pull_secret(
    cluster: Cluster, webhook: WebhookProcess, tmp_path_factory: pytest.TempPathFactory
) -> None:
    user, password = "ci", "s3cret-e2e"
    private = LocalRegistry(
        work_dir=tmp_path_factory.mktemp("private-registry"),
        htpasswd=htpasswd_line(user, password),
    )
    private.start()
    try:
        basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        image, digest = push_multi_platform_image(private, "2.0", authorization=basic)
        ns = labelled_namespace(cluster, PIN_LABEL)
        cluster.kubectl(
            "create",
            "secret",
            "docker-registry",
            "regcred",
            "-n",
            ns,
            f"--docker-server={private.host}",
            f"--docker-username={user}",
            f"--docker-password={password}",
        )
        with_secret = deployment("web", ns, image, pull_secret="regcred")
        cluster.kubectl("apply", "-f", "-", input_text=with_secret)
        stored = stored_image(cluster, "web", ns)
        assert stored == f"{image}@{digest}"

        # Without the pull secret the registry refuses imagegate: nothing is pinned, and
        # the tag-only image is then refused by the default digest-pinned policy. (A tag
        # not looked up before: resolved digests are cached whatever the credentials,
        # since a digest is public knowledge and pulling still needs the secret.)
        other, _ = push_multi_platform_image(private, "2.1", authorization=basic)
        without = deployment("api", ns, other)
        refused = cluster.kubectl("apply", "-f", "-", input_text=without, check=False)
        assert refused.returncode != 0
        assert "the image is not pinned by digest" in refused.stderr
    finally:
        private.stop()


def test_an_image_volume_from_a_forbidden_registry_is_denied(
    cluster: Cluster, webhook: WebhookProcess
) -> None:
    ns = labelled_namespace(cluster, REGISTRIES_LABEL)
    app = "registry.example.com/shop/web:1.0@sha256:" + "e1" * 32
    weights = "quay.io/elsewhere/weights:v3@sha256:" + "e2" * 32
    pod = f"""
apiVersion: v1
kind: Pod
metadata: {{name: inference, namespace: {ns}}}
spec:
  containers: [{{name: app, image: "{app}", volumeMounts: [{{name: models, mountPath: /models}}]}}]
  volumes: [{{name: models, image: {{reference: "{weights}"}}}}]
"""
    refused = cluster.kubectl("apply", "-f", "-", input_text=pod, check=False)
    assert refused.returncode != 0
    assert f"imagegate denied Pod {ns}/inference" in refused.stderr
    assert f"[own-registry/allowed-registries] image volume 'models' image '{weights}'" in (
        refused.stderr
    )
    # The same pod with its volume from the allowed registry is admitted and recorded.
    allowed = pod.replace(weights, "registry.example.com/shop/weights:v3@sha256:" + "e3" * 32)
    cluster.kubectl("apply", "-f", "-", input_text=allowed)
    eventually(
        lambda: webhook.records(deployment_name=f"{ns}/inference/volumes/models"),
        what="the image volume recorded",
    )
