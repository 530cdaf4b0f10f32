"""The rule platform-available: the image has a manifest for every platform the pod
may run on."""

from __future__ import annotations

from imagegate.facts import ImageFacts
from imagegate.policy._subject import Finding, ImageSubject, Need, Outcome, Unavailable, Unknown
from imagegate.policy.rules._base import CompiledRule, RuleDocument
from imagegate.tracking import Platform


class PlatformAvailable(RuleDocument, tag="platform-available"):
    """The image (or its index) has a manifest for every platform the pod may run on."""

    def compile(self) -> CompiledRule:
        return self.compiled(frozenset({Need.REGISTRY}), _platforms)


def _platforms(subject: ImageSubject) -> Outcome:
    facts = subject.registry
    if isinstance(facts, Unavailable):
        return Unknown(f"the image's platforms cannot be read: {facts.reason}")
    if not isinstance(facts, ImageFacts):
        return Unknown("the image's platforms were not looked up")
    missing = [
        platform
        for platform in subject.platforms
        if not any(_same_platform(platform, offered) for offered in facts.platforms)
    ]
    if not missing:
        return None
    offered = ", ".join(str(p) for p in facts.platforms) or "none"
    return Finding(
        f"no manifest for {', '.join(str(p) for p in missing)} (the image has {offered})",
        "build the image for every platform the pod may run on, or constrain the pod's "
        "nodeSelector/affinity to the image's platforms",
    )


def _same_platform(wanted: Platform, offered: Platform) -> bool:
    if (wanted.os, wanted.architecture) != (offered.os, offered.architecture):
        return False
    # arm64 images usually leave the variant out; v8 is the only arm64 variant nodes report.
    normal = {None: None, "v8": None} if wanted.architecture == "arm64" else {}
    return normal.get(wanted.variant, wanted.variant) in (
        None,
        normal.get(offered.variant, offered.variant),
    )
