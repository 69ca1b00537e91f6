"""A bounded pool queue under submits, cancels and workers: see :mod:`stress.bounded_queue`."""

from __future__ import annotations

import pytest

from .bounded_queue import run_bounded_queue


@pytest.mark.timeout(120)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_bounded_queue_is_never_exceeded_never_full_early_and_stays_fifo(seed: int) -> None:
    print(run_bounded_queue(seed, workers=1))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_bounded_queue_with_resized_workers_is_never_exceeded_nor_full_early(seed: int) -> None:
    print(run_bounded_queue(seed, workers=4))
