"""Reading provenance documents CI posts."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from imagegate.api import load_openapi_document
from imagegate.errors import RefusedError
from imagegate.evidence import ProvenanceEvidenceError, parse_provenance_evidence
from imagegate.facts import Provenance

BUILDER = "https://github.com/acme/api/.github/workflows/release.yml@refs/heads/main"
FULL: dict[str, Any] = {
    "builder_id": BUILDER,
    "source_repository": "https://github.com/acme/api",
    "commit": "4F1C2B7D9E0A8B6C5D4E3F2A1B0C9D8E7F6A5B4C",
    "labels": {"team": "payments", "org.opencontainers.image.version": "1.4.2"},
}


def parse(document: object) -> tuple[Provenance, dict[str, str]]:
    provenance, labels = parse_provenance_evidence(json.dumps(document).encode())
    return provenance, dict(labels)


def test_a_full_document() -> None:
    provenance, labels = parse(FULL)
    assert provenance == Provenance(
        builder_id=BUILDER,
        source_repository="https://github.com/acme/api",
        commit="4f1c2b7d9e0a8b6c5d4e3f2a1b0c9d8e7f6a5b4c",
    )
    assert labels == FULL["labels"]


def test_labels_come_sorted_and_read_only() -> None:
    _, labels = parse_provenance_evidence(json.dumps(FULL).encode())
    assert list(labels) == ["org.opencontainers.image.version", "team"]
    with pytest.raises(TypeError):
        labels["team"] = "other"  # type: ignore[index]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"commit": "4f1c2b7"}, Provenance(commit="4f1c2b7")),
        (
            {"source_repository": " https://github.com/acme/api "},
            Provenance(source_repository="https://github.com/acme/api"),
        ),
        ({"labels": {"team": "payments"}}, Provenance()),
        ({"builder_id": "jenkins", "commit": None}, Provenance(builder_id="jenkins")),
    ],
)
def test_members_may_be_left_out(document: dict[str, Any], expected: Provenance) -> None:
    assert parse(document)[0] == expected


@pytest.mark.parametrize(
    ("document", "field", "message"),
    [
        pytest.param(
            {"source_repo": "x"}, "source_repo", "unknown field `source_repo`", id="unknown"
        ),
        pytest.param({"commit": "main"}, "commit", "is not a git commit id", id="branch-name"),
        pytest.param({"commit": "4f1c2b"}, "commit", "7 to 64 hex digits", id="too-short"),
        pytest.param({"commit": 42}, "commit", "Expected `str | null`, got `int`", id="number"),
        pytest.param({"builder_id": "  "}, "builder_id", "1 to 2048 characters", id="blank"),
        pytest.param(
            {"source_repository": "github.com/acme/api web"},
            "source_repository",
            "holds no spaces",
            id="spaces",
        ),
        pytest.param(
            {"labels": {"build": 42}}, "labels.build", "must be a string, not a number", id="label"
        ),
        pytest.param(
            {"labels": {"a": None}}, "labels.a", "must be a string, not null", id="null-label"
        ),
        pytest.param({"labels": {"": "x"}}, "labels.", "a label key must be", id="empty-key"),
        pytest.param(
            {"labels": {f"k{n}": "v" for n in range(257)}}, "labels", "at most 256", id="many"
        ),
        pytest.param({"labels": ["team"]}, "labels", "Expected `object | null`", id="list"),
    ],
)
def test_errors_name_the_member_at_fault(document: object, field: str, message: str) -> None:
    with pytest.raises(ProvenanceEvidenceError) as caught:
        parse(document)
    error = caught.value
    assert isinstance(error, RefusedError)
    assert (error.code, error.field) == ("invalid_provenance", field)
    assert message in error.message


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"{}", "the provenance states nothing"),
        (b'{"labels": {}}', "the provenance states nothing"),
        (b"builder=jenkins", "not valid JSON"),
        (b"[]", "Expected `object`, got `array`"),
    ],
)
def test_documents_that_state_nothing_are_refused(document: bytes, message: str) -> None:
    with pytest.raises(ProvenanceEvidenceError) as caught:
        parse_provenance_evidence(document)
    assert message in caught.value.message
    assert caught.value.field is None


def test_the_documented_form_is_the_one_read() -> None:
    document = json.loads(load_openapi_document())
    schema = document["components"]["schemas"]["ProvenanceEvidenceBody"]
    assert set(schema["properties"]) == {"builder_id", "source_repository", "commit", "labels"}
    assert schema["additionalProperties"] is False
    operation = document["paths"]["/api/v1/evidence/{digest}/provenance"]["post"]
    example = operation["requestBody"]["content"]["application/json"]["example"]
    parse_provenance_evidence(msgspec.json.encode(example))
