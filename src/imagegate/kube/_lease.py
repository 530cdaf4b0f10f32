"""Leader election on a coordination.k8s.io/v1 Lease, as Kubernetes controllers do it.

Only one replica may write what the cluster watch sees: two would write the same
changes in an order of their own (one replica's late view of a workload deleted a
moment ago would record it again). The leader holds the Lease by renewing it every
``renew_interval_s``; another replica takes it over once it has seen the Lease
unchanged for ``lease_duration_s`` by its own clock (clocks of different machines
are not compared), and every write of the Lease is conditional on the
resourceVersion read, so two replicas cannot both win. A leader that cannot renew
for ``lease_duration_s`` stops leading before anyone else may start; one that
stops cleanly gives the Lease up, so another takes over at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.parse
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from imagegate._tasks import stop
from imagegate.kube._client import KubeApiError, KubeClient

log = structlog.get_logger("imagegate.kube")

_HTTP_NOT_FOUND = 404
_HTTP_CONFLICT = 409


@dataclass(frozen=True, slots=True)
class LeaseSettings:
    """Which Lease, held by whom, for how long."""

    namespace: str
    name: str
    identity: str
    """This replica's name in ``holderIdentity`` (its pod name)."""
    lease_duration_s: float = 15.0
    renew_interval_s: float = 5.0


class LeaderLease:
    """Runs ``lead`` while this replica holds the Lease; cancels it when it does not."""

    def __init__(
        self,
        client: KubeClient,
        settings: LeaseSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._settings = settings
        self._clock = clock
        self._observed: tuple[str, float] | None = None
        """(resourceVersion, local time) of the Lease as last seen changing."""
        self.leading = asyncio.Event()

    @property
    def _path(self) -> str:
        namespace = urllib.parse.quote(self._settings.namespace, safe="")
        return f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"

    async def run(self, lead: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Campaign and lead until cancelled; the Lease is given up on the way out."""
        settings = self._settings
        task: asyncio.Task[None] | None = None
        renewed_at = 0.0
        try:
            while True:
                try:
                    held = await self._try_hold()
                except KubeApiError as error:
                    log.warning("lease_failed", lease=settings.name, error=str(error))
                    # Stop before anyone else may start: they wait a whole duration
                    # from their first sight of the last renewal, this stops sooner.
                    deadline = settings.lease_duration_s - settings.renew_interval_s
                    held = task is not None and self._clock() - renewed_at < deadline
                else:
                    if held:
                        renewed_at = self._clock()
                if held and task is None:
                    log.info("lease_acquired", lease=settings.name, identity=settings.identity)
                    self.leading.set()
                    task = asyncio.create_task(lead(), name="imagegate-leader")
                elif not held and task is not None:
                    log.warning("lease_lost", lease=settings.name, identity=settings.identity)
                    self.leading.clear()
                    await stop(task)
                    task = None
                if task is not None and task.done():
                    task.result()  # what it raised ends the campaign too
                # Renewal pacing: the Lease is written every interval, nothing else to await.
                await asyncio.sleep(settings.renew_interval_s)
        finally:
            if task is not None:
                await stop(task)
                self.leading.clear()
                with contextlib.suppress(KubeApiError):
                    await self._give_up()

    async def _try_hold(self) -> bool:
        """Create, renew or take over the Lease; whether this replica holds it now."""
        settings = self._settings
        try:
            lease = await self._client.get(f"{self._path}/{settings.name}", timeout_s=5)
        except KubeApiError as error:
            if error.status != _HTTP_NOT_FOUND:
                raise
            return await self._write("POST", self._lease_body(None, acquired=True))
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        if holder == settings.identity:
            return await self._write("PUT", self._lease_body(lease, acquired=False))
        version = str((lease.get("metadata") or {}).get("resourceVersion", ""))
        now = self._clock()
        if self._observed is None or self._observed[0] != version:
            self._observed = (version, now)
        expired = now - self._observed[1] >= float(
            spec.get("leaseDurationSeconds") or settings.lease_duration_s
        )
        if holder and not expired:
            return False
        return await self._write("PUT", self._lease_body(lease, acquired=True))

    async def _write(self, method: str, body: dict[str, Any]) -> bool:
        try:
            if method == "POST":
                await self._client.post(self._path, body, timeout_s=5)
            else:
                await self._client.put(f"{self._path}/{self._settings.name}", body, timeout_s=5)
        except KubeApiError as error:
            if error.status == _HTTP_CONFLICT:
                return False  # another replica wrote it first
            raise
        return True

    def _lease_body(self, lease: dict[str, Any] | None, *, acquired: bool) -> dict[str, Any]:
        settings = self._settings
        now = _micro_time(datetime.now(UTC))
        body: dict[str, Any] = (
            dict(lease)
            if lease
            else {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": settings.name, "namespace": settings.namespace},
            }
        )
        spec = dict(body.get("spec") or {})
        spec.update(
            holderIdentity=settings.identity,
            leaseDurationSeconds=int(settings.lease_duration_s),
            renewTime=now,
        )
        if acquired:
            spec["acquireTime"] = now
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + (1 if lease else 0)
        body["spec"] = spec
        return body

    async def _give_up(self) -> None:
        lease = await self._client.get(f"{self._path}/{self._settings.name}", timeout_s=5)
        spec = lease.get("spec") or {}
        if spec.get("holderIdentity") != self._settings.identity:
            return
        # An empty holder lets another replica take over at once, not a duration later.
        lease["spec"] = {**spec, "holderIdentity": "", "leaseDurationSeconds": 1}
        await self._write("PUT", lease)
        log.info("lease_released", lease=self._settings.name)


def _micro_time(moment: datetime) -> str:
    """A Kubernetes MicroTime: RFC 3339 with microseconds, in UTC."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
