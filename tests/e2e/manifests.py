"""The workloads the end-to-end scenarios apply, as YAML text."""

from __future__ import annotations

from testbed.controlplane import Cluster

_DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:{pull_secrets}
      containers: [{{name: app, image: "{image}"}}]
"""
_POD = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  containers: [{{name: app, image: "{image}"}}]
"""


def deployment(name: str, namespace: str, image: str, *, pull_secret: str | None = None) -> str:
    """A Deployment of one container ``app`` running ``image``."""
    secrets = f"\n      imagePullSecrets: [{{name: {pull_secret}}}]" if pull_secret else ""
    return _DEPLOYMENT.format(name=name, namespace=namespace, image=image, pull_secrets=secrets)


def pod(name: str, namespace: str, image: str) -> str:
    """A Pod of one container ``app`` running ``image``."""
    return _POD.format(name=name, namespace=namespace, image=image)


def stored_image(cluster: Cluster, deployment_name: str, namespace: str) -> str:
    """The image of container ``app`` as the API server stored the Deployment."""
    return cluster.kubectl(
        "get",
        "deployment",
        deployment_name,
        "-n",
        namespace,
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
    ).stdout
