"""FactsGatherer with cached evidence: repeat admissions read nothing, tags go the long way.

The evidence store is support.evidence's counting dict.
"""

from __future__ import annotations

import pytest

from imagegate.admission import ContainerFacts, FactsGatherer
from imagegate.evidence import CachedEvidence
from imagegate.facts import Evidence
from imagegate.policy import Need, Unavailable
from imagegate.tracking import Platform, parse_reference
from imagegate.workloads import ContainerImage, ContainerType
from support.evidence import DIGEST, DictEvidence, scan

PINNED = f"ghcr.io/acme/web@{DIGEST}"
EVIDENCE = frozenset({Need.EVIDENCE})


def container(name: str, image: str) -> ContainerImage:
    return ContainerImage(
        name=name, image=image, type=ContainerType.CONTAINER, reference=parse_reference(image)
    )


def gatherer(store: DictEvidence) -> FactsGatherer:
    return FactsGatherer(
        registry=None,
        evidence=CachedEvidence(store),
        tracker=None,
        default_platform=Platform(),
        timeout_s=2.0,
    )


async def test_evidence_of_pinned_images_is_read_once_then_from_the_cache() -> None:
    store = DictEvidence()
    store.reports[DIGEST] = scan()
    facts = gatherer(store)
    containers = [container("web", PINNED), container("sidecar", PINNED)]
    first = await facts.gather(containers, EVIDENCE)
    again = await facts.gather(containers, EVIDENCE)
    assert (
        first
        == again
        == {
            "web": ContainerFacts(evidence=Evidence(scan=scan())),
            "sidecar": ContainerFacts(evidence=Evidence(scan=scan())),
        }
    )
    assert store.reads == 1


@pytest.mark.parametrize("needs", [EVIDENCE, frozenset({Need.EVIDENCE, Need.REGISTRY})])
async def test_a_tag_or_another_need_takes_the_lookups_path(needs: frozenset[Need]) -> None:
    store = DictEvidence()
    facts = gatherer(store)
    await facts.gather([container("web", PINNED)], EVIDENCE)
    tagged = container("web", "ghcr.io/acme/web:1.0")
    [found] = (await facts.gather([tagged], needs)).values()
    # No registry is configured here: resolving the tag is unavailable, and says why.
    assert found.registry == Unavailable("no registry access is configured")
    assert found.evidence is None
