"""Evidence over real HTTP: scan reports and provenance posted by CI, and read back."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator, oas31_format_checker
from openapi_schema_validator import validate as validate_instance

from imagegate.api import load_openapi_document
from imagegate.auth import Scope
from imagegate.server import ServerSettings
from support.live import Answer, LiveServer, TokenFactory

SCANS = Path(__file__).parents[2] / "fixtures" / "scans"
INDEX = "sha256:15d37e6e6bd9fff5756849543fc76c2ec5110a04e03e3141e8038df06feefae8"
OTHER = "sha256:d9298a10d1b0735837dc4bd85dac641b0f3cef27a47e5d53a54f2f3f5b2fcffa"
MAX_SCAN_BYTES = 512 * 1024
PROVENANCE = {
    "builder_id": "https://github.com/acme/api/.github/workflows/release.yml@refs/heads/main",
    "source_repository": "https://github.com/acme/api",
    "commit": "4f1c2b7d9e0a8b6c5d4e3f2a1b0c9d8e7f6a5b4c",
    "labels": {"team": "payments"},
}
DOCUMENT: dict[str, Any] = json.loads(load_openapi_document())


@pytest.fixture
def server_settings(server_settings: ServerSettings) -> ServerSettings:
    """The shared settings (16 KiB bodies), with scan reports up to 512 KiB."""
    api = dataclasses.replace(server_settings.api, max_scan_bytes=MAX_SCAN_BYTES)
    return dataclasses.replace(server_settings, api=api)


def fixture(name: str) -> bytes:
    return (SCANS / f"{name}.json").read_bytes()


def documented(schema: Mapping[str, Any], value: object) -> None:
    """``value`` is valid under ``schema`` of the OpenAPI document."""
    rooted = {**schema, "components": DOCUMENT["components"]}
    validate_instance(value, rooted, cls=OAS31Validator, format_checker=oas31_format_checker)


def component(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def operation(method: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] = DOCUMENT["paths"][path][method]
    return found


async def post_scan(
    server: LiveServer,
    token: str,
    document: bytes,
    *,
    digest: str = INDEX,
    params: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> Answer:
    return await server.call(
        "POST",
        f"/api/v1/evidence/{digest}/scans",
        token=token,
        data=document,
        headers={"Content-Type": content_type},
        params=params,
    )


async def show(server: LiveServer, token: str, digest: str = INDEX) -> Answer:
    return await server.call("GET", f"/api/v1/evidence/{digest}", token=token)


def assert_error(answer: Answer, status: int, code: str, field: str | None) -> None:
    assert answer.status == status, answer.body
    assert answer.body["error"]["code"] == code, answer.body
    assert answer.body["error"].get("field") == field, answer.body
    documented(component("Error"), answer.body)


@pytest.mark.parametrize(
    ("name", "scanner", "counts"),
    [
        ("grype", "grype 0.84.0", (1, 1, 1, 1, 1, 0, 5)),
        ("trivy", "trivy 0.59.1", (2, 2, 1, 1, 0, 0, 6)),
        ("cyclonedx", "trivy 0.59.1", (1, 1, 1, 1, 1, 0, 5)),
    ],
)
async def test_a_posted_report_is_the_evidence_shown(
    live_server: LiveServer, token: str, name: str, scanner: str, counts: tuple[int, ...]
) -> None:
    posted = await post_scan(live_server, token, fixture(name))
    assert posted.status == 201, posted.body
    documented(component("ScanReportOut"), posted.body)
    assert (posted.body["digest"], posted.body["scanner"]) == (INDEX, scanner)
    assert tuple(posted.body["counts"].values()) == counts
    fixed = [v["fixed_in"] for v in posted.body["vulnerabilities"]]
    assert None in fixed
    assert any(fixed)
    shown = await show(live_server, token)
    assert shown.status == 200
    documented(component("EvidenceOut"), shown.body)
    assert shown.body == {"digest": INDEX, "scan": posted.body, "provenance": None, "labels": {}}


async def test_the_newest_scan_counts_whatever_order_reports_arrive_in(
    live_server: LiveServer, token: str
) -> None:
    # The CycloneDX report is the newest by its scanner's time (09:16:30).
    for name, scan_format in [("cyclonedx", "cyclonedx"), ("grype", "grype"), ("trivy", "trivy")]:
        answer = await post_scan(live_server, token, fixture(name), params={"format": scan_format})
        assert answer.status == 201, answer.body
    shown = await show(live_server, token)
    assert shown.body["scan"]["scanned_at"] == "2025-03-14T09:16:30.000000Z"


async def test_a_scan_dated_before_the_year_1000_is_stored_read_back_and_ranked_by_time(
    live_server: LiveServer, token: str
) -> None:
    # Years before 1000 were once written without their leading zero ("369-…"): the
    # text was then unreadable, and later than "2025-…" in the store's text order.
    ancient = json.loads(fixture("grype"))
    ancient["descriptor"]["timestamp"] = "0369-06-30T12:25:09Z"
    posted = await post_scan(live_server, token, json.dumps(ancient).encode())
    assert posted.status == 201, posted.body
    assert posted.body["scanned_at"] == "0369-06-30T12:25:09.000000Z"
    documented(component("ScanReportOut"), posted.body)
    shown = await show(live_server, token)
    assert shown.status == 200, shown.body
    assert shown.body["scan"] == posted.body
    assert (await post_scan(live_server, token, fixture("grype"))).status == 201
    shown = await show(live_server, token)
    assert shown.body["scan"]["scanned_at"] == "2025-03-14T09:12:44.318762Z"


async def test_provenance_is_shown_with_the_scan_and_replaced_by_the_next(
    live_server: LiveServer, token: str
) -> None:
    path = f"/api/v1/evidence/{INDEX}/provenance"
    posted = await live_server.call("POST", path, token=token, json=PROVENANCE)
    assert posted.status == 200, posted.body
    documented(component("ProvenanceEvidenceOut"), posted.body)
    assert posted.body == {
        "digest": INDEX,
        "provenance": {
            key: PROVENANCE[key] for key in ("builder_id", "source_repository", "commit")
        },
        "labels": {"team": "payments"},
    }
    assert (await post_scan(live_server, token, fixture("grype"))).status == 201
    shown = await show(live_server, token)
    assert shown.body["provenance"] == posted.body["provenance"]
    assert shown.body["scan"]["scanner"] == "grype 0.84.0"

    replaced = await live_server.call("POST", path, token=token, json={"commit": "ABCDEF0"})
    assert replaced.status == 200, replaced.body
    shown = await show(live_server, token)
    assert shown.body["provenance"] == {
        "builder_id": None,
        "source_repository": None,
        "commit": "abcdef0",
    }
    assert shown.body["labels"] == {}


async def test_a_digest_nothing_was_posted_for_has_empty_evidence(
    live_server: LiveServer, token: str
) -> None:
    shown = await show(live_server, token, OTHER.upper())
    assert shown.status == 200
    assert shown.body == {"digest": OTHER, "scan": None, "provenance": None, "labels": {}}


async def test_the_documented_examples_are_what_the_server_answers(
    live_server: LiveServer, token: str
) -> None:
    scans = operation("post", "/api/v1/evidence/{digest}/scans")
    request = scans["requestBody"]["content"]["application/json"]["examples"]
    answer = await post_scan(live_server, token, json.dumps(request["grype"]["value"]).encode())
    assert answer.body == scans["responses"]["201"]["content"]["application/json"]["example"]
    provenance = operation("post", "/api/v1/evidence/{digest}/provenance")
    body = provenance["requestBody"]["content"]["application/json"]["example"]
    answer = await live_server.call(
        "POST", f"/api/v1/evidence/{INDEX}/provenance", token=token, json=body
    )
    assert answer.body == provenance["responses"]["200"]["content"]["application/json"]["example"]
    shown = await show(live_server, token)
    examples = operation("get", "/api/v1/evidence/{digest}")["responses"]["200"]["content"]
    assert shown.body == examples["application/json"]["examples"]["posted"]["value"]
    for name in ("trivy", "cyclonedx"):
        posted = await post_scan(live_server, token, json.dumps(request[name]["value"]).encode())
        assert posted.status == 201, posted.body


def grype(mutate: Any = None, matches: int | None = None) -> bytes:
    document = json.loads(fixture("grype"))
    if matches is not None:
        template = document["matches"][1]
        document["matches"] = []
        for n in range(matches):
            match = copy.deepcopy(template)
            match["vulnerability"]["id"] = f"CVE-2025-{n:05d}"
            document["matches"].append(match)
    if mutate is not None:
        mutate(document)
    return json.dumps(document).encode()


def _severity_number(document: dict[str, Any]) -> None:
    document["matches"][3]["vulnerability"]["severity"] = 4


def _no_artifact_name(document: dict[str, Any]) -> None:
    del document["matches"][0]["artifact"]["name"]


@pytest.mark.parametrize(
    ("document", "params", "status", "code", "field"),
    [
        pytest.param(
            grype(_severity_number),
            None,
            422,
            "invalid_scan_report",
            "matches[3].vulnerability.severity",
            id="wrong-type",
        ),
        pytest.param(
            grype(_no_artifact_name),
            None,
            422,
            "invalid_scan_report",
            "matches[0].artifact.name",
            id="missing-member",
        ),
        pytest.param(b"Report Summary", None, 422, "invalid_scan_report", None, id="not-json"),
        pytest.param(b'{"packages": []}', None, 422, "invalid_scan_report", None, id="unknown"),
        pytest.param(
            fixture("trivy"), {"format": "grype"}, 422, "invalid_scan_report", "matches", id="trivy"
        ),
        pytest.param(
            fixture("grype"), {"format": "snyk"}, 422, "invalid_parameter", "format", id="format"
        ),
        pytest.param(
            fixture("grype"), {"fromat": "grype"}, 422, "invalid_parameter", "fromat", id="param"
        ),
    ],
)
async def test_a_refused_report_says_why_and_leaves_no_trace(
    live_server: LiveServer,
    token: str,
    document: bytes,
    params: dict[str, str] | None,
    status: int,
    code: str,
    field: str | None,
) -> None:
    answer = await post_scan(live_server, token, document, params=params)
    assert_error(answer, status, code, field)
    assert (await show(live_server, token)).body["scan"] is None


async def test_a_report_of_another_image_is_refused(live_server: LiveServer, token: str) -> None:
    answer = await post_scan(live_server, token, fixture("trivy"), digest=OTHER)
    assert_error(answer, 422, "scan_digest_mismatch", "digest")
    assert f"ghcr.io/acme/api@{INDEX}" in answer.body["error"]["message"]
    assert (await show(live_server, token, OTHER)).body["scan"] is None


@pytest.mark.parametrize(
    ("method", "suffix"), [("GET", ""), ("POST", "/scans"), ("POST", "/provenance")]
)
@pytest.mark.parametrize("digest", ["sha256:15d37e6e", "latest", "md5:0123456789abcdef"])
async def test_a_malformed_digest_is_refused_before_the_body_is_read(
    live_server: LiveServer, token: str, method: str, suffix: str, digest: str
) -> None:
    answer = await live_server.call(
        method,
        f"/api/v1/evidence/{digest}{suffix}",
        token=token,
        data=b"not even JSON" if method == "POST" else None,
        headers={"Content-Type": "application/json"},
    )
    assert_error(answer, 422, "invalid_reference", "digest")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"source_repo": "https://github.com/acme/api"}, "source_repo"),
        ({"commit": "main"}, "commit"),
        ({"labels": {"build": 42}}, "labels.build"),
        ({}, None),
    ],
)
async def test_refused_provenance_names_the_member_at_fault(
    live_server: LiveServer, token: str, body: dict[str, Any], field: str | None
) -> None:
    path = f"/api/v1/evidence/{INDEX}/provenance"
    answer = await live_server.call("POST", path, token=token, json=body)
    assert_error(answer, 422, "invalid_provenance", field)
    assert (await show(live_server, token)).body["provenance"] is None


async def test_scan_reports_may_be_larger_than_other_bodies(
    live_server: LiveServer, token: str
) -> None:
    large = grype(matches=400)
    assert 16 * 1024 < len(large) < MAX_SCAN_BYTES
    answer = await post_scan(live_server, token, large)
    assert answer.status == 201, answer.body
    assert answer.body["counts"]["total"] == 400

    too_large = grype(matches=1600)
    assert len(too_large) > MAX_SCAN_BYTES
    assert_error(await post_scan(live_server, token, too_large), 413, "body_too_large", None)

    padded = {**PROVENANCE, "labels": {f"label-{n}": "x" * 100 for n in range(200)}}
    answer = await live_server.call(
        "POST", f"/api/v1/evidence/{INDEX}/provenance", token=token, json=padded
    )
    assert_error(answer, 413, "body_too_large", None)


async def test_bodies_must_be_json(live_server: LiveServer, token: str) -> None:
    answer = await post_scan(live_server, token, fixture("grype"), content_type="text/plain")
    assert_error(answer, 415, "unsupported_media_type", None)
    cyclonedx = "application/vnd.cyclonedx+json"
    answer = await post_scan(live_server, token, fixture("cyclonedx"), content_type=cyclonedx)
    assert answer.status == 201, answer.body
    assert_error(await post_scan(live_server, token, b""), 400, "empty_body", None)


async def test_posting_needs_write_and_reading_needs_read(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    reader = await make_token(Scope.READ)
    writer = await make_token(Scope.WRITE)
    answer = await post_scan(live_server, reader, fixture("grype"))
    assert_error(answer, 403, "insufficient_scope", None)
    answer = await live_server.call(
        "POST", f"/api/v1/evidence/{INDEX}/provenance", token=reader, json=PROVENANCE
    )
    assert_error(answer, 403, "insufficient_scope", None)
    assert_error(await show(live_server, writer), 403, "insufficient_scope", None)
    answer = await live_server.call("GET", f"/api/v1/evidence/{INDEX}")
    assert_error(answer, 401, "unauthenticated", None)
    assert (await post_scan(live_server, writer, fixture("grype"))).status == 201
    assert (await show(live_server, reader)).body["scan"]["scanner"] == "grype 0.84.0"


# --- Scan history and retirement ------------------------------------------------


async def scan_list(server: LiveServer, token: str, digest: str = INDEX) -> Answer:
    answer = await server.call("GET", f"/api/v1/evidence/{digest}/scans", token=token)
    if answer.status == 200:
        documented(component("ScanListOut"), answer.body)
    return answer


async def retire(
    server: LiveServer, token: str, scan_id: object, body: object, digest: str = INDEX
) -> Answer:
    path = f"/api/v1/evidence/{digest}/scans/{scan_id}/retire"
    return await server.call("POST", path, token=token, json=body)


def future_grype(scanned_at: str) -> bytes:
    """The Grype fixture with no findings, dated ``scanned_at`` by the scanner's clock."""

    def clean(document: dict[str, Any]) -> None:
        document["matches"] = []
        document["descriptor"]["timestamp"] = scanned_at

    return grype(clean)


