"""Connection settings from a kubeconfig: the bearer token is sent."""

from __future__ import annotations

from pathlib import Path

from imagegate.kube import load_connection

KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t0ken-from-kubeconfig}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


def test_a_token_in_the_kubeconfig_is_the_bearer_token(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    connection = load_connection(str(path))
    assert connection.server == "https://127.0.0.1:6443"
    assert connection.bearer_token() == "t0ken-from-kubeconfig"


def test_a_pods_service_account_token_is_sent_without_the_clients_scheme(tmp_path: Path) -> None:
    # The official client's in-cluster loader stores "bearer <token>" (lower case); a
    # second scheme in the header made every in-pod call 401 Unauthorized.
    from kubernetes import client as kube_client  # noqa: PLC0415
    from kubernetes.config.incluster_config import InClusterConfigLoader  # noqa: PLC0415

    from imagegate.kube._connection import _bearer_token  # noqa: PLC0415

    (tmp_path / "token").write_text("eyJhbGciOi.service-account.token\n")
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    configuration = kube_client.Configuration()
    loader = InClusterConfigLoader(  # type: ignore[no-untyped-call]
        token_filename=str(tmp_path / "token"),
        cert_filename=str(tmp_path / "ca.crt"),
        environ={"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"},
    )
    loader.load_and_set(configuration)  # type: ignore[no-untyped-call]
    assert _bearer_token(configuration) == "eyJhbGciOi.service-account.token"
