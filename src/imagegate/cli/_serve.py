"""``imagegate serve``: settings from arguments, then the server."""

from __future__ import annotations

import argparse
import ssl
from pathlib import Path

from imagegate.admission import (
    AdmissionSettings,
    DeploymentNameTemplate,
    EnvironmentMapping,
    WebhookCallers,
)
from imagegate.api import ApiSettings
from imagegate.cluster import (
    ClusterWatchSettings,
    LabelSelector,
    SelectorError,
    parse_selector,
)
from imagegate.kube import (
    CertificateRequirements,
    CertificateSettings,
)
from imagegate.logs import configure_logging
from imagegate.policy import Mode, load_policies
from imagegate.registry import LOOPBACK_REGISTRIES, RegistrySettings
from imagegate.server import ServerSettings, SettingsError, serve
from imagegate.tracking import Platform, TrackerSettings, validate_environment_name

_DEFAULT_PLAIN_LISTEN = "127.0.0.1:8080"
_DEFAULT_TLS_LISTEN = "0.0.0.0:8443"
POD_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def run_serve(arguments: argparse.Namespace) -> None:
    """Build ServerSettings from the command line and serve until stopped."""
    configure_logging(arguments.log_level)
    serve(settings_from(arguments))


def settings_from(arguments: argparse.Namespace) -> ServerSettings:
    """Validated server settings from ``imagegate serve`` arguments."""
    tls = arguments.tls_cert is not None
    default_listen = _DEFAULT_TLS_LISTEN if tls else _DEFAULT_PLAIN_LISTEN
    host, port = parse_listen(arguments.listen or default_listen)
    validate_environment_name(arguments.default_logical_env, field="--default-logical-env")
    validate_environment_name(arguments.cluster_name, field="--cluster-name")
    policy_path = Path(arguments.policies) if arguments.policies else None
    if policy_path is not None:
        load_policies(policy_path)  # report every problem now, not as a traceback at start
    return ServerSettings(
        host=host,
        port=port,
        tls_cert=Path(arguments.tls_cert) if arguments.tls_cert else None,
        tls_key=Path(arguments.tls_key) if arguments.tls_key else None,
        store_url=arguments.store,
        tracker=TrackerSettings(auto_create_environments=arguments.auto_create_environments),
        api=ApiSettings(default_logical_environment=arguments.default_logical_env),
        admission=AdmissionSettings(
            cluster=arguments.cluster_name,
            environments=EnvironmentMapping(
                label=arguments.environment_label,
                namespaces=parse_namespace_environments(arguments.namespace_env),
                default=arguments.default_logical_env,
            ),
            name_template=DeploymentNameTemplate(arguments.deployment_name_template),
            default_platform=parse_platform(arguments.default_platform),
            require_digest=Mode(arguments.require_digest),
            policy_path=policy_path,
            facts_timeout_s=arguments.facts_timeout,
            registry=RegistrySettings(
                insecure_registries=LOOPBACK_REGISTRIES | frozenset(arguments.insecure_registry)
            ),
            registry_config=Path(arguments.registry_config) if arguments.registry_config else None,
            read_pull_secrets=arguments.read_pull_secrets,
            spool_path=Path(arguments.spool),
            heartbeat_interval_s=arguments.heartbeat_interval,
            namespace_labels=not arguments.no_namespace_labels,
            kubeconfig=arguments.kubeconfig,
            callers=webhook_callers_from(arguments),
        ),
        certificates=certificate_settings_from(arguments),
        event_loop=arguments.event_loop,
        record_from=arguments.record_from,
        cluster_watch=ClusterWatchSettings(
            excluded_namespaces=frozenset(
                arguments.exclude_namespace
                if arguments.exclude_namespace is not None
                else ClusterWatchSettings().excluded_namespaces
            ),
            reconcile_interval_s=arguments.reconcile_interval,
            leader_election_namespace=leader_election_namespace(arguments),
            leader_election_name=arguments.leader_election_name,
            object_selector=object_selector_from(arguments.object_selector),
        ),
    ).validate()


def object_selector_from(text: str) -> LabelSelector:
    """The ``--object-selector`` LabelSelector; SettingsError saying what is wrong."""
    try:
        return parse_selector(text)
    except SelectorError as error:
        raise SettingsError(f"--object-selector: {error}") from None


