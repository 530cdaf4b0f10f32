"""Policies that need registry facts, against a real registry (Debian's docker-registry)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from imagegate.api import TRACKER
from imagegate.policy import Mode
from imagegate.server import RECORDER
from imagegate.tracking import DeploymentQuery, Platform
from support.registry import LocalRegistry, OciPusher, push_image, push_index, unique_repository
from support.reviews import review
from support.webhook import running_webhook, webhook_settings

AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64")

POLICIES = """
apiVersion: imagegate.dev/v1alpha1
kind: DeploymentPolicy
metadata: {name: platforms}
spec:
  mode: enforce
  match: {namespaces: [shop]}
  rules:
    - rule: platform-available
---
apiVersion: imagegate.dev/v1alpha1
kind: DeploymentPolicy
metadata: {name: platforms-lenient}
spec:
  mode: enforce
  factsUnavailable: warn
  match: {namespaces: [lab]}
  rules:
    - rule: platform-available
---
apiVersion: imagegate.dev/v1alpha1
kind: DeploymentPolicy
metadata: {name: pinned}
spec:
  mode: enforce
  match: {namespaces: [pinning]}
  rules:
    - rule: pin-tags
    - rule: digest-pinned
"""


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LocalRegistry]:
    local = LocalRegistry(work_dir=tmp_path / "registry")
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture
async def pusher(registry: LocalRegistry) -> AsyncIterator[OciPusher]:
    async with aiohttp.ClientSession() as session:
        yield OciPusher(session, registry.url)


def settings_for(tmp_path: Path) -> Any:
    policies = tmp_path / "policies.yaml"
    policies.write_text(POLICIES)
    settings = webhook_settings(tmp_path, mode=Mode.OFF)
    return replace(settings, admission=replace(settings.admission, policy_path=policies))


def on_arm64(document: dict[str, Any]) -> dict[str, Any]:
    spec = document["request"]["object"]["spec"]["template"]["spec"]
    spec["nodeSelector"] = {"kubernetes.io/arch": "arm64"}
    return document


def apply_patch(document: dict[str, Any], patch: list[dict[str, Any]]) -> dict[str, Any]:
    """RFC 6902 ``replace`` operations, the only kind imagegate sends."""
    for operation in patch:
        assert operation["op"] == "replace"
        *parents, last = operation["path"].lstrip("/").split("/")
        node: Any = document
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[int(last) if isinstance(node, list) else last] = operation["value"]
    return document


async def test_an_image_without_the_pods_platform_is_denied(
    tmp_path: Path, registry: LocalRegistry, pusher: OciPusher
) -> None:
    path = unique_repository("shop")
    await push_image(pusher, path, platform=AMD64, tag="1.0")
    image = f"{registry.host}/{path}:1.0"
    async with running_webhook(settings_for(tmp_path), tmp_path / "certs") as webhook:
        _, answer = await webhook.post(
            "/validate", on_arm64(review("Deployment", "web", "shop", [image]))
        )
        assert answer["response"]["allowed"] is False
        message = answer["response"]["status"]["message"]
        assert "[platforms/platform-available] container 'c0'" in message
        assert "no manifest for linux/arm64 (the image has linux/amd64)" in message
        _, answer = await webhook.post("/validate", review("Deployment", "api", "shop", [image]))
        assert answer["response"]["allowed"] is True


async def test_a_multi_platform_index_is_admitted_and_its_tag_recorded_by_digest(
    tmp_path: Path, registry: LocalRegistry, pusher: OciPusher
) -> None:
    path = unique_repository("shop")
    images = [(await push_image(pusher, path, platform=p), p) for p in (AMD64, ARM64)]
    index = await push_index(pusher, path, images, tag="2.0")
    image = f"{registry.host}/{path}:2.0"
    async with running_webhook(settings_for(tmp_path), tmp_path / "certs") as webhook:
        _, answer = await webhook.post(
            "/validate", on_arm64(review("Deployment", "web", "shop", [image]))
        )
        assert answer["response"]["allowed"] is True
        await webhook.app[RECORDER].drain()
        page = await webhook.app[TRACKER].list_deployments(DeploymentQuery())
        (record,) = page.records
        assert record.artifact.digest == index.digest
        assert record.artifact.tag == "2.0"
        assert str(record.platform) == "linux/arm64"


async def test_a_registry_outage_denies_or_warns_as_the_policy_says(
    tmp_path: Path, registry: LocalRegistry, pusher: OciPusher
) -> None:
    path = unique_repository("shop")
    await push_image(pusher, path, platform=AMD64, tag="1.0")
    image = f"{registry.host}/{path}:1.0"
    async with running_webhook(settings_for(tmp_path), tmp_path / "certs") as webhook:
        registry.stop()
        _, denied = await webhook.post("/validate", review("Deployment", "web", "shop", [image]))
        assert denied["response"]["allowed"] is False
        assert (
            f"[platforms/platform-available] container 'c0' image '{image}': could not be checked: "
        ) in denied["response"]["status"]["message"]

        _, warned = await webhook.post("/validate", review("Deployment", "web", "lab", [image]))
        assert warned["response"]["allowed"] is True
        (warning,) = warned["response"]["warnings"]
        assert "[platforms-lenient/platform-available]" in warning
        assert "could not be checked" in warning


async def test_pinning_patches_the_tag_and_the_patched_object_is_admitted(
    tmp_path: Path, registry: LocalRegistry, pusher: OciPusher
) -> None:
    path = unique_repository("pinning")
    images = [(await push_image(pusher, path, platform=p), p) for p in (AMD64, ARM64)]
    index = await push_index(pusher, path, images, tag="3.1")
    image = f"{registry.host}/{path}:3.1"
    document = review("Deployment", "web", "pinning", [image])
    async with running_webhook(settings_for(tmp_path), tmp_path / "certs") as webhook:
        _, refused = await webhook.post("/validate", document)
        assert refused["response"]["allowed"] is False  # digest-pinned, before mutation

        _, mutated = await webhook.post("/mutate", document)
        response = mutated["response"]
        assert response["allowed"] is True
        assert response["patchType"] == "JSONPatch"
        patch = json.loads(base64.b64decode(response["patch"]))
        assert patch == [
            {
                "op": "replace",
                "path": "/spec/template/spec/containers/0/image",
                "value": f"{image}@{index.digest}",
            }
        ]

        patched = apply_patch(
            document,
            [{**operation, "path": "/request/object" + operation["path"]} for operation in patch],
        )
        _, again = await webhook.post("/mutate", patched)
        assert "patch" not in again["response"]  # reinvocation changes nothing
        _, admitted = await webhook.post("/validate", patched)
        assert admitted["response"]["allowed"] is True
        await webhook.app[RECORDER].drain()
        (record,) = (await webhook.app[TRACKER].list_deployments(DeploymentQuery())).records
        assert (record.artifact.digest, record.artifact.tag) == (index.digest, "3.1")
