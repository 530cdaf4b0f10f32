"""What the end-to-end scenarios share: images, fresh namespaces, applying, waiting.

One module for every scenario file, so that namespace names never repeat within a
session (pytest would import a helper from a test module twice: once as a test).
"""

from __future__ import annotations

import itertools
from typing import Any

from testbed.controlplane import Cluster

from e2e.webhook import ENVIRONMENT_LABEL, WebhookProcess, eventually

D1 = "sha256:" + "a1" * 32
D2 = "sha256:" + "b2" * 32
WEB_V1 = f"registry.example.com/shop/web:1.0@{D1}"
WEB_V2 = f"registry.example.com/shop/web:2.0@{D2}"
_numbers = itertools.count(1)


def namespace(plane: Cluster, environment: str | None = None) -> str:
    """A fresh namespace, labelled with a logical environment if one is given."""
    name = f"e2e-{next(_numbers)}"
    plane.kubectl("create", "namespace", name)
    if environment is not None:
        plane.kubectl("label", "namespace", name, f"{ENVIRONMENT_LABEL}={environment}")
    return name


def fresh_name(prefix: str) -> str:
    """A name no other scenario of the session uses."""
    return f"{prefix}-{next(_numbers)}"


def apply(plane: Cluster, manifest: str, *flags: str, check: bool = True) -> Any:
    return plane.kubectl("apply", *flags, "-f", "-", input_text=manifest, check=check)


def records_of(webhook: WebhookProcess, deployment_name: str, count: int) -> list[dict[str, Any]]:
    """The history of ``deployment_name`` once it has ``count`` records, newest first."""
    return eventually(  # type: ignore[no-any-return]
        lambda: (
            (found := webhook.records(deployment_name=deployment_name))
            and len(found) >= count
            and found
        ),
        what=f"{count} record(s) of {deployment_name}",
    )