def leader_election_namespace(
    arguments: argparse.Namespace, *, namespace_file: Path = POD_NAMESPACE_FILE
) -> str | None:
    """The Lease's namespace: as given, else the pod's own; None outside a pod."""
    if arguments.leader_election_namespace:
        return str(arguments.leader_election_namespace)
    try:
        return namespace_file.read_text().strip() or None
    except OSError:
        return None


def webhook_callers_from(arguments: argparse.Namespace) -> WebhookCallers | None:
    """Who may call the webhook endpoints, or None without ``--webhook-client-ca``."""
    names = frozenset(arguments.webhook_client_name)
    if not arguments.webhook_client_ca:
        if names:
            raise SettingsError("--webhook-client-name goes with --webhook-client-ca FILE")
        return None
    ca_file = Path(arguments.webhook_client_ca)
    try:
        ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as error:
        raise SettingsError(
            f"--webhook-client-ca {ca_file}: not a readable PEM CA bundle ({error})"
        ) from error
    return WebhookCallers(ca_file=ca_file, common_names=names)


def certificate_settings_from(
    arguments: argparse.Namespace, *, namespace_file: Path = POD_NAMESPACE_FILE
) -> CertificateSettings | None:
    """Self-managed certificate settings, or None without ``--self-managed-certs``."""
    if not arguments.self_managed_certs:
        return None
    if not arguments.cert_secret:
        raise SettingsError("--self-managed-certs needs --cert-secret NAME")
    if not arguments.tls_cert or not arguments.tls_key:
        raise SettingsError(
            "--self-managed-certs needs --tls-cert and --tls-key: where it writes the "
            "certificate the server loads (e.g. in an emptyDir)"
        )
    if not arguments.service_dns and not arguments.service_ip:
        raise SettingsError(
            "--self-managed-certs needs --service-dns NAME (e.g. imagegate.imagegate.svc) "
            "or --service-ip ADDR"
        )
    validating, mutating = parse_webhook_configurations(arguments.webhook_configurations)
    return CertificateSettings(
        secret_name=arguments.cert_secret,
        namespace=arguments.cert_namespace or _pod_namespace(namespace_file),
        tls_cert=Path(arguments.tls_cert),
        tls_key=Path(arguments.tls_key),
        requirements=CertificateRequirements(
            dns_names=tuple(dict.fromkeys(arguments.service_dns)),
            ip_addresses=tuple(dict.fromkeys(arguments.service_ip)),
            renew_before_days=arguments.cert_renew_before_days,
        ),
        validating_webhook_configuration=validating,
        mutating_webhook_configuration=mutating,
        check_interval_s=arguments.cert_check_interval,
    )


def parse_webhook_configurations(text: str) -> tuple[str | None, str | None]:
    """``VALIDATING,MUTATING`` names, either possibly empty, as a pair of optional names."""
    names = [name.strip() for name in text.split(",")] if text.strip() else []
    if len(names) > 2:
        raise SettingsError(
            f"--webhook-configurations {text!r} must be VALIDATING,MUTATING (two names at most)"
        )
    names += [""] * (2 - len(names))
    return names[0] or None, names[1] or None


def _pod_namespace(namespace_file: Path) -> str:
    try:
        namespace = namespace_file.read_text().strip()
    except OSError:
        namespace = ""
    if not namespace:
        raise SettingsError(
            f"--self-managed-certs needs --cert-namespace outside a pod ({namespace_file} "
            "is not readable)"
        )
    return namespace


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) as a (host, port) pair."""
    host, separator, port = text.rpartition(":")
    if not separator or not host or not port.isdigit():
        raise SettingsError(f"--listen {text!r} must be HOST:PORT, e.g. 127.0.0.1:8080")
    return host.strip("[]"), int(port)


def parse_namespace_environments(pairs: list[str]) -> dict[str, str]:
    """``NAMESPACE=ENV`` pairs as a mapping; each environment name validated."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        namespace, separator, environment = pair.partition("=")
        if not separator or not namespace or not environment:
            raise SettingsError(f"--namespace-env {pair!r} must be NAMESPACE=ENV")
        validate_environment_name(environment, field=f"--namespace-env {namespace}")
        mapping[namespace] = environment
    return mapping


def parse_platform(text: str) -> Platform:
    """``os/arch[/variant]`` as a Platform."""
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise SettingsError(f"--default-platform {text!r} must be OS/ARCH or OS/ARCH/VARIANT")
    return Platform(
        os=parts[0], architecture=parts[1], variant=parts[2] if len(parts) == 3 else None
    )
