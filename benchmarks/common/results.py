"""Results files as JSON documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_json(path: Path, document: dict[str, Any]) -> None:
    """``document`` as indented JSON in ``path`` (its directory made if need be);
    values JSON has no type for (datetimes) as their ``str``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
