"""The webhook benchmark (``make bench``): imagegate's ``POST /validate`` against a bare
aiohttp floor and a kopf webhook, under the same load, in one run.

It owns the servers under test and how they are started (``servers``, ``floor``,
``peer_kopf``, ``enforce``, ``imagegate_probe``), the corpus of AdmissionReviews
(``corpus/``), the load generator (``load/``, a process of its own per load, with
scheduled-time latency under an open loop), the run (``arguments``, ``run``,
``measure``, ``state``), the checks that fail it (``verify``), and its results
(``compare``, ``targets``, ``results`` for the JSON's schema, ``report`` for the
Markdown, ``machine``, ``procfs``, ``latency``, ``finish``). ``loops`` picks the
event loop of the processes it starts. Started as ``python -m benchmarks.webhook``.
"""
