"""Self-managed webhook certificates: a TLS Secret, the serving files, and the caBundles.

The CA and serving certificate live in one ``kubernetes.io/tls`` Secret, shared by
every replica. Deciding what to do with its content is pure
(:func:`plan_certificates`, in ``_certificate_plan.py``); :class:`CertificateManager`
does the IO around it: read the Secret, write it back if the plan changed it, write
``tls.crt`` and ``tls.key`` where the server loads them, and patch the ``caBundle``
of the webhook configurations so that kube-apiserver trusts the certificate.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from imagegate.kube._certificate_plan import (
    CertificateAction,
    CertificateOutcome,
    CertificateRequirements,
    ca_bundle_patch,
    certificates_from_secret,
    plan_certificates,
    secret_data,
)
from imagegate.kube._client import KubeApiError, KubeClient
from imagegate.kube._connection import KubeConfigError, KubeConnection, load_connection
from imagegate.tls import (
    CertificateError,
    GeneratedCertificates,
    write_file_atomically,
)

log = structlog.get_logger("imagegate.kube")

_HTTP_NOT_FOUND = 404
_HTTP_CONFLICT = 409
_TIMEOUT_S = 10.0
# Each lost race means another replica wrote a Secret we then adopt; a few are plenty.
_MAX_WRITE_ATTEMPTS = 5
_RETRY_AFTER_FAILURE_S = 60.0
_RETRY_MISSING_S = 15.0
"""How soon a webhook configuration that does not exist yet is looked for again."""
_ADMISSION_API = "/apis/admissionregistration.k8s.io/v1"
_MANAGED_BY = {"app.kubernetes.io/managed-by": "imagegate"}


class CertificateSetupError(CertificateError):
    """The webhook certificate could not be read, stored or published; the message says where."""


@dataclass(frozen=True, slots=True)
class CertificateSettings:
    """Where the self-managed certificate lives and whom it must satisfy."""

    secret_name: str
    """The ``kubernetes.io/tls`` Secret holding ``ca.crt``, ``ca.key``, ``tls.crt``, ``tls.key``."""
    namespace: str
    """Namespace of the Secret (the pod's own)."""
    tls_cert: Path
    """Where the server loads its certificate from; written here (e.g. an emptyDir)."""
    tls_key: Path
    """Where the server loads its private key from; written here, mode 0600."""
    requirements: CertificateRequirements
    """Names to cover and lifetimes."""
    validating_webhook_configuration: str | None = None
    """ValidatingWebhookConfiguration whose webhooks get the caBundle."""
    mutating_webhook_configuration: str | None = None
    """MutatingWebhookConfiguration whose webhooks get the caBundle."""
    check_interval_s: float = 3600.0
    """How often the Secret, the files and the caBundles are checked again."""

    def __post_init__(self) -> None:
        if self.check_interval_s <= 0:
            raise CertificateError(
                f"the certificate check interval must be positive, not {self.check_interval_s}"
            )

    @property
    def secret_ref(self) -> str:
        """``namespace/name`` of the Secret, as messages name it."""
        return f"{self.namespace}/{self.secret_name}"


class CertificateManager:
    """Keeps the Secret, the serving files and the caBundles in agreement, replica-safe.

    Replicas racing to create or update the Secret are settled by the API server
    (create conflicts, ``resourceVersion`` preconditions): the losers adopt what
    the winner wrote, so one CA is ever in flight.
    """

    def __init__(
        self,
        client: KubeClient,
        settings: CertificateSettings,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._settings = settings
        self._clock = clock
        self._missing: set[str] = set()

    async def ensure(self) -> CertificateOutcome:
        """One pass: settle the Secret, then the files, then the caBundles.

        Raises :class:`CertificateSetupError` naming the object and the API's answer.
        """
        action, written, certificates = await self._settle_secret()
        files_written = _write_serving_files(certificates, self._settings)
        patched = await self._publish_ca_bundle(certificates.ca_bundle)
        outcome = CertificateOutcome(
            action=action,
            secret_written=written,
            files_written=files_written,
            patched_configurations=tuple(patched),
            missing_configurations=tuple(sorted(self._missing)),
            certificates=certificates,
        )
        if written or files_written or patched:
            log.info(
                "webhook_certificate_updated",
                secret=self._settings.secret_ref,
                action=action.value,
                secret_written=written,
                files_written=files_written,
                patched=list(patched),
            )
        return outcome

    async def run(self) -> None:
        """Check again every ``check_interval_s`` until cancelled; failures are retried sooner."""
        interval = self._settings.check_interval_s
        delay = interval
        while True:
            # Periodic by nature: certificates age with time, not with events.
            await asyncio.sleep(delay)
            try:
                outcome = await self.ensure()
            except CertificateSetupError as error:
                delay = min(interval, _RETRY_AFTER_FAILURE_S)
                log.warning("webhook_certificate_check_failed", error=str(error), retry_in_s=delay)
            else:
                # A configuration installed after the pod started (or recreated) must not
                # wait an hour for its caBundle: the API server cannot call us until then.
                delay = (
                    min(interval, _RETRY_MISSING_S) if outcome.missing_configurations else interval
                )

    async def _settle_secret(self) -> tuple[CertificateAction, bool, GeneratedCertificates]:
        requirements = self._settings.requirements
        for _attempt in range(_MAX_WRITE_ATTEMPTS):
            document = await self._read_secret()
            current = certificates_from_secret(document) if document is not None else None
            try:
                plan = plan_certificates(current, requirements=requirements, now=self._clock())
            except CertificateError as error:
                raise CertificateSetupError(
                    f"cannot make a certificate for Secret {self._settings.secret_ref}: {error}"
                ) from error
            if plan.action is CertificateAction.KEEP:
                return plan.action, False, plan.certificates
            log.info(
                "webhook_certificate_replacing",
                secret=self._settings.secret_ref,
                action=plan.action.value,
                reason=plan.reason,
            )
            if await self._write_secret(document, plan.certificates):
                return plan.action, True, plan.certificates
            log.info("webhook_certificate_race_lost", secret=self._settings.secret_ref)
        raise CertificateSetupError(
            f"cannot write Secret {self._settings.secret_ref}: it kept changing under us "
            f"({_MAX_WRITE_ATTEMPTS} conflicts)"
        )

    async def _read_secret(self) -> dict[str, Any] | None:
        try:
            return await self._client.get(self._secret_path(), timeout_s=_TIMEOUT_S)
        except KubeApiError as error:
            if error.status == _HTTP_NOT_FOUND:
                return None
            raise CertificateSetupError(
                f"cannot read Secret {self._settings.secret_ref}: {error}"
            ) from error

    async def _write_secret(
        self, existing: Mapping[str, Any] | None, certificates: GeneratedCertificates
    ) -> bool:
        """Create or update the Secret; False if another writer got there first."""
        settings = self._settings
        try:
            if existing is None:
                await self._client.post(
                    f"/api/v1/namespaces/{_quoted(settings.namespace)}/secrets",
                    {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "metadata": {
                            "name": settings.secret_name,
                            "namespace": settings.namespace,
                            "labels": _MANAGED_BY,
                        },
                        "type": "kubernetes.io/tls",
                        "data": secret_data(certificates),
                    },
                    timeout_s=_TIMEOUT_S,
                )
            else:
                # The resourceVersion read is a precondition: a concurrent write makes this 409.
                # Everything but data is kept, the type included (it is immutable).
                updated = {**existing, "data": {**(existing.get("data") or {})}}
                updated["data"].update(secret_data(certificates))
                await self._client.put(self._secret_path(), updated, timeout_s=_TIMEOUT_S)
        except KubeApiError as error:
            if error.status == _HTTP_CONFLICT:
                return False
            verb = "create" if existing is None else "update"
            raise CertificateSetupError(
                f"cannot {verb} Secret {settings.secret_ref}: {error}"
            ) from error
        return True

    async def _publish_ca_bundle(self, ca_bundle: str) -> list[str]:
        settings = self._settings
        patched: list[str] = []
        for kind, name in (
            ("ValidatingWebhookConfiguration", settings.validating_webhook_configuration),
            ("MutatingWebhookConfiguration", settings.mutating_webhook_configuration),
        ):
            if name and await self._patch_ca_bundle(kind, name, ca_bundle):
                patched.append(f"{kind}/{name}")
        return patched

    async def _patch_ca_bundle(self, kind: str, name: str, ca_bundle: str) -> bool:
        """Set the caBundle where it differs; False if nothing needed it (or no such object)."""
        path = f"{_ADMISSION_API}/{kind.lower()}s/{_quoted(name)}"
        try:
            document = await self._client.get(path, timeout_s=_TIMEOUT_S)
        except KubeApiError as error:
            if error.status == _HTTP_NOT_FOUND:
                # Installed later (or by hand): checked again soon (see run).
                if f"{kind}/{name}" not in self._missing:
                    log.warning("webhook_configuration_missing", kind=kind, name=name)
                self._missing.add(f"{kind}/{name}")
                return False
            raise CertificateSetupError(f"cannot read {kind} {name}: {error}") from error
        self._missing.discard(f"{kind}/{name}")
        patch = ca_bundle_patch(document, ca_bundle)
        if patch is None:
            return False
        try:
            await self._client.patch(
                path,
                patch,
                content_type="application/strategic-merge-patch+json",
                timeout_s=_TIMEOUT_S,
            )
        except KubeApiError as error:
            raise CertificateSetupError(
                f"cannot patch the caBundle of {kind} {name}: {error}"
            ) from error
        return True

    def _secret_path(self) -> str:
        settings = self._settings
        return (
            f"/api/v1/namespaces/{_quoted(settings.namespace)}"
            f"/secrets/{_quoted(settings.secret_name)}"
        )


def connect_for_certificates(kubeconfig: str | None) -> KubeConnection:
    """The API connection self-managed certificates need; without one they cannot work."""
    try:
        return load_connection(kubeconfig)
    except KubeConfigError as error:
        raise CertificateSetupError(
            f"self-managed certificates need the Kubernetes API: {error}"
        ) from error


def _quoted(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")


def _write_serving_files(
    certificates: GeneratedCertificates, settings: CertificateSettings
) -> bool:
    """Write ``tls.key`` then ``tls.crt`` where they differ from the Secret; whether any did."""
    changed = False
    # Key first: a reloading server then sees at most one mismatched moment, which it skips.
    for path, data, mode in (
        (settings.tls_key, certificates.tls_key, 0o600),
        (settings.tls_cert, certificates.tls_cert, 0o644),
    ):
        if _read_or_none(path) != data:
            write_file_atomically(path, data, mode=mode)
            changed = True
    return changed


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
