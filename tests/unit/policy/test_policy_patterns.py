"""Glob patterns of policies: repositories, namespaces, builders, label values."""

from __future__ import annotations

import pytest

from imagegate.policy import PatternError, Patterns


def matches(pattern: str, value: str) -> bool:
    return Patterns.compile([pattern]).matches(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ghcr.io/acme/web", True),
        ("ghcr.io/acme/", True),  # * may match nothing
        ("ghcr.io/acme/team/web", False),  # * stays within a path segment
        ("ghcr.io/acme", False),
        ("ghcr.io/acmex/web", False),
    ],
)
def test_star_matches_within_one_segment(value: str, expected: bool) -> None:
    assert matches("ghcr.io/acme/*", value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ghcr.io/acme/web", True),
        ("ghcr.io/acme/team/deep/web", True),
        ("ghcr.io/acme", False),  # the slash before ** is literal
        ("ghcr.io/other/web", False),
    ],
)
def test_double_star_matches_across_segments(value: str, expected: bool) -> None:
    assert matches("ghcr.io/acme/**", value) is expected


def test_double_star_alone_matches_everything() -> None:
    assert all(matches("**", value) for value in ("", "a", "a/b/c", "docker.io/library/nginx"))


def test_double_star_in_the_middle() -> None:
    assert matches("registry.example.com/**/base", "registry.example.com/a/b/base")
    assert matches("registry.example.com/**/base", "registry.example.com/a/base")
    assert not matches("registry.example.com/**/base", "registry.example.com/base")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("team-a", True), ("team-7", True), ("team-", False), ("team-ab", False), ("team-/", False)],
)
def test_question_mark_matches_one_character_but_a_slash(value: str, expected: bool) -> None:
    assert matches("team-?", value) is expected


@pytest.mark.parametrize(
    ("pattern", "literal", "other"),
    [
        ("docker.io/library/nginx", "docker.io/library/nginx", "dockerxio/library/nginx"),
        ("a+b", "a+b", "aab"),
        ("(x)|y", "(x)|y", "y"),
        ("[ab]", "[ab]", "a"),
        ("^v1$", "^v1$", "v1"),
        ("a\\d", "a\\d", "a1"),
    ],
)
def test_everything_else_is_literal(pattern: str, literal: str, other: str) -> None:
    assert matches(pattern, literal)
    assert not matches(pattern, other)


def test_a_pattern_matches_the_whole_value() -> None:
    assert not matches("ghcr.io/acme", "ghcr.io/acme/web")
    assert not matches("acme/web", "ghcr.io/acme/web")
    assert not matches("abc", "abc\n")


def test_patterns_are_case_sensitive() -> None:
    assert not matches("ghcr.io/acme/*", "GHCR.io/acme/web")


def test_any_of_several_patterns_matches() -> None:
    patterns = Patterns.compile(["ghcr.io/acme/**", "docker.io/library/*", "quay.io/x"])
    assert patterns.matches("ghcr.io/acme/a/b")
    assert patterns.matches("docker.io/library/nginx")
    assert patterns.matches("quay.io/x")
    assert not patterns.matches("quay.io/y")


def test_no_patterns_match_nothing() -> None:
    nothing = Patterns.compile([])
    assert nothing.texts == ()
    assert not nothing.matches("")
    assert not nothing.matches("ghcr.io/acme/web")
    assert str(nothing) == ""


@pytest.mark.parametrize("texts", [[""], ["ghcr.io/**", ""]])
def test_an_empty_pattern_is_refused(texts: list[str]) -> None:
    with pytest.raises(PatternError, match=r"^an empty pattern matches nothing; remove it$"):
        Patterns.compile(texts)


def test_patterns_read_as_they_were_written() -> None:
    patterns = Patterns.compile(iter(["ghcr.io/acme/**", "team-?"]))
    assert patterns.texts == ("ghcr.io/acme/**", "team-?")
    assert str(patterns) == "ghcr.io/acme/**, team-?"


def test_a_pattern_error_is_a_value_error() -> None:
    assert issubclass(PatternError, ValueError)
