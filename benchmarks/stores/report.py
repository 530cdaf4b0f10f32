"""The two stores side by side, as a Markdown table."""

from __future__ import annotations

from typing import Any


def table(sqlite: dict[str, Any], postgres: dict[str, Any]) -> str:
    lines = [
        "| measure | SQLite | PostgreSQL | PostgreSQL / SQLite |",
        "| --- | --: | --: | --: |",
    ]

    def add(title: str, left: float, right: float) -> None:
        ratio = right / left if left else float("nan")
        lines.append(f"| {title} | {left:,.1f} | {right:,.1f} | {ratio:.2f} |")

    def add_ms(title: str, left: float, right: float) -> None:
        ratio = right / left if left else float("nan")
        lines.append(f"| {title} | {left:.2f} | {right:.2f} | {ratio:.2f} |")

    for key, write in sqlite["writes"].items():
        scenario, concurrency = key.rsplit("_c", 1)
        other = postgres["writes"][key]
        add(f"{scenario}, c={concurrency}: writes/s", write["per_s"], other["per_s"])
        add_ms(f"{scenario}, c={concurrency}: p50 ms", write["p50_ms"], other["p50_ms"])
        add_ms(f"{scenario}, c={concurrency}: p99 ms", write["p99_ms"], other["p99_ms"])
    left, right = sqlite["record_queued"], postgres["record_queued"]
    add(
        f"record_queued, batches of {left['requests'] // left['operations']}: requests/s",
        left["per_s"],
        right["per_s"],
    )
    add_ms("record_queued: p50 ms per batch", left["p50_ms"], right["p50_ms"])
    add_ms("record_queued: p99 ms per batch", left["p99_ms"], right["p99_ms"])
    for name, query in sqlite["queries"].items():
        other = postgres["queries"][name]
        add_ms(f"{name}: p50 ms", query["p50_ms"], other["p50_ms"])
        add_ms(f"{name}: p99 ms", query["p99_ms"], other["p99_ms"])
    return "\n".join(lines)
