"""The servers under load, as processes: how each is started, known ready, and stopped.

Every server listens on a free loopback port with the run's serving certificate
(ECDSA P-256 from ``imagegate.tls``), writes its log into the run's directory, and
is stopped with SIGTERM (SIGKILL after a grace period, ``testbed.processes``).
"""

from __future__ import annotations

import os
import shlex
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from testbed.processes import free_port, stop_process

from benchmarks.common.paths import REPO_DIR
from imagegate.tls import CertificatePaths

FLOOR, KOPF, AUDIT, ENFORCE = "floor", "kopf", "imagegate-audit", "imagegate-enforce"
SERVERS = (FLOOR, KOPF, AUDIT, ENFORCE)
"""Every server the run can measure, in the order it measures them."""
IMAGEGATE = (AUDIT, ENFORCE)
"""imagegate's two scenarios; the others are its baselines."""
CLUSTER = "bench"
"""The environment (``--cluster-name``) imagegate records admitted deployments in."""

_READY_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ServerSpec:
    """How to start one server."""

    name: str
    description: str
    command: list[str]
    ready_path: str
    """Polled until it answers ``ready_status``."""
    ready_status: int = 200
    port: int = field(default_factory=free_port)
    listen_flags: bool = True
    """Whether it takes ``--listen``, ``--tls-cert`` and ``--tls-key`` (kopf does not)."""
    env: dict[str, str] = field(default_factory=dict)
    """Set on top of this process's environment, less ``IMAGEGATE_*`` and ``KUBECONFIG``."""
    cwd: Path | None = None
    """Where it runs: the run's directory unless it must import from the repository."""
    store: Path | None = None
    """imagegate's SQLite store, to verify what it recorded."""
    spool: Path | None = None


@dataclass
class Server:
    """A server process started by this run."""

    spec: ServerSpec
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.spec.port}"

    @property
    def records(self) -> bool:
        """Whether it records admitted deployments (imagegate), so it may be busy after load."""
        return self.spec.spool is not None


def floor_spec(*, parser: str, loop: str) -> ServerSpec:
    """The bare aiohttp TLS webhook (``floor.py``)."""
    return ServerSpec(
        name=FLOOR,
        description=f"benchmarks/webhook/floor.py: aiohttp, parses the review ({parser}), allows",
        command=[
            sys.executable,
            "-m",
            "benchmarks.webhook.floor",
            "--parser",
            parser,
            "--loop",
            loop,
        ],
        ready_path="/healthz",
        cwd=REPO_DIR,
    )


def imagegate_spec(
    *,
    name: str,
    work: Path,
    require_digest: str,
    policies: Path | None,
    extra_args: Sequence[str],
) -> ServerSpec:
    """``imagegate serve`` with its own SQLite store and spool in ``work``."""
    work.mkdir(parents=True, exist_ok=True)
    store, spool = work / "store.db", work / "spool.db"
    arguments = [
        "--store",
        f"sqlite:///{store}",
        "--spool",
        str(spool),
        "--no-namespace-labels",
        "--cluster-name",
        CLUSTER,
        "--require-digest",
        require_digest,
        "--log-level",
        "warning",
    ]
    if policies is not None:
        arguments += ["--policies", str(policies)]
    arguments += list(extra_args)
    return ServerSpec(
        name=name,
        # The temporary directory's name changes from run to run; the description should not.
        description="imagegate serve " + shlex.join(arguments).replace(str(work.parent), "$WORK"),
        command=[sys.executable, "-m", "imagegate", "serve", *arguments],
        ready_path="/readyz",
        store=store,
        spool=spool,
    )


def kopf_spec(*, kubeconfig: Path, rules: Path, tls: CertificatePaths) -> ServerSpec:
    """The kopf peer (``peer_kopf.py``) as ``kopf run`` starts a handlers module."""
    port = free_port()
    return ServerSpec(
        name=KOPF,
        description="kopf run --standalone --all-namespaces --quiet "
        "benchmarks/webhook/peer_kopf.py",
        command=[
            sys.executable,
            "-m",
            "kopf",
            "run",
            "--standalone",
            "--all-namespaces",
            "--quiet",
            str(Path(__file__).resolve().with_name("peer_kopf.py")),
        ],
        # kopf serves only POST /<handler id>, and listens only once it has discovered
        # the cluster's resources: a 405 to GET says it is ready to admit.
        ready_path="/validate",
        ready_status=405,
        port=port,
        listen_flags=False,
        env={
            "KUBECONFIG": str(kubeconfig),
            "BENCH_KOPF_LISTEN": f"127.0.0.1:{port}",
            "BENCH_KOPF_TLS_CERT": str(tls.tls_cert),
            "BENCH_KOPF_TLS_KEY": str(tls.tls_key),
            "BENCH_KOPF_RULES": str(rules),
        },
    )


@contextmanager
def running(spec: ServerSpec, *, tls: CertificatePaths, work: Path) -> Iterator[Server]:
    """Start ``spec``, stop it on exit."""
    command = list(spec.command)
    if spec.listen_flags:
        command += ["--listen", f"127.0.0.1:{spec.port}", "--tls-cert", str(tls.tls_cert)]
        command += ["--tls-key", str(tls.tls_key)]
    log = work / f"{spec.name}.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=spec.cwd or work,
            env={**inherited_env(), **spec.env},
        )
    server = Server(spec=spec, process=process, log=log)
    try:
        yield server
    finally:
        stop_process(server.process, timeout_s=_STOP_TIMEOUT_S)


def wait_ready(server: Server, context: ssl.SSLContext) -> None:
    """Poll the server's ready path: a separate process gives no other signal."""
    url = f"{server.base_url}{server.spec.ready_path}"
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode}:\n{log_tail(server.log)}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except (urllib.error.URLError, OSError):
            status = 0
        if status == server.spec.ready_status:
            return
        time.sleep(0.1)
    raise TimeoutError(f"{server.name} was not ready at {url} in {_READY_TIMEOUT_S} s")


def log_tail(log: Path, lines: int = 20) -> str:
    """The last ``lines`` of a server log, for error messages."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def inherited_env() -> dict[str, str]:
    """This process's environment less what must not leak into the run's processes: the
    caller's ``IMAGEGATE_*`` settings (a store, a token) and cluster (``KUBECONFIG``)."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("IMAGEGATE_") and key != "KUBECONFIG"
    }
