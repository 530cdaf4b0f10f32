"""Who may call /validate and /mutate.

An AdmissionReview is an instruction to judge and to record: anyone who can reach
the port and send one could otherwise write history. kube-apiserver proves itself
with a client certificate (configured in its AdmissionConfiguration); the HTTP API
on the same port keeps its bearer keys, so the TLS handshake only *asks* for a
certificate and this check, per request, decides. Pure: the peer certificate in
(as ``ssl.SSLSocket.getpeercert()`` gives it: validated against the CA, or None),
a reason to refuse out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class WebhookCallers:
    """The certificate the webhook's callers must present."""

    ca_file: Path
    """PEM CA bundle that signs kube-apiserver's client certificate for webhooks."""
    common_names: frozenset[str] = frozenset()
    """Subject common names allowed; empty: any certificate the CA signed."""


def caller_refusal(callers: WebhookCallers | None, peer: Mapping[str, Any] | None) -> str | None:
    """Why this caller may not call the webhook, or None when it may.

    ``peer`` has passed the TLS handshake's verification against ``callers.ca_file``
    when it is not None; without ``callers`` every caller may.
    """
    if callers is None:
        return None
    if not peer:
        return "a client certificate is required to call the webhook (kube-apiserver presents one)"
    if callers.common_names:
        names = common_names_of(peer)
        if not names & callers.common_names:
            shown = ", ".join(sorted(names)) or "none"
            return (
                f"the client certificate's common name ({shown}) is not one allowed to call "
                "the webhook"
            )
    return None


def common_names_of(peer: Mapping[str, Any]) -> frozenset[str]:
    """The subject common names of a certificate in ``getpeercert()`` form."""
    names: set[str] = set()
    for relative_name in peer.get("subject", ()):
        for attribute, value in relative_name:
            if attribute == "commonName":
                names.add(str(value))
    return frozenset(names)
