"""``imagegate`` command line: a thin layer over the tracking core or a remote server.

Exit codes: 0 success; 1 the request was refused (invalid input, conflict, not
found); 2 usage error; 3 the store or server is unavailable.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import urllib.parse
from collections.abc import Sequence

from imagegate.cli._backend import Backend, CliError, CommandFailed, LocalBackend, RemoteBackend
from imagegate.cli._commands import COMMANDS, BackendCommand, StandaloneCommand, creates_store
from imagegate.cli._parser import build_parser
from imagegate.cli._serve import run_serve
from imagegate.errors import ImagegateError, RefusedError

EXIT_REFUSED = 1
EXIT_UNAVAILABLE = 3


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    arguments = build_parser().parse_args(argv)
    try:
        output = _execute(arguments)
    except KeyboardInterrupt:
        return 130
    except CommandFailed as failure:
        print(failure.output)
        return failure.exit_code
    except ImagegateError as error:
        message = error.message.strip()
        first_line = message.splitlines()[0] if message else "failed"
        print(f"imagegate: error: {first_line}", file=sys.stderr)
        return exit_code_of(error)
    if output:
        print(output)
    return 0


def exit_code_of(error: ImagegateError) -> int:
    """1 for a refusal the user can correct, 3 for a failure that is not theirs."""
    if isinstance(error, CliError):
        return error.exit_code
    return EXIT_REFUSED if isinstance(error, RefusedError) else EXIT_UNAVAILABLE


def _execute(arguments: argparse.Namespace) -> str | None:
    if arguments.command_name == "serve":
        run_serve(arguments)
        return None
    return asyncio.run(_run(arguments.command_name, arguments))


async def _run(name: str, arguments: argparse.Namespace) -> str | None:
    command = COMMANDS[name]
    if isinstance(command, StandaloneCommand):
        if command.local_store_only and arguments.server:
            raise CliError(f"'{name}' works on the local store only")
        return await command.run(arguments)
    backend = _backend(name, command, arguments)
    try:
        return await command.run(arguments, backend)
    finally:
        await backend.close()


def _backend(name: str, command: BackendCommand, arguments: argparse.Namespace) -> Backend:
    if command.server_only and not arguments.server:
        raise CliError(
            f"'{name}' asks a running server (what its cluster watch "
            "holds is in no store): give --server URL"
        )
    if arguments.server:
        if not arguments.server.startswith(("http://", "https://")):
            raise CliError(f"--server must be an http:// or https:// URL, not {arguments.server!r}")
        try:
            urllib.parse.urlsplit(arguments.server).port  # noqa: B018 - validates host and port
        except ValueError as error:
            raise CliError(f"--server {arguments.server!r}: {error}") from None
        token = os.environ.get("IMAGEGATE_TOKEN")
        if not token:
            raise CliError("set IMAGEGATE_TOKEN to an API key to use --server")
        return RemoteBackend(arguments.server, token=token, ca_file=arguments.ca_file)
    return LocalBackend(arguments.store, create=creates_store(arguments))


__all__ = ["main"]