async def test_an_operator_retires_a_scan_and_the_one_before_counts_again(
    live_server: LiveServer, token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (await scan_list(live_server, token)).body == {"digest": INDEX, "items": []}
    assert (await post_scan(live_server, token, fixture("grype"))).status == 201
    # A clean report of a broken scanner run, dated later, counts...
    ahead = (await show(live_server, token)).body["scan"]["scanned_at"][:11] + "23:59:00Z"
    posted = await post_scan(live_server, token, future_grype(ahead))
    assert posted.status == 201, posted.body
    listed = (await scan_list(live_server, token)).body["items"]
    assert [item["counting"] for item in listed] == [True, False]
    assert [item["counts"]["total"] for item in listed] == [0, 5]
    clean, critical = listed
    # ...until it is retired: the scan with findings is the evidence again.
    answer = await retire(live_server, token, clean["id"], {"reason": "  clock ran ahead  "})
    assert answer.status == 200, answer.body
    documented(component("StoredScanOut"), answer.body)
    assert answer.body["retirement"]["reason"] == "clock ran ahead"
    assert answer.body["counting"] is False
    assert (await show(live_server, token)).body["scan"]["counts"]["total"] == 5
    listed = (await scan_list(live_server, token)).body["items"]
    assert [(item["id"], item["counting"]) for item in listed] == [
        (clean["id"], False),
        (critical["id"], True),
    ]
    assert listed[0]["retirement"] == answer.body["retirement"]
    logged = capsys.readouterr().out
    assert "scan_retired" in logged
    assert "retired_by='test (" in logged


async def test_a_refused_retirement_says_why_and_changes_nothing(
    live_server: LiveServer, token: str
) -> None:
    assert (await post_scan(live_server, token, fixture("grype"))).status == 201
    [only] = (await scan_list(live_server, token)).body["items"]
    cases = [
        (only["id"] + 1, {"reason": "x"}, 404, "scan_not_found", "id"),
        ("latest", {"reason": "x"}, 422, "invalid_parameter", "id"),
        ("0", {"reason": "x"}, 422, "invalid_parameter", "id"),
        ("99999999999999999999", {"reason": "x"}, 422, "invalid_parameter", "id"),
        (only["id"], {}, 422, "invalid_field", "reason"),
        (only["id"], {"reason": "   "}, 422, "invalid_field", "reason"),
        (only["id"], {"reason": "a\nb"}, 422, "invalid_field", "reason"),
        (only["id"], {"reason": "x" * 1025}, 422, "invalid_field", "reason"),
        (only["id"], {"reason": 7}, 422, "invalid_field", "reason"),
        (only["id"], {"reason": "x", "by": "me"}, 422, "invalid_field", "by"),
        (only["id"], ["x"], 422, "invalid_field", None),
    ]
    for scan_id, body, status, code, field in cases:
        assert_error(await retire(live_server, token, scan_id, body), status, code, field)
    answer = await retire(live_server, token, only["id"], {"reason": "x"}, digest="sha256:15d3")
    assert_error(answer, 422, "invalid_reference", "digest")
    answer = await retire(live_server, token, only["id"], {"reason": "x"}, digest=OTHER)
    assert_error(answer, 404, "scan_not_found", "id")
    [unchanged] = (await scan_list(live_server, token)).body["items"]
    assert unchanged == only
    assert (await retire(live_server, token, only["id"], {"reason": "first"})).status == 200
    again = await retire(live_server, token, only["id"], {"reason": "second"})
    assert_error(again, 409, "scan_retired", "id")
    assert again.body["error"]["message"].endswith(": first")
    assert (await show(live_server, token)).body["scan"] is None


async def test_retiring_needs_write_and_listing_needs_read(
    live_server: LiveServer, make_token: TokenFactory
) -> None:
    reader = await make_token(Scope.READ)
    writer = await make_token(Scope.WRITE)
    assert (await post_scan(live_server, writer, fixture("grype"))).status == 201
    assert_error(await scan_list(live_server, writer), 403, "insufficient_scope", None)
    [only] = (await scan_list(live_server, reader)).body["items"]
    answer = await retire(live_server, reader, only["id"], {"reason": "x"})
    assert_error(answer, 403, "insufficient_scope", None)
    assert (await retire(live_server, writer, only["id"], {"reason": "x"})).status == 200


async def test_the_documented_scan_history_examples_have_the_served_shape(
    live_server: LiveServer, token: str
) -> None:
    listing = operation("get", "/api/v1/evidence/{digest}/scans")["responses"]["200"]
    example = listing["content"]["application/json"]["example"]
    documented(component("ScanListOut"), example)
    assert (await post_scan(live_server, token, fixture("grype"))).status == 201
    served = (await scan_list(live_server, token)).body
    assert set(served["items"][0]) == set(example["items"][0])
    retirement = operation("post", "/api/v1/evidence/{digest}/scans/{id}/retire")
    body = retirement["requestBody"]["content"]["application/json"]["example"]
    answer = await retire(live_server, token, served["items"][0]["id"], body)
    shown = retirement["responses"]["200"]["content"]["application/json"]["example"]
    assert set(answer.body) == set(shown)
    assert answer.body["retirement"]["reason"] == shown["retirement"]["reason"]
