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
