"""A real PostgreSQL server: a throwaway cluster, or one the environment provides.

With ``IMAGEGATE_TEST_POSTGRES_URL`` set (a superuser or a role that may create
databases), that server is used. Otherwise the first caller that needs one starts
a cluster with Debian's binaries (``apt-get install -y postgresql``) in a temporary
directory: trust authentication, listening on a free loopback port only, without
fsync (nothing here must survive a crash; ``LocalCluster.restart`` turns durability
on for a benchmark). As root it runs as the ``postgres`` OS user, since PostgreSQL
refuses to run as root. It is stopped and deleted when the process exits.

Each process gets its own database (``session_server``), and each store a test opens
its own schema in it (``fresh_store_url``), so that tests never see each other's
records and need not wait for a ``CREATE DATABASE`` each.

Without a server and without the binaries, ``PostgresUnavailable`` says why; the
tests skip on it (``tests/support/postgres.py``), a benchmark stops.
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]

from testbed.processes import free_port

URL_VARIABLE = "IMAGEGATE_TEST_POSTGRES_URL"
_DEBIAN_ROOT = Path("/usr/lib/postgresql")
_START_TIMEOUT_S = 60
_OS_USER = "postgres"


# Not a RuntimeError: ``session_server`` remembers start failures, and this is none.
class PostgresUnavailable(Exception):
    """No server is set and none can be started here; the message says what to install."""


def postgres_bin_dir() -> Path | None:
    """The ``bin`` directory of the newest PostgreSQL installed the Debian way."""
    candidates = [
        path / "bin"
        for path in _DEBIAN_ROOT.glob("*")
        if path.name.isdigit() and (path / "bin" / "pg_ctl").exists()
    ]
    return max(candidates, key=lambda path: int(path.parent.name), default=None)


@dataclass
class LocalCluster:
    """One PostgreSQL cluster in ``work_dir``, started and stopped with ``pg_ctl``."""

    bin_dir: Path
    work_dir: Path
    port: int = 0

    @property
    def data_dir(self) -> Path:
        return self.work_dir / "data"

    @property
    def log_path(self) -> Path:
        return self.work_dir / "postgres.log"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        owner = _os_user_if_root()
        if owner is not None:
            os.chown(self.work_dir, owner.pw_uid, owner.pw_gid)
        self._run(
            "initdb",
            "--pgdata",
            str(self.data_dir),
            "--username",
            "postgres",
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
        )
        last_error = ""
        for _ in range(3):  # a free port may be taken by the time the server binds it
            self.port = free_port()
            options = self._options()
            completed = self._run(
                "pg_ctl",
                "start",
                "--pgdata",
                str(self.data_dir),
                "--log",
                str(self.log_path),
                "--options",
                options,
                "--wait",
                "--timeout",
                str(_START_TIMEOUT_S),
                check=False,
            )
            if completed.returncode == 0:
                return
            last_error = completed.stdout + completed.stderr + self.log_tail()
        raise RuntimeError(f"PostgreSQL did not start:\n{last_error}")

    def stop_server(self) -> None:
        """Stop the server (``pg_ctl stop -m fast``), keeping its data for ``start_server``."""
        self._run("pg_ctl", "stop", "--pgdata", str(self.data_dir), "--mode", "fast", "--wait")

    def start_server(self) -> None:
        """Start a server stopped by ``stop_server`` again, on the same port."""
        self._run(
            "pg_ctl",
            "start",
            "--pgdata",
            str(self.data_dir),
            "--log",
            str(self.log_path),
            "--options",
            self._options(),
            "--wait",
            "--timeout",
            str(_START_TIMEOUT_S),
        )

    def restart(self, *, durable: bool) -> None:
        """Restart the server (``pg_ctl restart -m fast``) on the same port; ``durable``
        turns ``fsync``, ``synchronous_commit`` and ``full_page_writes`` on."""
        self._run(
            "pg_ctl",
            "restart",
            "--pgdata",
            str(self.data_dir),
            "--mode",
            "fast",
            "--log",
            str(self.log_path),
            "--wait",
            "--options",
            self._options(durable=durable),
        )

    def _options(self, *, durable: bool = False) -> str:
        durability = "on" if durable else "off"
        return " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.work_dir}",
                f"-c fsync={durability}",
                f"-c synchronous_commit={durability}",
                f"-c full_page_writes={durability}",
                "-c max_connections=300",
            ]
        )

    def stop(self) -> None:
        if self.data_dir.exists():
            self._run(
                "pg_ctl", "stop", "--pgdata", str(self.data_dir), "--mode", "immediate", check=False
            )
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _run(
        self, program: str, *arguments: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / program), *arguments]
        if _os_user_if_root() is not None:
            command = ["runuser", "-u", _OS_USER, "--", *command]
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=_START_TIMEOUT_S + 30,
            check=False,
            cwd=self.work_dir,
        )
        if check and completed.returncode != 0:
            raise RuntimeError(
                f"{program} failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}"
            )
        return completed


def _os_user_if_root() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(_OS_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root and there is no {_OS_USER!r} OS user to run PostgreSQL as: "
            "`apt-get install -y postgresql` creates it"
        ) from None


@dataclass
class SessionServer:
    """A PostgreSQL server and the database of this process on it."""

    admin_url: str
    database: str
    cluster: LocalCluster | None = None

    @property
    def url(self) -> str:
        """The session database."""
        return _with_database(self.admin_url, self.database)


_server: SessionServer | None = None
_start_failure: BaseException | None = None
_schemas = itertools.count(1)


async def session_server() -> SessionServer:
    """The server of this process, started (and its database created) on first use."""
    global _server, _start_failure  # noqa: PLW0603
    if _server is not None:
        return _server
    if _start_failure is not None:
        raise RuntimeError("the PostgreSQL server failed to start before") from _start_failure
    try:
        _server = await _start_server()
    except (OSError, RuntimeError, subprocess.SubprocessError, asyncpg.PostgresError) as error:
        _start_failure = error
        raise
    return _server


async def _start_server() -> SessionServer:
    cluster: LocalCluster | None = None
    admin_url = os.environ.get(URL_VARIABLE)
    if not admin_url:
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            raise PostgresUnavailable(
                f"PostgreSQL is not installed and {URL_VARIABLE} is not set: "
                "`apt-get install -y postgresql` (a cluster of its own is started) "
                "or point the variable at a server"
            )
        cluster = LocalCluster(bin_dir, Path(tempfile.mkdtemp(prefix="imagegate-postgres-")))
        atexit.register(cluster.stop)
        cluster.start()
        admin_url = cluster.admin_url
    database = f"imagegate_test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(admin_url, timeout=30)
    try:
        await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()
    if cluster is None:
        atexit.register(_drop_database, admin_url, database)
    return SessionServer(admin_url=admin_url, database=database, cluster=cluster)


async def fresh_store_url() -> str:
    """The URL of an empty schema of its own in the session database."""
    server = await session_server()
    schema = f"t{os.getpid()}_{next(_schemas)}"
    connection = await asyncpg.connect(server.url, timeout=30)
    try:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await connection.close()
    return with_search_path(server.url, schema)


async def fresh_database_url() -> str:
    """The URL of a new, empty database (for what a schema cannot show, e.g. migrations)."""
    server = await session_server()
    database = f"{server.database}_{next(_schemas)}"
    connection = await asyncpg.connect(server.admin_url, timeout=30)
    try:
        await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()
    if server.cluster is None:
        atexit.register(_drop_database, server.admin_url, database)
    return _with_database(server.admin_url, database)


def with_search_path(url: str, schema: str) -> str:
    """``url`` with a ``search_path`` server setting (asyncpg passes unknown parameters on)."""
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode({"search_path": schema})]))
    return urlunsplit(parts._replace(query=query))


def _with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def _drop_database(admin_url: str, database: str) -> None:
    async def drop() -> None:
        connection = await asyncpg.connect(admin_url, timeout=30)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await connection.close()

    try:
        asyncio.run(drop())
    except (OSError, asyncpg.PostgresError) as error:
        print(f"could not drop test database {database!r}: {error}")
