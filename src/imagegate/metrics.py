"""Prometheus metrics of one imagegate process, in a registry of its own.

A registry per application (not the global one) keeps tests and several apps in
one process from sharing counters.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

# Admission answers are expected in milliseconds; the API server's timeout is seconds.
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """Every metric imagegate exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.admission_requests = Counter(
            "imagegate_admission_requests",
            "AdmissionReviews answered, by operation, object kind and decision.",
            ["webhook", "operation", "kind", "decision"],
            registry=self.registry,
        )
        self.admission_duration = Histogram(
            "imagegate_admission_duration_seconds",
            "Time from receiving an AdmissionReview to answering it.",
            ["webhook"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.spool_wait = Histogram(
            "imagegate_spool_wait_seconds",
            "Time admissions that record something new waited for it to be durable in the "
            "spool (repeats held in memory do not wait and are not counted).",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.admission_errors = Counter(
            "imagegate_admission_errors",
            "AdmissionReviews refused unjudged, by reason: malformed (HTTP 400) or "
            "unauthorized_caller (403).",
            ["reason"],
            registry=self.registry,
        )
        self.policy_violations = Counter(
            "imagegate_policy_violations",
            "Policy violations found, by rule and mode.",
            ["rule", "mode"],
            registry=self.registry,
        )
        self.unrecorded_images = Counter(
            "imagegate_unrecorded_images",
            "Admitted container images that could not be recorded, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.records_written = Counter(
            "imagegate_records_written",
            "Record requests applied to the store, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.records_refused = Counter(
            "imagegate_records_refused",
            "Record requests the store refused for good (parked in the spool), by code.",
            ["code"],
            registry=self.registry,
        )
        self.store_failures = Counter(
            "imagegate_record_store_failures",
            "Attempts to write spooled requests that failed because the store was unavailable.",
            registry=self.registry,
        )
        self.spool_depth = Gauge(
            "imagegate_spool_depth",
            "Record requests waiting in the local spool to be written to the store.",
            registry=self.registry,
        )
        self.namespace_fallbacks = Counter(
            "imagegate_namespace_lookup_fallbacks",
            "Namespace label lookups that failed, so the namespace map or the default applied.",
            registry=self.registry,
        )
        self.heartbeats_held = Counter(
            "imagegate_heartbeats_held",
            "Repeated admissions of an already spooled deployment, held in memory and "
            "spooled once per heartbeat interval instead of each on its own.",
            registry=self.registry,
        )
        self.spool_slow_appends = Counter(
            "imagegate_spool_slow_appends",
            "Admissions answered before their spool append was durable (append exceeded bound).",
            registry=self.registry,
        )
        self.background_failures = Counter(
            "imagegate_background_task_failures",
            "Background tasks (recorder, watches, certificate rotation, …) that failed and "
            "were started again, by task; each failure is logged with its traceback.",
            ["task"],
            registry=self.registry,
        )
        self.tls_reload_failures = Counter(
            "imagegate_tls_reload_failures",
            "Renewed certificate files that were refused (unreadable, not matching their key, "
            "expired or not yet valid); the previous certificate stays in use.",
            registry=self.registry,
        )
        self.recording_source = Gauge(
            "imagegate_recording_source",
            "Where records come from (1 for the one in use): cluster (what the API server "
            "persisted, from a watch) or admission (no access to the cluster's API).",
            ["source"],
            registry=self.registry,
        )
        self.cluster_synced = Gauge(
            "imagegate_cluster_synced",
            "1 once the cluster watch has listed every kind and reconciled the store once.",
            registry=self.registry,
        )
        self.cluster_workloads = Gauge(
            "imagegate_cluster_workloads",
            "Workloads (objects no controller owns) the cluster watch holds.",
            registry=self.registry,
        )
        self.unrecorded_workloads = Gauge(
            "imagegate_unrecorded_containers",
            "Containers of workloads the cluster holds that have no record, by reason "
            "(`imagegate cluster status` lists them).",
            ["reason"],
            registry=self.registry,
        )
        self.cluster_change_failures = Counter(
            "imagegate_cluster_change_failures",
            "Watch events or lists the cluster watch failed to apply (logged with their "
            "traceback; the object is recomputed at its next event or list).",
            registry=self.registry,
        )
        self.reconciliations = Counter(
            "imagegate_reconciliations",
            "Comparisons of the store with the whole cluster, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.reconciled_records = Counter(
            "imagegate_reconciled_records",
            "Records a reconciliation wrote, by action: recorded (missing or different in "
            "the store), refreshed (as stored), decommissioned (workload gone).",
            ["action"],
            registry=self.registry,
        )

    def exposition(self) -> tuple[bytes, str]:
        """The metrics in Prometheus text format, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
