"""The SQL of the measured queries, for the plans each database chooses for them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.stores.fleet import COLUMNS


# The stores' SQL for the measured queries (as built in store/sqlite.py and postgres.py).
def plan_queries(
    sample: dict[str, Any], mark: Callable[[int], str]
) -> dict[str, tuple[str, list[Any]]]:
    cols = ", ".join(COLUMNS)
    env, logical = sample["environment"], sample["logical_environment"]
    return {
        "active_first_page": (
            f"SELECT {cols} FROM deployments WHERE environment = {mark(1)} AND "
            f"logical_environment = {mark(2)} AND status = 'deployed' "
            f"ORDER BY id DESC LIMIT {mark(3)}",
            [env, logical, 101],
        ),
        "active_deep_page": (
            f"SELECT {cols} FROM deployments WHERE environment = {mark(1)} AND "
            f"logical_environment = {mark(2)} AND status = 'deployed' AND id < {mark(3)} "
            f"ORDER BY id DESC LIMIT {mark(4)}",
            [env, logical, sample["after_id"], 101],
        ),
        "history_of_name": (
            f"SELECT {cols} FROM deployments WHERE deployment_name = {mark(1)} "
            f"ORDER BY id DESC LIMIT {mark(2)}",
            [sample["deployment_name"], 101],
        ),
        "active_deployment_names": (
            f"SELECT deployment_name FROM deployments WHERE environment = {mark(1)} "
            f"AND logical_environment = {mark(2)} AND kind = {mark(3)} AND repository = {mark(4)} "
            "AND status = 'deployed' ORDER BY deployment_name",
            [env, logical, "CONTAINER_IMAGE", sample["repository"]],
        ),
        "record_reads_deployed_of_key": (
            f"SELECT {cols} FROM deployments WHERE environment = {mark(1)} "
            f"AND logical_environment = {mark(2)} AND deployment_name = {mark(3)} "
            f"AND kind = {mark(4)} AND status = 'deployed'",
            [env, logical, sample["deployment_name"], "CONTAINER_IMAGE"],
        ),
    }
