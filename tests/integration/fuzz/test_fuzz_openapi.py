"""schemathesis against the served OpenAPI document: requests generated from the schema
(valid and not) with a key of both scopes; no answer is a 5xx, every answer conforms
to the schema (status, content type, body, headers), schema-invalid requests are
refused, and methods the schema does not name get a 405 with Allow.

Every schema-valid request is accepted too (``positive_data_acceptance``), but for what
a schema cannot say: a page cursor is a token the server issued (the test sends one
it would issue), a repository name is at most 255 characters once normalised (a
refusal that says so is the expected answer); a scan report's relations to itself,
to the path's digest and to ``format``, and an AdmissionReview's object, are held by
the parsers' and admission's own fuzz tests instead. Bounded in examples.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import CheckFunction
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)

from imagegate.api import encode_cursor
from imagegate.tracking import MAX_NAME_LENGTH
from support.processes import run_cli, server_process

DOCUMENT = json.loads(resources.files("imagegate.api").joinpath("openapi.json").read_text())
schema = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    directory = tmp_path_factory.mktemp("fuzzed-server")
    store = directory / "server.db"
    token = run_cli(
        ["apikey", "create", "--scope", "read", "--scope", "write"], store=store
    ).stdout.strip()
    # Environments made on first use: what a valid body names need not exist first.
    with server_process(store, "--auto-create-environments", log=directory / "serve.log") as url:
        yield url, token


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same requests every run: CI fails on a change, not on luck
    suppress_health_check=list(HealthCheck),
)
def test_no_5xx_and_every_answer_conforms(
    case: schemathesis.Case[Any], served: tuple[str, str]
) -> None:
    url, token = served
    excluded: list[CheckFunction] = []
    if case.path in ("/validate", "/mutate"):
        # A review is read for what admission needs (the parts of the object that hold
        # images), as kube-apiserver writes it; the rest of it is not judged here. What
        # makes its object valid depends on its kind (a Deployment's pod template, a
        # CronJob's job template), which the document does not spell out for every kind:
        # test_fuzz_admission.py holds every answer to be a review or a 400 with a reason.
        excluded.extend([negative_data_rejection, positive_data_acceptance])
    if case.path.endswith("/scans") and case.method == "POST":
        # A scanner's report refers to itself (a CycloneDX finding names its component by
        # bom-ref), names the image it scanned (which must be the path's digest), and
        # ``format`` must name it: relations no schema states. The parsers' fuzz tests
        # (test_fuzz_parsers.py) hold what is accepted there.
        excluded.append(positive_data_acceptance)
    _within_what_a_schema_can_say(case)
    response = case.call(base_url=url, headers={"Authorization": f"Bearer {token}"})
    if _too_long_a_name(response):
        excluded.append(positive_data_acceptance)
    case.validate_response(response, excluded_checks=excluded)


def _within_what_a_schema_can_say(case: schemathesis.Case[Any]) -> None:
    """Make the parts of a request that a schema cannot relate agree, as a client's do."""
    positive = case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE
    if not positive or not isinstance(case.query, dict):
        return  # a request meant to be refused keeps what makes it so
    if isinstance(case.query.get("cursor"), str):
        # An opaque cursor is valid only as the server wrote it: send one it would write.
        case.query["cursor"] = encode_cursor(1 + len(case.query["cursor"]))


def _too_long_a_name(response: Response) -> bool:
    # The pattern states the reference grammar but cannot count the normalised length.
    if response.status_code != 422:
        return False
    message = str(response.json().get("error", {}).get("message", ""))
    return f"repository name is longer than {MAX_NAME_LENGTH}" in message
