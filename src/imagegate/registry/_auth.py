"""Registry authentication values: credentials, and the challenges registries send.

A registry answers ``401`` with ``WWW-Authenticate``: ``Basic realm="…"`` asks for
the credentials on every request; ``Bearer realm="…",service="…",scope="…"`` asks
the client to fetch a token from ``realm`` (docker's token protocol, used by Docker
Hub, GHCR, GCR/Artifact Registry, ECR, Quay, Harbor) and send that instead.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from imagegate.registry._errors import RegistryProtocolError

_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_SCHEME = re.compile(rf"[ \t,]*({_TCHARS})")
_PARAMETER = re.compile(rf"[ \t]*({_TCHARS})[ \t]*=[ \t]*({_TCHARS}|{_QUOTED})[ \t]*")
_TOKEN68 = re.compile(r"[ \t]+[A-Za-z0-9\-._~+/]+=*[ \t]*(?=,|$)")
_ESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user name and password (or access token) for one registry."""

    username: str
    password: str = field(repr=False)

    def basic_authorization(self) -> str:
        """The ``Authorization`` header value of HTTP Basic authentication."""
        pair = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


@dataclass(frozen=True, slots=True)
class Challenge:
    """One challenge of a ``WWW-Authenticate`` header."""

    scheme: str
    """Lower-case: ``bearer``, ``basic``, …"""
    parameters: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Parameter names lower-case (they are case-insensitive), values unquoted."""

    @property
    def realm(self) -> str | None:
        """For Bearer: the URL of the token service."""
        return self.parameters.get("realm")

    @property
    def service(self) -> str | None:
        return self.parameters.get("service")

    @property
    def scope(self) -> str | None:
        """For Bearer: what the token must grant, e.g. ``repository:library/nginx:pull``."""
        return self.parameters.get("scope")


def parse_challenges(header: str) -> tuple[Challenge, ...]:
    """The challenges of a ``WWW-Authenticate`` header value, in order (RFC 7235).

    Raises RegistryProtocolError naming the position of what cannot be parsed.
    """
    challenges: list[Challenge] = []
    position = 0
    while position < len(header):
        if not header[position:].strip(" \t,"):
            break
        scheme = _SCHEME.match(header, position)
        if scheme is None:
            raise _malformed(header, position, "expected an authentication scheme")
        position = scheme.end()
        parameters: dict[str, str] = {}
        token68 = _TOKEN68.match(header, position)
        if token68 is not None and not _PARAMETER.match(header, position):
            # e.g. ``Negotiate abc==``: a credential blob, not parameters; nothing we use.
            position = token68.end()
        else:
            position = _parse_parameters(header, position, parameters)
        challenges.append(
            Challenge(scheme=scheme.group(1).lower(), parameters=MappingProxyType(parameters))
        )
    if not challenges:
        raise RegistryProtocolError("empty WWW-Authenticate header")
    return tuple(challenges)


def _parse_parameters(header: str, position: int, parameters: dict[str, str]) -> int:
    # Parameters are comma-separated; a token not followed by "=" starts the next challenge.
    while True:
        parameter = _PARAMETER.match(header, position)
        if parameter is None:
            if header[position:].strip(" \t") and not header[position:].lstrip(" \t").startswith(
                ","
            ):
                raise _malformed(header, position, "expected name=value")
            return position
        name, value = parameter.group(1).lower(), parameter.group(2)
        if value.startswith('"'):
            value = _ESCAPE.sub(r"\1", value[1:-1])
        parameters[name] = value
        position = parameter.end()
        if position >= len(header):
            return position
        if header[position] != ",":
            raise _malformed(header, position, "expected ',' between parameters")
        following = _PARAMETER.match(header, position + 1)
        if following is None:
            return position + 1
        position += 1


def _malformed(header: str, position: int, reason: str) -> RegistryProtocolError:
    return RegistryProtocolError(
        f"malformed WWW-Authenticate header at character {position}: {reason}: {header!r}"
    )
