from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from benchmarks.webhook.corpus import build_corpus
from benchmarks.webhook.enforce import (
    ALLOWED_REGISTRIES,
    corpus_images,
    kopf_rules,
    policy_yaml,
    write_scans,
)
from benchmarks.webhook.peer_kopf import image_violations, load_rules

from imagegate.policy import Patterns, load_policies
from imagegate.tracking import parse_reference

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def corpus_file(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.json"
    path.write_bytes(msgspec.json.encode(build_corpus(seed=20240521, workloads=150)))
    return path


def test_imagegate_loads_the_enforce_policy(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(policy_yaml())

    (policy,) = load_policies(path)

    assert policy.name == "bench-enforce"


def test_every_corpus_image_comes_from_an_allowed_registry(tmp_path: Path) -> None:
    allowed = Patterns.compile(ALLOWED_REGISTRIES)
    images = corpus_images(corpus_file(tmp_path))

    refused = [i for i in images.values() if not allowed.matches(parse_reference(i).repository)]

    assert len(images) > 100
    assert refused == []


def test_the_kopf_peer_admits_every_corpus_image_with_the_scans(tmp_path: Path) -> None:
    images = corpus_images(corpus_file(tmp_path))
    reports = write_scans(images, tmp_path / "scans", now=NOW)
    rules_path = tmp_path / "rules.json"
    rules_path.write_text(json.dumps(kopf_rules(tmp_path / "scans")))

    rules = load_rules(rules_path)

    assert set(reports) == set(images) == set(rules.scans)
    assert [image_violations(image, rules, NOW) for image in images.values()] == [
        [] for _ in images
    ]
