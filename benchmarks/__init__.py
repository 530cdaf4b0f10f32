"""imagegate's benchmarks: one sub-package each, and the little they share.

- ``webhook`` (``make bench``): imagegate's ``POST /validate`` against a bare aiohttp
  floor and a kopf webhook under the same closed- and open-loop load, with every
  answer and every record verified;
- ``stores`` (``make bench-stores``): the SQLite and PostgreSQL record stores over a
  large history;
- ``reconcile`` (``make bench-reconcile``): the cluster watch reconciling thousands
  of workloads on a real kube-apiserver;
- ``common``: what more than one of them needs.

Each starts as ``python -m benchmarks.<name>`` from the repository's root (``--help``
lists its flags) and writes its results to ``benchmarks/results/<file>.json``; the
real parts they run on (kube-apiserver and etcd, PostgreSQL) come from the
top-level ``testbed`` package, as the tests' do. docs/benchmarks.md says what each
measures and how.
"""
