"""The argument grammar of the ``imagegate`` command."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from imagegate import __version__
from imagegate.auth import Scope
from imagegate.cli._output import FORMATS
from imagegate.cli._serve_parser import add_serve
from imagegate.evidence import ScanFormat
from imagegate.policy import Mode
from imagegate.store import DEFAULT_STORE_URL
from imagegate.tracking import Kind


def build_parser() -> argparse.ArgumentParser:
    """The parser of every sub-command; ``command_name`` says which one was chosen."""
    # Connection options are accepted before or after the sub-command.
    connection = _connection_options(suppress_defaults=True)
    parser = argparse.ArgumentParser(
        prog="imagegate",
        description="Admission control and deployment tracking for container images.",
        parents=[_connection_options(suppress_defaults=False)],
    )
    parser.add_argument("--version", action="version", version=f"imagegate {__version__}")
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")

    deployment = groups.add_parser("deployment", help="record and list deployments")
    deployment_commands = deployment.add_subparsers(dest="deployment_action", required=True)
    _add_record(deployment_commands, connection)
    _add_list(deployment_commands, connection)

    environment = groups.add_parser("environment", help="manage environments")
    environment_commands = environment.add_subparsers(dest="environment_action", required=True)
    create = _leaf(environment_commands, "create", "create an environment", connection)
    create.add_argument("--name", required=True, help="e.g. a cluster name: k8s-east")
    create.add_argument("--description", default="", help="what the environment is")
    _output_option(create)
    listing = _leaf(environment_commands, "list", "list environments", connection)
    _output_option(listing)
    describe = _leaf(environment_commands, "describe", "show one environment", connection)
    describe.add_argument("name", help="environment name")
    _output_option(describe)

    cluster = groups.add_parser("cluster", help="where a server's records come from (--server)")
    cluster_commands = cluster.add_subparsers(dest="cluster_action", required=True)
    status = _leaf(
        cluster_commands,
        "status",
        "the recording source, containers the cluster holds without a record and why, "
        "parked record requests",
        connection,
    )
    status.add_argument(
        "--records",
        action="store_true",
        help="also list every record the watch keeps, with how many pods run its digest",
    )
    _output_option(status)

    apikey = groups.add_parser("apikey", help="manage API keys (local store only)")
    apikey_commands = apikey.add_subparsers(dest="apikey_action", required=True)
    key_create = _leaf(apikey_commands, "create", "create a key; prints its token once", connection)
    key_create.add_argument(
        "--scope",
        action="append",
        required=True,
        choices=[s.value for s in Scope],
        help="repeat for several scopes (read: list; write: record)",
    )
    key_create.add_argument("--name", default="", help="who or what uses the key")
    key_list = _leaf(apikey_commands, "list", "list keys (never their tokens)", connection)
    _output_option(key_list)
    revoke = _leaf(apikey_commands, "revoke", "revoke a key", connection)
    revoke.add_argument("key_id", help="the key id shown by 'apikey list'")

    _add_evidence(groups, connection)
    _add_certs(groups)
    _add_policy(groups)

    add_serve(groups, connection)
    return parser


def _add_evidence(
    groups: argparse._SubParsersAction[argparse.ArgumentParser],
    connection: argparse.ArgumentParser,
) -> None:
    evidence = groups.add_parser(
        "evidence", help="post and show what CI found out about an image (scans, provenance)"
    )
    commands = evidence.add_subparsers(dest="evidence_action", required=True)
    text = "post a vulnerability scan, or the provenance, of a digest"
    push = _leaf(commands, "push", text, connection)
    push.add_argument("--digest", required=True, metavar="sha256:…", help="the image's digest")
    posted = push.add_mutually_exclusive_group(required=True)
    posted.add_argument(
        "--scan",
        type=Path,
        metavar="FILE",
        help="a scanner's JSON report (grype -o json, trivy --format json, CycloneDX); - reads "
        "stdin",
    )
    posted.add_argument(
        "--provenance",
        type=Path,
        metavar="FILE",
        help='{"builder_id", "source_repository", "commit", "labels"}; - reads stdin',
    )
    push.add_argument(
        "--format",
        choices=[scan_format.value for scan_format in ScanFormat],
        default=None,
        help="format of --scan (default: recognised from the report)",
    )
    _output_option(push)
    show = _leaf(commands, "show", "show the newest scan, provenance and labels", connection)
    show.add_argument("--digest", required=True, metavar="sha256:…", help="the image's digest")
    _output_option(show)
    text = "list every scan posted for a digest, newest first, retired ones included"
    scans = _leaf(commands, "scans", text, connection)
    scans.add_argument("--digest", required=True, metavar="sha256:…", help="the image's digest")
    _output_option(scans)
    text = "take a scan out of the count for good (it stays in the history, with the reason)"
    retire = _leaf(commands, "retire-scan", text, connection)
    retire.add_argument("--digest", required=True, metavar="sha256:…", help="the image's digest")
    retire.add_argument(
        "--id", required=True, metavar="ID", help="the scan's id, as 'evidence scans' lists it"
    )
    retire.add_argument(
        "--reason", required=True, help="why it must not count (kept for auditors; one line)"
    )
    _output_option(retire)


def _add_policy(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    policy = groups.add_parser("policy", help="check manifests against policies (no store)")
    policy_commands = policy.add_subparsers(dest="policy_action", required=True)
    text = "judge the workloads of manifests offline, as admission would; non-zero on denials"
    check = policy_commands.add_parser("check", help=text, description=text)
    check.set_defaults(command_name="policy check")
    check.add_argument(
        "-f",
        "--file",
        required=True,
        metavar="PATH",
        help="a manifest file or a directory of them (multi-document YAML, JSON)",
    )
    check.add_argument(
        "--policy", metavar="PATH", help="a DeploymentPolicy file or a directory of them"
    )
    check.add_argument(
        "--logical-env",
        default="production",
        metavar="NAME",
        help="logical environment the manifests are for (production)",
    )
    check.add_argument(
        "--cluster-name", default="default", metavar="NAME", help="environment (cluster) name"
    )
    check.add_argument(
        "--namespace", default="default", help="namespace of objects that name none (default)"
    )
    check.add_argument(
        "--require-digest",
        default="enforce",
        choices=[mode.value for mode in Mode],
        help="the built-in default policy, as in serve (enforce)",
    )


def _add_certs(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    certs = groups.add_parser("certs", help="make TLS certificates for the webhook (no store)")
    certs_commands = certs.add_subparsers(dest="certs_action", required=True)
    text = "make a CA and a serving certificate signed by it; prints the caBundle"
    generate = certs_commands.add_parser("generate", help=text, description=text)
    generate.set_defaults(command_name="certs generate")
    generate.add_argument(
        "--dns",
        action="append",
        default=[],
        metavar="NAME",
        help="a DNS name the server answers to, e.g. SERVICE.NAMESPACE.svc; repeat for several",
    )
    generate.add_argument(
        "--ip", action="append", default=[], metavar="ADDR", help="an IP address; repeatable"
    )
    generate.add_argument(
        "--days", type=int, default=365, help="validity of the serving certificate (365)"
    )
    generate.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="directory for ca.crt, ca.key, tls.crt and tls.key (created if needed)",
    )


def _add_record(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    connection: argparse.ArgumentParser,
) -> None:
    record = _leaf(commands, "record", "record a deployment (or its decommissioning)", connection)
    record.add_argument("--env", required=True, help="environment, e.g. k8s-east")
    record.add_argument("--logical-env", required=True, help="e.g. staging, production")
    record.add_argument("--deployment-name", required=True, help="e.g. api-server")
    record.add_argument(
        "--kind", default=Kind.CONTAINER_IMAGE.value, choices=[k.value for k in Kind]
    )
    artifact = record.add_mutually_exclusive_group()
    artifact.add_argument(
        "--oci-ref", metavar="REPO[:TAG]@DIGEST", help="the artifact as one reference"
    )
    artifact.add_argument(
        "--name", metavar="REPO", help="the artifact's repository (with --digest)"
    )
    record.add_argument("--digest", metavar="sha256:…", help="the artifact's digest (with --name)")
    record.add_argument("--tag", help="the tag deployed, for reading only (with --name)")
    record.add_argument("--os", default=None, help="platform OS (default linux for images)")
    record.add_argument("--arch", default=None, help="platform architecture (default amd64)")
    record.add_argument("--variant", default=None, help="platform variant, e.g. v8")
    record.add_argument("--status", default="deployed", choices=["deployed", "decommissioned"])
    _output_option(record)


def _add_list(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    connection: argparse.ArgumentParser,
) -> None:
    listing = _leaf(
        commands, "list", "list what runs where (active records only by default)", connection
    )
    listing.add_argument("--env", help="only this environment")
    listing.add_argument("--logical-env", help="only this logical environment")
    listing.add_argument("--deployment-name", help="only this deployment")
    listing.add_argument("--kind", choices=[k.value for k in Kind])
    listing.add_argument("--status", choices=["deployed", "superseded", "decommissioned"])
    listing.add_argument(
        "--history", action="store_true", help="include superseded and decommissioned records"
    )
    listing.add_argument(
        "--limit", type=int, default=None, help="at most this many records (default: all)"
    )
    _output_option(listing)


def _leaf(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    text: str,
    connection: argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=text, description=text, parents=[connection])
    group = commands.dest.removesuffix("_action")
    parser.set_defaults(command_name=f"{group} {name}")
    return parser


def _output_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", choices=FORMATS, default="table")


def _connection_options(*, suppress_defaults: bool) -> argparse.ArgumentParser:
    def default(value: str | None) -> str | None:
        return argparse.SUPPRESS if suppress_defaults else value

    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--store",
        default=default(os.environ.get("IMAGEGATE_STORE", DEFAULT_STORE_URL)),
        metavar="URL",
        help=f"local store (env IMAGEGATE_STORE; default {DEFAULT_STORE_URL})",
    )
    options.add_argument(
        "--server",
        default=default(os.environ.get("IMAGEGATE_SERVER")),
        metavar="URL",
        help="act through this imagegate server instead, with the API key in IMAGEGATE_TOKEN "
        "(env IMAGEGATE_SERVER)",
    )
    options.add_argument(
        "--ca-file",
        default=default(os.environ.get("IMAGEGATE_CA_FILE")),
        metavar="FILE",
        help="CA bundle to verify the server's certificate (env IMAGEGATE_CA_FILE)",
    )
    return options
