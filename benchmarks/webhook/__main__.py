"""``python -m benchmarks.webhook``: the webhook benchmark (``make bench``; see ``run.py``)."""

from __future__ import annotations

import sys

from benchmarks.webhook.run import main

if __name__ == "__main__":
    sys.exit(main())
