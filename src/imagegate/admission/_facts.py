"""Looking up the facts admission's policies need: concurrently, each within a bound.

A lookup that fails or is too slow becomes an ``Unavailable`` fact, never an
exception: the policy then says whether that denies or warns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping, Sequence
from typing import Protocol, TypeVar, runtime_checkable

import structlog

from imagegate.admission._decide import ContainerFacts
from imagegate.facts import Credentials, Evidence, FactsCache, ImageFacts, ScanReport
from imagegate.policy import Deployed, Need, Unavailable
from imagegate.tracking import DeploymentQuery, ImageReference, Platform, Tracker
from imagegate.workloads import ContainerImage

log = structlog.get_logger("imagegate.admission")

T = TypeVar("T")


class RegistryFacts(Protocol):
    """Registry metadata of an image (cached)."""

    async def facts(
        self, reference: ImageReference, *, default_platform: Platform
    ) -> ImageFacts: ...


@runtime_checkable
class EvidenceLookup(Protocol):
    """Evidence CI posted for a digest."""

    async def evidence(self, digest: str) -> Evidence: ...


class CredentialedRegistry:
    """Registry facts looked up with the credentials configured for each registry host."""

    def __init__(self, cache: FactsCache, credentials: Mapping[str, Credentials]) -> None:
        self._cache = cache
        self._credentials = dict(credentials)

    async def facts(self, reference: ImageReference, *, default_platform: Platform) -> ImageFacts:
        return await self._cache.facts(
            reference,
            default_platform=default_platform,
            credentials=self._credentials.get(reference.registry),
        )


class FactsGatherer:
    """Gathers, per container, the facts a set of needs calls for."""

    def __init__(
        self,
        *,
        registry: RegistryFacts | None,
        evidence: EvidenceLookup | None,
        tracker: Tracker | None,
        default_platform: Platform,
        timeout_s: float,
    ) -> None:
        self._registry = registry
        self._evidence = evidence
        self._tracker = tracker
        self._default_platform = default_platform
        self._timeout_s = timeout_s

    async def gather(
        self,
        containers: Sequence[ContainerImage],
        needs: frozenset[Need],
        *,
        deployed_under: Mapping[str, Sequence[tuple[str, str, str]]] | None = None,
    ) -> dict[str, ContainerFacts]:
        """Facts by container name. ``deployed_under`` maps a container to the
        (environment, logical environment, deployment name) keys its records use."""
        if not needs:
            return {}
        gathered = await asyncio.gather(
            *(
                self._one(container, needs, (deployed_under or {}).get(container.name, ()))
                for container in containers
            )
        )
        return {
            container.name: facts for container, facts in zip(containers, gathered, strict=True)
        }

    async def _one(
        self,
        container: ContainerImage,
        needs: frozenset[Need],
        keys: Sequence[tuple[str, str, str]],
    ) -> ContainerFacts:
        reference = container.reference
        if reference is None:
            return ContainerFacts()
        registry: ImageFacts | Unavailable | None = None
        if Need.REGISTRY in needs or (Need.EVIDENCE in needs and reference.digest is None):
            registry = await self._registry_facts(reference)
        evidence: Evidence | Unavailable | None = None
        deployed: Deployed | Unavailable | None = None
        if Need.EVIDENCE in needs:
            digest = reference.digest or (
                registry.digest if isinstance(registry, ImageFacts) else None
            )
            if digest is not None:
                evidence = await self._evidence_of(digest)
        if Need.DEPLOYED in needs:
            deployed = await self._deployed(keys)
        return ContainerFacts(registry=registry, evidence=evidence, deployed=deployed)

    async def _registry_facts(self, reference: ImageReference) -> ImageFacts | Unavailable:
        if self._registry is None:
            return Unavailable("no registry access is configured")
        return await self._bounded(
            self._registry.facts(reference, default_platform=self._default_platform),
            f"registry {reference.registry}",
        )

    async def _evidence_of(self, digest: str) -> Evidence | Unavailable:
        if self._evidence is None:
            return Evidence()
        return await self._bounded(self._evidence.evidence(digest), "evidence store")

    async def _deployed(self, keys: Sequence[tuple[str, str, str]]) -> Deployed | Unavailable:
        if self._tracker is None:
            return Deployed(digests=(), scans=())
        tracker = self._tracker
        digests: list[str] = []
        for environment, logical_environment, name in keys:
            query = DeploymentQuery(
                environment=environment,
                logical_environment=logical_environment,
                deployment_name=name,
            )
            page = await self._bounded(tracker.list_deployments(query), "record store")
            if isinstance(page, Unavailable):
                return page
            digests.extend(
                r.artifact.digest for r in page.records if r.artifact.digest not in digests
            )
        scans: list[ScanReport | None] = []
        for digest in digests:
            evidence = await self._evidence_of(digest)
            if isinstance(evidence, Unavailable):
                return evidence
            scans.append(evidence.scan)
        return Deployed(digests=tuple(digests), scans=tuple(scans))

    async def _bounded(self, lookup: Awaitable[T], source: str) -> T | Unavailable:
        try:
            return await asyncio.wait_for(lookup, self._timeout_s)
        except TimeoutError:
            log.warning("facts_lookup_timeout", source=source, timeout_s=self._timeout_s)
            return Unavailable(f"{source} did not answer within {self._timeout_s}s")
        except Exception as error:  # noqa: BLE001 - any failure is an unavailable fact
            log.warning("facts_lookup_failed", source=source, error=str(error))
            return Unavailable(f"{source}: {error}")
