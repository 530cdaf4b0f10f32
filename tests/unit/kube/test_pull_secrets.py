"""Registry credentials from pull Secrets: the good shape and every bad one."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from imagegate.kube import credentials_of_secret
from imagegate.registry import Credentials, DockerConfigError


def secret(
    data: dict[str, Any] | None, type_: str = "kubernetes.io/dockerconfigjson"
) -> dict[str, Any]:
    return {"kind": "Secret", "type": type_, "data": data}


def encoded(document: object) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


def test_credentials_by_registry_host() -> None:
    auth = base64.b64encode(b"ci:s3cret").decode()
    config = {"auths": {"registry.acme.example:5000": {"auth": auth}}}
    found = credentials_of_secret(secret({".dockerconfigjson": encoded(config)}))
    assert found == {"registry.acme.example:5000": Credentials("ci", "s3cret")}


def test_a_secret_of_another_type_has_no_registry_credentials() -> None:
    assert credentials_of_secret(secret({"token": "x"}, type_="Opaque")) == {}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, "the Secret has no .dockerconfigjson key"),
        ({"other": "e30="}, "the Secret has no .dockerconfigjson key"),
        ({".dockerconfigjson": "not base64!"}, ".dockerconfigjson is not base64"),
        ({".dockerconfigjson": base64.b64encode(b"{not json").decode()}, "docker config: "),
    ],
)
def test_a_malformed_secret_says_what_is_wrong(data: dict[str, Any] | None, message: str) -> None:
    with pytest.raises(DockerConfigError, match=message.replace(".", r"\.")):
        credentials_of_secret(secret(data))
