"""The parser's sub-commands and the command table are the same set, so that no
command can be parsed and then found to have no handler (or the other way round)."""

from __future__ import annotations

import argparse

from imagegate.cli._commands import COMMANDS
from imagegate.cli._parser import build_parser


def _command_names(parser: argparse.ArgumentParser, prefix: str = "") -> set[str]:
    names: set[str] = set()
    for action in parser._actions:  # argparse offers no public walk of sub-parsers
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                words = f"{prefix} {name}".strip()
                nested = _command_names(sub, words)
                names |= nested or {words}
    return names


def test_every_parsed_command_has_a_handler_and_every_handler_a_command() -> None:
    assert _command_names(build_parser()) == set(COMMANDS) | {"serve"}
