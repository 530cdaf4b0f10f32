"""The node harness itself: a Ready node that runs restricted pods from the local
registry, gives them ServiceAccount tokens, and routes and resolves Services."""

from __future__ import annotations

import json

from cluster.images import ClusterImages
from cluster.node import NodeCluster
from cluster.release import RESTRICTED, create_namespace

RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def test_a_restricted_pod_runs_with_its_token_and_reaches_the_api_by_service_name(
    node_cluster: NodeCluster, images: ClusterImages
) -> None:
    namespace = "node-check"
    create_namespace(node_cluster, namespace, RESTRICTED)
    token = "/var/run/secrets/kubernetes.io/serviceaccount/token"
    script = (
        f"test -s {token} && nslookup kubernetes.default.svc.cluster.local && "
        "wget -q -T 5 -O /dev/null https://kubernetes.default.svc:443/livez 2>&1; "
        # busybox's wget has no CA option: a TLS failure still proves the route.
        'echo "exit=$?"'
    )
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "check", "namespace": namespace},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "check",
                    "image": images.busybox_1.by_digest,
                    "command": ["sh", "-c", script],
                    "securityContext": RESTRICTED_CONTAINER,
                }
            ],
        },
    }
    node_cluster.kubectl("apply", "-f", "-", input_text=json.dumps(pod))
    node_cluster.kubectl(
        "wait",
        "pod/check",
        "-n",
        namespace,
        "--for=jsonpath={.status.phase}=Succeeded",
        "--timeout=120s",
    )
    output = node_cluster.kubectl("logs", "check", "-n", namespace).stdout
    assert "Address: 10.0.0.1" in output, output
    (status,) = node_cluster.get_json("pod", "check", "-n", namespace)["status"][
        "containerStatuses"
    ]  # type: ignore[index]
    assert status["imageID"].endswith(images.busybox_1.digest)
    node_cluster.kubectl("delete", "namespace", namespace, "--wait=false")
