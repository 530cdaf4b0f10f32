"""The webhook's objectSelector, applied by the cluster watch: matching and bad input."""

from __future__ import annotations

import pytest

from imagegate.cluster import SelectorError, parse_selector


def test_the_empty_selector_matches_everything() -> None:
    assert parse_selector("").matches({})
    assert parse_selector("{}").matches({"app": "web"})


def test_labels_and_expressions_all_apply() -> None:
    selector = parse_selector(
        '{"matchLabels": {"team": "shop"}, "matchExpressions": ['
        '{"key": "tier", "operator": "In", "values": ["web", "api"]},'
        '{"key": "legacy", "operator": "DoesNotExist"},'
        '{"key": "stage", "operator": "NotIn", "values": ["test"]},'
        '{"key": "owner", "operator": "Exists"}]}'
    )
    assert selector.matches({"team": "shop", "tier": "web", "owner": "a"})
    assert not selector.matches({"team": "shop", "tier": "db", "owner": "a"})
    assert not selector.matches({"team": "shop", "tier": "web", "owner": "a", "legacy": "1"})
    assert not selector.matches({"team": "shop", "tier": "web", "owner": "a", "stage": "test"})
    assert not selector.matches({"team": "shop", "tier": "web"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not JSON"),
        ("[]", "a selector is an object with matchLabels and/or matchExpressions"),
        ('{"matchLabel": {}}', "unknown field 'matchLabel': matchLabels, matchExpressions"),
        ('{"matchLabels": ["a"]}', "matchLabels maps label keys to values"),
        ('{"matchExpressions": {}}', "matchExpressions is a list"),
        ('{"matchExpressions": [{"operator": "In"}]}', "matchExpressions[0]: needs a key"),
        (
            '{"matchExpressions": [{"key": "a", "operator": "Equals"}]}',
            "matchExpressions[0]: operator 'Equals': one of DoesNotExist, Exists, In, NotIn",
        ),
        ('{"matchExpressions": [{"key": "a", "operator": "In"}]}', "In needs values"),
        (
            '{"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}',
            "Exists takes no values",
        ),
    ],
)
def test_a_bad_selector_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(SelectorError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_selector(text)
