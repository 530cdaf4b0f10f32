"""Where in a decoded document (JSON, YAML) msgspec found a problem, as a path people
can read: what the API, the policy loader and the report parsers all name in errors."""

from __future__ import annotations

import re

import msgspec

# msgspec ends its messages with " - at `$.matches[3].vulnerability`".
_LOCATION = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
# For a missing or unknown field, msgspec names the object; the field itself is in the text.
_NAMED_FIELD = re.compile(r"(?:missing required|unknown) field `(?P<name>[^`]+)`")


def locate(error: msgspec.ValidationError) -> tuple[str, str | None, str | None]:
    """The message without its location, the field at fault, and where msgspec was.

    The field at fault of a missing or unknown member is that member, e.g.
    ``matches[0].vulnerability.id``; msgspec was in the object holding it,
    ``matches[0].vulnerability``. ``None`` stands for the top of the document.
    """
    text = str(error)
    match = _LOCATION.search(text)
    at = (match.group("path") if match else "") or None
    message = text[: match.start()] if match else text
    named = _NAMED_FIELD.search(message)
    if named:
        name = named.group("name")
        return message, f"{at}.{name}" if at else name, at
    return message, at, at
