"""A Kubernetes LabelSelector (``matchLabels``, ``matchExpressions``), evaluated here.

The webhook's objectSelector decides which objects the API server sends to
imagegate; the cluster watch applies the same one, so that it records exactly the
workloads the webhook judges.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from imagegate.errors import InvalidInputError

_OPERATORS = frozenset({"In", "NotIn", "Exists", "DoesNotExist"})


class SelectorError(InvalidInputError):
    """A selector that is not a valid LabelSelector; the message says where."""


@dataclass(frozen=True, slots=True)
class _Requirement:
    key: str
    operator: str
    values: frozenset[str]

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "Exists":
            return self.key in labels
        if self.operator == "DoesNotExist":
            return self.key not in labels
        if self.operator == "In":
            return labels.get(self.key) in self.values
        return labels.get(self.key) not in self.values  # NotIn: absent keys match too


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """Every requirement must hold; the empty selector matches everything."""

    requirements: tuple[_Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(requirement.matches(labels) for requirement in self.requirements)


def parse_selector(text: str) -> LabelSelector:
    """A LabelSelector from its JSON (as ``objectSelector`` is written in a webhook)."""
    try:
        document = json.loads(text) if text.strip() else {}
    except ValueError as error:
        raise SelectorError(f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise SelectorError("a selector is an object with matchLabels and/or matchExpressions")
    unknown = sorted(set(document) - {"matchLabels", "matchExpressions"})
    if unknown:
        raise SelectorError(f"unknown field {unknown[0]!r}: matchLabels, matchExpressions")
    requirements = [
        _Requirement(str(key), "In", frozenset({str(value)}))
        for key, value in _mapping(document.get("matchLabels", {})).items()
    ]
    expressions = document.get("matchExpressions", [])
    if expressions is None:
        expressions = []
    if not isinstance(expressions, list):
        raise SelectorError("matchExpressions is a list")
    for index, expression in enumerate(expressions):
        requirements.append(_requirement(expression, f"matchExpressions[{index}]"))
    return LabelSelector(tuple(requirements))


def _mapping(value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SelectorError("matchLabels maps label keys to values")
    return value


def _requirement(expression: Any, where: str) -> _Requirement:
    if not isinstance(expression, dict) or not expression.get("key"):
        raise SelectorError(f"{where}: needs a key and an operator")
    operator = expression.get("operator")
    if operator not in _OPERATORS:
        raise SelectorError(
            f"{where}: operator {operator!r}: one of {', '.join(sorted(_OPERATORS))}"
        )
    values = expression.get("values") or []
    if not isinstance(values, list):
        raise SelectorError(f"{where}: values is a list")
    if operator in ("In", "NotIn") and not values:
        raise SelectorError(f"{where}: {operator} needs values")
    if operator in ("Exists", "DoesNotExist") and values:
        raise SelectorError(f"{where}: {operator} takes no values")
    return _Requirement(str(expression["key"]), operator, frozenset(str(v) for v in values))
