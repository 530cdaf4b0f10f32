"""``make bench-reconcile``: the cluster watch reconciling 10,000 workloads.

A real kube-apiserver + etcd (the end-to-end suite's, ``IMAGEGATE_E2E_BIN``) is
filled with ``--workloads`` Deployments (10,000 by default, 100 per namespace).
Then three phases run, each in a process of its own so that its peak RSS is its
own:

- ``floor``: only the paginated lists the watch has to read (every tracked kind,
  and Nodes), parsed as JSON: what any reconciler of this cluster pays;
- ``cold``: imagegate's cluster watch from an empty SQLite store until every
  workload is recorded in the store (lists, records computed, spooled, written);
- ``warm``: the same on the store the cold phase left, as after a restart: every
  record is already there, so the reconciliation only refreshes.

Time and peak RSS are reported, with each phase's ratio to the floor; results go
to ``benchmarks/results/reconcile.json``.

The package owns the filling of the cluster (``fill``) and the phases (``phases``);
``python -m benchmarks.reconcile`` runs them.
"""
