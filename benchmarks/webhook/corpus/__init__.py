"""A deterministic corpus of realistic AdmissionReview v1 requests for the benchmark.

Written by ``python -m benchmarks.webhook.corpus --out corpus.json`` (the run does it
in a process of its own); the same seed gives the same bytes. The corpus models a
mid-sized cluster: Deployments, StatefulSets, CronJobs and bare Pods, each seen the
way kube-apiserver sends them to a webhook that watches pods and workload
controllers: the workload's CREATE and UPDATE (with ``oldObject``), the ReplicaSet or
Job its controller creates, and the Pods those create, with the fields defaulting and
``managedFields`` add. Every image is pinned by digest, so ``--require-digest
enforce`` admits every request and imagegate records it; many requests map to the
same deployment, so records are a mix of creates, heartbeats and (for workloads
caught mid-rollout) supersedes. Each review carries ``request.uid`` as the
placeholder ``UID_PLACEHOLDER``; the load generator puts a unique uid there for
every request it sends.

The package owns the file format (``_schema``), the workloads drawn at random
(``_vocabulary``, ``_model``, ``_workloads``, ``_podspec``), the objects the API
server sends for them (``_objects``) and the reviews around those (``_reviews``).
"""

from __future__ import annotations

from benchmarks.webhook.corpus._build import build_corpus, summary
from benchmarks.webhook.corpus._schema import UID_PLACEHOLDER, Corpus, Review

__all__ = ["UID_PLACEHOLDER", "Corpus", "Review", "build_corpus", "summary"]
