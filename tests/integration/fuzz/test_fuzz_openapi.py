"""schemathesis against the served OpenAPI document: requests generated from the schema
(valid and not) with a key of both scopes; no answer is a 5xx, every answer conforms
to the schema (status, content type, body, headers), schema-invalid requests are
refused, and methods the schema does not name get a 405 with Allow.

Not checked yet: that every schema-valid request is accepted (schemathesis's
``positive_data_acceptance``). The schema cannot state all the server checks (the
image reference grammar, a tag-only reference being refused), so it generates
refused requests the schema allows; see docs/testing.md. Bounded in examples.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CheckFunction
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)

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
    excluded: list[CheckFunction] = [positive_data_acceptance]
    if case.path in ("/validate", "/mutate"):
        # A review is read for what admission needs (the parts of the object that hold
        # images), as kube-apiserver writes it; the rest of it is not judged here.
        excluded.append(negative_data_rejection)
    case.call_and_validate(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, excluded_checks=excluded
    )
