"""A second validating webhook that denies everything it is called for: it stands for
any admission step after imagegate that refuses a request imagegate allowed."""

from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from imagegate.tls import generate_certificates, write_certificates
from imagegate.tracking import utc_now

DENIAL = "refused by the second webhook"


class _Deny(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        answer = {
            "apiVersion": review["apiVersion"],
            "kind": "AdmissionReview",
            "response": {
                "uid": review["request"]["uid"],
                "allowed": False,
                "status": {"code": 403, "message": DENIAL},
            },
        }
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@dataclass
class DenyingWebhook:
    """An HTTPS server on loopback answering every AdmissionReview with a denial."""

    work_dir: Path
    server: ThreadingHTTPServer = field(init=False)

    def __post_init__(self) -> None:
        generated = generate_certificates(
            dns_names=["localhost"], ip_addresses=["127.0.0.1"], now=utc_now()
        )
        paths = write_certificates(generated, self.work_dir)
        self.ca_bundle = generated.ca_bundle
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Deny)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(paths.tls_cert, paths.tls_key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def configuration(self, namespace: str) -> str:
        """A ValidatingWebhookConfiguration calling this server for Deployments in
        ``namespace`` only."""
        port = self.server.server_address[1]
        document = {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": "e2e-denier"},
            "webhooks": [
                {
                    "name": "deny.e2e.imagegate.dev",
                    "admissionReviewVersions": ["v1"],
                    "clientConfig": {
                        "url": f"https://127.0.0.1:{port}/deny",
                        "caBundle": self.ca_bundle,
                    },
                    "rules": [
                        {
                            "apiGroups": ["apps"],
                            "apiVersions": ["v1"],
                            "resources": ["deployments"],
                            "operations": ["CREATE", "UPDATE"],
                            "scope": "Namespaced",
                        }
                    ],
                    "sideEffects": "None",
                    "failurePolicy": "Fail",
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": namespace}
                    },
                }
            ],
        }
        return yaml.safe_dump(document, sort_keys=False)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
