"""Validation of the names that make up a deployment key."""

from __future__ import annotations

import re

from imagegate.tracking._errors import InvalidNameError

# Environment names end up in URLs, namespace labels and metric labels: keep them
# to DNS-like labels (dots allowed, as cluster names often have them).
_ENVIRONMENT_NAME = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?")
# Deployment names default to "namespace/workload/container" or a repository name
# (which may start with an IPv6 registry host, "[::1]:5000/app").
_DEPLOYMENT_NAME = re.compile(r"(?:[A-Za-z0-9]|\[)[A-Za-z0-9._:/@+\[\]-]{0,252}")
_MAX_DESCRIPTION = 1024


def validate_environment_name(name: str, *, field: str = "environment") -> str:
    """Return ``name`` if it is a valid (logical) environment name, else raise."""
    if not _ENVIRONMENT_NAME.fullmatch(name):
        raise InvalidNameError(
            f"{field} {name!r} must be 1 to 63 lower-case letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit",
            field=field,
        )
    return name


def validate_deployment_name(name: str, *, field: str = "deployment_name") -> str:
    """Return ``name`` if it is a valid deployment name, else raise."""
    if not _DEPLOYMENT_NAME.fullmatch(name):
        raise InvalidNameError(
            f"{field} {name!r} must be 1 to 253 letters, digits or . _ : / @ + - [ ], "
            "starting with a letter, digit or '['",
            field=field,
        )
    return name


def validate_description(text: str, *, field: str = "description") -> str:
    """Return ``text`` if it is short enough to be a description, else raise."""
    if len(text) > _MAX_DESCRIPTION:
        raise InvalidNameError(f"{field} is longer than {_MAX_DESCRIPTION} characters", field=field)
    return text
