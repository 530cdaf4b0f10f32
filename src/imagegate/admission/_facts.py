"""Looking up the facts admission's policies need: concurrently, each within a bound.

A lookup that fails or is too slow becomes an ``Unavailable`` fact, never an
exception: the policy then says whether that denies or warns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from typing import Protocol, TypeVar, runtime_checkable

import structlog

from imagegate.admission._decide import ContainerFacts
from imagegate.evidence import CachedEvidence
from imagegate.facts import Evidence, ImageFacts, ScanReport
from imagegate.policy import Deployed, Need, Unavailable
from imagegate.registry import Credentials, FactsCache
from imagegate.tracking import DeploymentQuery, ImageReference, Platform, Tracker
from imagegate.workloads import ContainerImage

log = structlog.get_logger("imagegate.admission")

T = TypeVar("T")


class RegistryFacts(Protocol):
    """Registry metadata of an image (cached)."""

    async def facts(
        self,
        reference: ImageReference,
        *,
        default_platform: Platform,
        credentials: Credentials | None = None,
    ) -> ImageFacts: ...


class PullSecretCredentials(Protocol):
    """Credentials from a pod's imagePullSecrets, by registry host."""

    async def credentials(self, namespace: str, names: Iterable[str]) -> dict[str, Credentials]: ...


@runtime_checkable
class EvidenceLookup(Protocol):
    """Evidence CI posted for a digest."""

    async def evidence(self, digest: str) -> Evidence: ...


class CredentialedRegistry:
    """Registry facts looked up with the credentials configured for each registry host."""

    def __init__(self, cache: FactsCache, credentials: Mapping[str, Credentials]) -> None:
        self._cache = cache
        self._credentials = dict(credentials)

    async def facts(
        self,
        reference: ImageReference,
        *,
        default_platform: Platform,
        credentials: Credentials | None = None,
    ) -> ImageFacts:
        """Facts with ``credentials`` (the pod's), else those configured for the host."""
        return await self._cache.facts(
            reference,
            default_platform=default_platform,
            credentials=credentials or self._credentials.get(reference.registry),
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
        pull_secrets: PullSecretCredentials | None = None,
    ) -> None:
        self._pull_secrets = pull_secrets
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
        namespace: str = "",
        pull_secrets: Sequence[str] = (),
    ) -> dict[str, ContainerFacts]:
        """Facts by container name. ``deployed_under`` maps a container to the
        (environment, logical environment, deployment name) keys its records use;
        ``pull_secrets`` are the pod's imagePullSecrets in ``namespace``."""
        if not needs:
            return {}
        cached = self._cached_evidence(containers, needs)
        if cached is not None:
            return cached
        credentials = await self._pod_credentials(namespace, pull_secrets)
        gathered = await asyncio.gather(
            *(
                self._one(
                    container, needs, (deployed_under or {}).get(container.name, ()), credentials
                )
                for container in containers
            )
        )
        return {
            container.name: facts for container, facts in zip(containers, gathered, strict=True)
        }

    def _cached_evidence(
        self, containers: Sequence[ContainerImage], needs: frozenset[Need]
    ) -> dict[str, ContainerFacts] | None:
        """The facts without a task or a wait, when evidence is all that is needed and
        the cache holds every digest's (most admissions under scan policies); else None."""
        if needs != {Need.EVIDENCE} or not isinstance(self._evidence, CachedEvidence):
            return None
        facts: dict[str, ContainerFacts] = {}
        for container in containers:
            reference = container.reference
            if reference is None:
                facts[container.name] = ContainerFacts()
                continue
            evidence = self._evidence.cached(reference.digest) if reference.digest else None
            if evidence is None:
                return None
            facts[container.name] = ContainerFacts(evidence=evidence)
        return facts

    async def _one(
        self,
        container: ContainerImage,
        needs: frozenset[Need],
        keys: Sequence[tuple[str, str, str]],
        credentials: Mapping[str, Credentials],
    ) -> ContainerFacts:
        reference = container.reference
        if reference is None:
            return ContainerFacts()
        registry: ImageFacts | Unavailable | None = None
        if Need.REGISTRY in needs or (Need.EVIDENCE in needs and reference.digest is None):
            registry = await self._registry_facts(reference, credentials.get(reference.registry))
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

    async def _pod_credentials(
        self, namespace: str, names: Sequence[str]
    ) -> Mapping[str, Credentials]:
        if self._pull_secrets is None or not names or not namespace:
            return {}
        found = await self._bounded(
            self._pull_secrets.credentials(namespace, names), "pull secrets"
        )
        return {} if isinstance(found, Unavailable) else found

    async def _registry_facts(
        self, reference: ImageReference, credentials: Credentials | None
    ) -> ImageFacts | Unavailable:
        if self._registry is None:
            return Unavailable("no registry access is configured")
        return await self._bounded(
            self._registry.facts(
                reference, default_platform=self._default_platform, credentials=credentials
            ),
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
