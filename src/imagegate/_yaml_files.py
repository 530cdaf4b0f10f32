"""Reading the YAML files operators hand imagegate (policies, manifests): bounded in
size, every failure a reason to show rather than an exception of the parser's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from imagegate._bounded import TooLargeError, read_at_most
from imagegate.errors import InvalidInputError

MAX_YAML_BYTES = 64 * 1024 * 1024
"""The largest YAML file read: far beyond any real one (etcd stores objects of 1.5 MiB),
small enough that ``-f /dev/zero`` is an error, not an exhausted memory."""


class YamlFileError(InvalidInputError):
    """A YAML file that cannot be read or parsed; the message says why, without the
    file's name (the caller places it)."""


def load_yaml_documents(file: Path, *, holding: str) -> list[Any]:
    """Every document of ``file``, in order (an empty one as None); ``holding`` names
    what the file holds, for the reason a too deeply nested one is refused."""
    try:
        with file.open("rb") as stream:
            data = read_at_most(stream, MAX_YAML_BYTES)
    except OSError as error:
        raise YamlFileError(f"cannot be read: {error.strerror}") from None
    except TooLargeError as error:
        raise YamlFileError(str(error)) from None
    try:
        return list(yaml.safe_load_all(data.decode("utf-8")))
    except UnicodeDecodeError as error:
        raise YamlFileError(f"is not UTF-8 text ({error.reason} at byte {error.start})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise YamlFileError(f"is not valid YAML{where}: {problem}") from None
    except ValueError as error:
        # A value YAML cannot build, such as the date 2025-02-30.
        raise YamlFileError(f"cannot be read: {error}") from None
    except RecursionError:
        raise YamlFileError(f"is nested too deeply to be {holding}") from None
