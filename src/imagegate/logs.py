"""Structured JSON logs on stderr, one event a line, with credentials scrubbed.

Every line is JSON, imagegate's own (structlog) and everybody else's (aiohttp,
asyncio, Python's warnings) alike: foreign stdlib records go through structlog's
ProcessorFormatter. And no line carries a credential: API tokens and whatever
follows ``Bearer`` or ``Basic`` are replaced, wherever they appear (an event's
fields, a message, a traceback: aiohttp's "bad header" errors quote the header).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

_REDACTED = "[redacted]"
_CREDENTIALS = re.compile(
    r"igk_[^\s'\"\\,;]+"  # an imagegate API token, whole
    r"|(?i:\b(?:bearer|basic)\s+)[^\s'\"\\,;]+"  # an Authorization header's credentials
)


def redact(text: str) -> str:
    """``text`` with every credential in it replaced."""
    return _CREDENTIALS.sub(_keep_scheme, text)


def _keep_scheme(match: re.Match[str]) -> str:
    found = match.group(0)
    scheme, space, _ = found.partition(" ")
    if space and scheme.lower() in ("bearer", "basic"):
        return f"{scheme} {_REDACTED}"
    return _REDACTED


def _redact_event(logger: Any, method: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    return {key: _redacted(value) for key, value in event.items()}


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    return value


def configure_logging(level: str = "info") -> None:
    """Send structlog and stdlib logging (aiohttp's) as JSON lines to stderr."""
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    rendering: list[structlog.typing.Processor] = [
        structlog.processors.format_exc_info,
        _redact_event,
        structlog.processors.JSONRenderer(),
    ]
    structlog.configure(
        processors=[*shared, *rendering],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *rendering],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric_level)
    logging.captureWarnings(True)
