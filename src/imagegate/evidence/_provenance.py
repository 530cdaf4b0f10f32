"""Provenance evidence CI posts, in imagegate's own small JSON form. Pure, no IO.

``{"builder_id": …, "source_repository": …, "commit": …, "labels": {…}}``: each
member may be left out, but at least one must be given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import msgspec

from imagegate._decoding_errors import locate
from imagegate.errors import InvalidInputError
from imagegate.facts import Provenance

MAX_LABELS = 256
_MAX_TEXT = 2048
_MAX_LABEL_KEY = 256
_MAX_LABEL_VALUE = 4096
# Policies take a commit to be 7 to 64 hex digits (abbreviated, SHA-1 or SHA-256).
_COMMIT = re.compile(r"[0-9a-f]{7,64}")


class ProvenanceEvidenceError(InvalidInputError):
    """A provenance document that cannot be read; ``field`` is the member at fault."""

    code = "invalid_provenance"


class _Document(msgspec.Struct, forbid_unknown_fields=True):
    builder_id: str | None = None
    source_repository: str | None = None
    commit: str | None = None
    # Values are checked here rather than by msgspec, whose message would not say
    # which label is wrong.
    labels: dict[str, Any] | None = None


_DECODER = msgspec.json.Decoder(_Document)


def parse_provenance_evidence(document: bytes) -> tuple[Provenance, Mapping[str, str]]:
    """The provenance and labels a JSON provenance document states.

    Unknown members are refused, so that a misspelt one is not silently dropped.
    Raises ProvenanceEvidenceError with the member at fault.
    """
    try:
        decoded = _DECODER.decode(document)
    except msgspec.ValidationError as error:
        message, field, at = locate(error)
        where = f"{at}: " if at else ""
        raise ProvenanceEvidenceError(f"{where}{message}", field=field) from None
    except msgspec.DecodeError as error:
        raise ProvenanceEvidenceError(f"the provenance is not valid JSON: {error}") from None
    except RecursionError:
        raise ProvenanceEvidenceError("the provenance is nested too deeply") from None
    if (
        decoded.builder_id is None
        and decoded.source_repository is None
        and decoded.commit is None
        and not decoded.labels
    ):
        raise ProvenanceEvidenceError(
            "the provenance states nothing: give at least one of builder_id, "
            "source_repository, commit and labels"
        )
    commit = _text(decoded.commit, "commit")
    if commit is not None:
        commit = commit.lower()
        if not _COMMIT.fullmatch(commit):
            raise ProvenanceEvidenceError(
                f"commit {decoded.commit!r} is not a git commit id (7 to 64 hex digits)",
                field="commit",
            )
    source_repository = _text(decoded.source_repository, "source_repository")
    if source_repository is not None and any(c.isspace() for c in source_repository):
        raise ProvenanceEvidenceError(
            "source_repository is a URL and holds no spaces", field="source_repository"
        )
    provenance = Provenance(
        builder_id=_text(decoded.builder_id, "builder_id"),
        source_repository=source_repository,
        commit=commit,
    )
    return provenance, _labels(decoded.labels or {})


def _text(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > _MAX_TEXT:
        raise ProvenanceEvidenceError(f"{field} must be 1 to {_MAX_TEXT} characters", field=field)
    return value


def _labels(labels: dict[str, Any]) -> Mapping[str, str]:
    if len(labels) > MAX_LABELS:
        raise ProvenanceEvidenceError(
            f"at most {MAX_LABELS} labels, not {len(labels)}", field="labels"
        )
    checked: dict[str, str] = {}
    for key, value in sorted(labels.items()):
        field = f"labels.{key}"
        if not key or len(key) > _MAX_LABEL_KEY:
            raise ProvenanceEvidenceError(
                f"a label key must be 1 to {_MAX_LABEL_KEY} characters", field=field
            )
        if not isinstance(value, str):
            raise ProvenanceEvidenceError(
                f"label {key!r} must be a string, not {_json_type(value)}", field=field
            )
        if len(value) > _MAX_LABEL_VALUE:
            raise ProvenanceEvidenceError(
                f"label {key!r} is longer than {_MAX_LABEL_VALUE} characters", field=field
            )
        checked[key] = value
    return MappingProxyType(checked)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    return "an object"
