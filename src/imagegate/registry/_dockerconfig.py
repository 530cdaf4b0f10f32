"""Registry credentials from a docker config JSON: what ``imagePullSecrets`` point at.

A ``kubernetes.io/dockerconfigjson`` Secret holds, under ``.dockerconfigjson``::

    {"auths": {"ghcr.io": {"auth": "<base64 of user:password>"},
               "https://index.docker.io/v1/": {"username": "u", "password": "p"}}}

Entries are reduced to their registry host as :class:`ImageReference` spells it, so
``https://index.docker.io/v1/`` is ``docker.io``. The kubelet also matches path
prefixes and ``*.`` wildcards in entry keys; here credentials are per host, and the
first entry for a host wins.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from imagegate.errors import InvalidInputError
from imagegate.registry._auth import Credentials
from imagegate.tracking import DEFAULT_REGISTRY

_DOCKER_HUB_HOSTS = frozenset(
    {"index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)


class DockerConfigError(InvalidInputError):
    """A docker config document is malformed; the message names the part at fault."""

    def __init__(self, message: str, *, entry: str | None = None) -> None:
        super().__init__(f"docker config: {message}")
        self.entry = entry
        """Key of the ``auths`` entry at fault, if one is."""


def credentials_from_docker_config(document: bytes) -> dict[str, Credentials]:
    """Credentials by registry host (``docker.io``, ``ghcr.io``, ``localhost:5000``).

    Entries without credentials (``{}``, as docker writes when a credential helper
    holds them, or an ``identitytoken`` only) are left out. Raises DockerConfigError.
    """
    try:
        parsed: Any = json.loads(document)
    except UnicodeDecodeError as e:
        raise DockerConfigError("the document is not UTF-8 text") from e
    except json.JSONDecodeError as e:
        raise DockerConfigError(f"not JSON: {e.msg} at line {e.lineno} column {e.colno}") from e
    if not isinstance(parsed, dict):
        raise DockerConfigError(f"the document must be a JSON object, not {_kind(parsed)}")
    if "auths" not in parsed:
        raise DockerConfigError(
            'no "auths" object: a .dockerconfigjson document is {"auths": {"<registry>": '
            '{"auth": "<base64 of user:password>"}}} (the legacy .dockercfg format is not read)'
        )
    auths = parsed["auths"]
    if not isinstance(auths, dict):
        raise DockerConfigError(f'"auths" must be an object, not {_kind(auths)}')
    credentials: dict[str, Credentials] = {}
    for key, entry in auths.items():
        host = registry_host(key)
        if not host:
            raise DockerConfigError(f"auths key {key!r} names no registry host", entry=key)
        found = _entry_credentials(key, entry)
        if found is not None and host not in credentials:
            credentials[host] = found
    return credentials


def registry_host(key: str) -> str:
    """The registry host an ``auths`` key names: scheme and path dropped, Docker Hub as
    ``docker.io``."""
    text = key.strip()
    if "://" in text:
        text = text.split("://", 1)[1]
    host = text.split("/", 1)[0].lower()
    return DEFAULT_REGISTRY if host in _DOCKER_HUB_HOSTS else host


def _entry_credentials(key: str, entry: object) -> Credentials | None:
    if not isinstance(entry, dict):
        raise DockerConfigError(f"auths[{key!r}] must be an object, not {_kind(entry)}", entry=key)
    for name in ("auth", "username", "password"):
        if name in entry and not isinstance(entry[name], str):
            raise DockerConfigError(
                f"auths[{key!r}].{name} must be a string, not {_kind(entry[name])}", entry=key
            )
    auth = entry.get("auth") or ""
    if auth:
        # Docker itself prefers "auth" over username/password when both are present.
        return _decode_auth(key, auth)
    username, password = entry.get("username") or "", entry.get("password") or ""
    if username and password:
        return Credentials(username=username, password=password)
    if username or password:
        missing = "password" if username else "username"
        raise DockerConfigError(f"auths[{key!r}] has no {missing}", entry=key)
    return None


def _decode_auth(key: str, auth: str) -> Credentials:
    try:
        pair = base64.b64decode(auth, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as e:
        raise DockerConfigError(
            f"auths[{key!r}].auth is not base64 of UTF-8 'user:password'", entry=key
        ) from e
    username, separator, password = pair.partition(":")
    if not separator or not username:
        raise DockerConfigError(
            f"auths[{key!r}].auth must decode to 'user:password' (no ':' or no user)", entry=key
        )
    return Credentials(username=username, password=password)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)
