"""Who may call the webhook endpoints: the pure check on the peer certificate."""

from __future__ import annotations

from pathlib import Path

from imagegate.admission import WebhookCallers, caller_refusal
from imagegate.admission._callers import common_names_of

CALLERS = WebhookCallers(ca_file=Path("ca.crt"))
NAMED = WebhookCallers(ca_file=Path("ca.crt"), common_names=frozenset({"kube-apiserver"}))


def peer(common_name: str) -> dict[str, object]:
    """A certificate as ``getpeercert()`` gives it."""
    return {
        "subject": ((("organizationName", "system:masters"),), (("commonName", common_name),)),
        "issuer": ((("commonName", "webhook-client-ca"),),),
    }


def test_without_required_callers_anyone_may_call() -> None:
    assert caller_refusal(None, None) is None


def test_a_caller_without_a_certificate_is_refused() -> None:
    assert caller_refusal(CALLERS, None) == (
        "a client certificate is required to call the webhook (kube-apiserver presents one)"
    )
    assert caller_refusal(CALLERS, {}) is not None


def test_any_certificate_of_the_ca_may_call_when_no_name_is_required() -> None:
    assert caller_refusal(CALLERS, peer("anything")) is None


def test_only_an_allowed_common_name_may_call() -> None:
    assert caller_refusal(NAMED, peer("kube-apiserver")) is None
    assert caller_refusal(NAMED, peer("curl")) == (
        "the client certificate's common name (curl) is not one allowed to call the webhook"
    )


def test_common_names_are_read_from_every_relative_name() -> None:
    certificate = {"subject": ((("commonName", "a"),), (("commonName", "b"), ("C", "DE")))}
    assert common_names_of(certificate) == {"a", "b"}
    assert common_names_of({}) == frozenset()
