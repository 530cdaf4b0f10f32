from __future__ import annotations

import pytest
from benchmarks.common.percentiles import nearest_rank


def test_nearest_rank_is_the_smallest_value_covering_the_quantile() -> None:
    ordered = [float(value) for value in range(1, 101)]

    assert nearest_rank(ordered, 0.50) == 50.0
    assert nearest_rank(ordered, 0.99) == 99.0
    assert nearest_rank(ordered, 1.0) == 100.0
    assert nearest_rank([7.0], 0.99) == 7.0


def test_nearest_rank_refuses_nothing_and_quantiles_outside_0_to_1() -> None:
    with pytest.raises(ValueError, match="no values"):
        nearest_rank([], 0.5)
    with pytest.raises(ValueError, match="not in"):
        nearest_rank([1.0], 0.0)
