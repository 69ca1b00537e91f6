"""Shutdowns that race busy workers; done-callbacks raising a BaseException: see
:mod:`stress.shutdown_races`."""

from __future__ import annotations

import pytest

from .shutdown_races import run_busy_shutdown, run_raising_done_callbacks


@pytest.mark.timeout(60)
@pytest.mark.parametrize("reactor", [False, True], ids=["pool", "reactor"])
@pytest.mark.parametrize("seed", [1, 2])
def test_shutdown_cancelling_a_busy_queue_raises_nothing_and_ends_every_result(
    seed: int, reactor: bool
) -> None:
    # Statistical: on a library with the drain race, about one run in three fails.
    print(run_busy_shutdown(seed, tasks=200_000, reactor=reactor))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("exception", [KeyboardInterrupt, SystemExit])
def test_a_done_callback_raising_a_base_exception_strands_no_result_and_skips_no_callback(
    exception: type[BaseException],
) -> None:
    print(run_raising_done_callbacks(exception))
