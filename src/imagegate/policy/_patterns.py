"""Glob patterns of policies, compiled once when a policy is loaded."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from imagegate.errors import InvalidInputError


class PatternError(InvalidInputError):
    """A pattern that cannot be compiled."""


@dataclass(frozen=True, slots=True)
class Patterns:
    """Any of several globs: ``*`` matches within a path segment, ``**`` across
    segments, ``?`` one character. Empty: matches nothing."""

    texts: tuple[str, ...]
    _compiled: re.Pattern[str] | None

    @classmethod
    def compile(cls, texts: Iterable[str]) -> Patterns:
        texts = tuple(texts)
        for text in texts:
            if not text:
                raise PatternError("an empty pattern matches nothing; remove it")
        if not texts:
            return cls((), None)
        alternatives = "|".join(_translate(text) for text in texts)
        return cls(texts, re.compile(f"(?:{alternatives})\\Z"))

    def matches(self, value: str) -> bool:
        return self._compiled is not None and self._compiled.match(value) is not None

    def __str__(self) -> str:
        return ", ".join(self.texts)


def _translate(pattern: str) -> str:
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            parts.append(".*")
            index += 2
        elif char == "*":
            parts.append("[^/]*")
            index += 1
        elif char == "?":
            parts.append("[^/]")
            index += 1
        else:
            parts.append(re.escape(char))
            index += 1
    return "".join(parts)
