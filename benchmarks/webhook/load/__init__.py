"""Load: AdmissionReviews over TLS keep-alive, in a closed loop or at a fixed rate.

Run as ``python -m benchmarks.webhook.load --url https://127.0.0.1:PORT/validate
--ca-file ca.crt --corpus corpus.json`` from the repository, then either

- ``--mode closed --concurrency 8``: 8 tasks share one aiohttp session whose
  connector keeps at most 8 connections alive; each sends a review, waits for the
  answer, checks it and sends the next, so exactly 8 requests are in flight.
  Latency runs from just before a request is handed to aiohttp to just after
  the whole answer is read.
- ``--mode open --rate 500``: request ``i`` is due at ``start + i / rate``
  whether or not earlier ones were answered, sent over at most ``--connections``
  keep-alive connections. A request due while ``--max-outstanding`` are still
  unanswered is not sent and counts as an error (``not_sent``). Latency runs from
  the time the request was *due*, so a server that stalls is charged for the
  queue behind the stall (no coordinated omission).

After ``--warmup`` seconds the measured window of ``--duration`` seconds starts;
then no new request is sent and the process exits once the last answers are in
(or ``--request-timeout`` passes). Bodies are encoded once, up front; per request
only the unique uid is spliced in. The report (JSON) goes to ``--out`` or stdout.

The package owns that process: the shape of a load (``_shape``), the open-loop
schedule (``_schedule``), the requests and loops (``_exchange``), the run
(``_generator``) and its report (``_report``).
"""

from __future__ import annotations

from benchmarks.webhook.load._exchange import OVERLOAD_ERRORS
from benchmarks.webhook.load._report import LoadReport, RssSample
from benchmarks.webhook.load._schedule import OpenLoopSchedule, requests_for
from benchmarks.webhook.load._shape import LoadShape, Mode

__all__ = [
    "OVERLOAD_ERRORS",
    "LoadReport",
    "LoadShape",
    "Mode",
    "OpenLoopSchedule",
    "RssSample",
    "requests_for",
]
