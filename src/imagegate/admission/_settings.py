"""Settings of the admission webhook."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from imagegate.admission._callers import WebhookCallers
from imagegate.admission._environments import EnvironmentMapping
from imagegate.admission._naming import DeploymentNameTemplate
from imagegate.policy import Mode
from imagegate.registry import RegistrySettings
from imagegate.tracking import Platform


@dataclass(frozen=True, slots=True)
class AdmissionSettings:
    """How admission decides, records and looks things up."""

    cluster: str = "default"
    """Environment that admitted workloads are recorded in: name it after the cluster."""
    environments: EnvironmentMapping = field(default_factory=EnvironmentMapping)
    """How a namespace's logical environment is found."""
    name_template: DeploymentNameTemplate = field(default_factory=DeploymentNameTemplate)
    """Deployment name of each admitted container."""
    default_platform: Platform = field(default_factory=Platform)
    """Platform of pods that constrain neither OS nor architecture."""
    require_digest: Mode = Mode.ENFORCE
    """The built-in ``default`` policy: enforce denies tag-only images, audit warns, off
    drops the policy."""
    policy_path: Path | None = None
    """A DeploymentPolicy file or a directory of them (a ConfigMap mount)."""
    policy_reload_interval_s: float = 10.0
    """How often the policy files are checked for changes."""
    facts_timeout_s: float = 2.0
    """Longest an admission waits for one registry or evidence lookup."""
    registry: RegistrySettings = field(default_factory=RegistrySettings)
    """How registries are reached (timeouts, plain-HTTP hosts) and facts cached."""
    read_pull_secrets: bool = False
    """Read the pod's imagePullSecrets for registry credentials (needs ``get`` on secrets)."""
    registry_config: Path | None = None
    """A docker config JSON (the ``.dockerconfigjson`` of a pull Secret) with credentials
    for private registries."""
    evidence_cache_ttl_s: float = 5.0
    """How long evidence read for admissions is reused as it is (and as long again while
    it is read anew in the background): evidence posted to another replica counts here
    within twice this; posted to this one, at once."""
    spool_path: Path = Path("imagegate-spool.db")
    """Local file where admitted deployments wait until the store takes them."""
    spool_bound_s: float = 0.25
    """Longest an admission answer waits for its records to be durable in the spool."""
    heartbeat_interval_s: float = 10.0
    """A repeat of what was spooled for a deployment within this long is held in memory
    and only its latest spooled when the interval ends: ``last_seen_at`` lags by up to
    1.25 intervals. 0 spools every admission durably before answering it."""
    max_body_bytes: int = 8 * 1024 * 1024
    """Largest AdmissionReview accepted (an object and its old version, 1.5 MiB each max)."""
    namespace_labels: bool = True
    """Look namespace labels up in the cluster (when a connection is configured)."""
    kubeconfig: str | None = None
    """Kubeconfig file; None: in-cluster service account, else $KUBECONFIG."""
    namespace_lookup_timeout_s: float = 0.5
    """Longest an admission waits to read an uncached namespace from the API."""
    callers: WebhookCallers | None = None
    """The client certificate /validate and /mutate require (kube-apiserver's, from its
    AdmissionConfiguration); None: anyone who reaches the port may call them."""
