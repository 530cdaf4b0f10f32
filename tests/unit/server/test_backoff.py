"""Retry pacing: doubling up to the cap, starting over after a success."""

from __future__ import annotations

import pytest

from imagegate._backoff import Backoff


async def test_the_delay_doubles_to_the_cap_and_starts_over_after_a_reset() -> None:
    backoff = Backoff(0.001, 0.004)
    seen = []
    for _ in range(4):
        seen.append(backoff.next_s)
        await backoff.wait()
    assert seen == [0.001, 0.002, 0.004, 0.004]
    backoff.reset()
    assert backoff.next_s == 0.001


@pytest.mark.parametrize(("initial", "cap"), [(0, 1), (-1, 1), (2, 1)])
def test_a_backoff_that_could_spin_or_shrink_is_refused(initial: float, cap: float) -> None:
    with pytest.raises(ValueError, match="backoff needs 0 < initial"):
        Backoff(initial, cap)
