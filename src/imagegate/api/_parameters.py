"""Query parameters of the API (and the CLI's listing options) as typed values."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TypeVar

from imagegate.api._convert import decode_cursor
from imagegate.tracking import DeploymentQuery, InvalidParameterError, Kind, Status

E = TypeVar("E", bound=enum.Enum)

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_LIST_PARAMETERS = frozenset(
    {
        "environment",
        "logical_environment",
        "deployment_name",
        "kind",
        "status",
        "history",
        "limit",
        "cursor",
    }
)
_CLUSTER_PARAMETERS = frozenset({"records"})


def deployment_query_from(parameters: Mapping[str, str]) -> DeploymentQuery:
    """Validated listing filters from query parameters (or CLI options)."""
    unknown = sorted(set(parameters) - _LIST_PARAMETERS)
    if unknown:
        raise InvalidParameterError(
            f"unknown query parameter {unknown[0]!r}; known: {', '.join(sorted(_LIST_PARAMETERS))}",
            field=unknown[0],
        )
    cursor = parameters.get("cursor")
    return DeploymentQuery(
        environment=parameters.get("environment"),
        logical_environment=parameters.get("logical_environment"),
        deployment_name=parameters.get("deployment_name"),
        kind=_enum_parameter(parameters, "kind", Kind),
        status=_enum_parameter(parameters, "status", Status),
        history=_bool_parameter(parameters, "history"),
        limit=_int_parameter(parameters, "limit", default=100),
        after_id=decode_cursor(cursor) if cursor is not None else None,
    )


def cluster_records_parameter(parameters: Mapping[str, str]) -> bool:
    """``records`` of ``GET /api/v1/cluster``, the only parameter it takes."""
    unknown = sorted(set(parameters) - _CLUSTER_PARAMETERS)
    if unknown:
        raise InvalidParameterError(
            f"unknown query parameter {unknown[0]!r}; known: records", field=unknown[0]
        )
    return _bool_parameter(parameters, "records")


def _enum_parameter(parameters: Mapping[str, str], name: str, kind: type[E]) -> E | None:
    value = parameters.get(name)
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in kind)
        raise InvalidParameterError(f"{name} must be one of {allowed}", field=name) from None


def _bool_parameter(parameters: Mapping[str, str], name: str) -> bool:
    value = parameters.get(name, "false").lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidParameterError(f"{name} must be true or false", field=name)


def _int_parameter(parameters: Mapping[str, str], name: str, *, default: int) -> int:
    value = parameters.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidParameterError(f"{name} must be a whole number", field=name) from None
