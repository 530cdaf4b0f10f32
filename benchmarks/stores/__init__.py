"""``make bench-stores``: the SQLite and PostgreSQL record stores, side by side.

Fills each store with the same history (1,000,000 deployment records by default:
about 100,000 keys, each a chain of superseded records ending in one deployed
record), then measures through the real API (``Tracker`` over the store):

- record writes (creates, heartbeats that refresh, supersedes) at concurrency 1
  and 16, as asyncio tasks, each on a key of its own;
- ``record_queued`` batches of 256 requests (the admission recorder's path);
- list queries: the active records of an environment and logical environment (the
  first page of 100, and a deep page reached by cursor), the history of one
  deployment name, and the default-name lookup (``active_deployment_names``).

The fill bypasses the API: one ``executemany`` in one transaction on the SQLite
store's own connection, ``COPY`` over asyncpg for PostgreSQL. PostgreSQL is the
throwaway cluster the tests use too (``testbed.postgres``), which runs without
fsync; the fill runs like that, then the cluster is restarted with ``fsync``,
``synchronous_commit`` and ``full_page_writes`` on, so that every measured commit is
durable in both stores (SQLite runs with ``synchronous = FULL``).

Writes ``benchmarks/results/stores.json`` and prints a markdown table, with the
query plans (``EXPLAIN QUERY PLAN`` / ``EXPLAIN ANALYZE``) of the main queries.

The package owns the filled history (``fleet``), the measurements (``measure``), each
store's fill and plans (``sqlite``, ``postgresql``, ``plans``), and the table
(``report``). Started as ``python -m benchmarks.stores``.
"""
