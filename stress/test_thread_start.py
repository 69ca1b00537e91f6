"""A thread that fails to start: see :mod:`stress.thread_start`."""

from __future__ import annotations

import pytest

from .thread_start import CASES, run_thread_start_failure


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(CASES))
def test_a_thread_that_fails_to_start_leaves_nothing_that_hangs_shutdown_or_exit(
    case: str,
) -> None:
    print(run_thread_start_failure(case))
