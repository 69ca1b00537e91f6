"""``concurrent.futures.wait``/``as_completed`` on Results of two owners: see
:mod:`stress.mixed_waits`."""

from __future__ import annotations

import pytest

from .mixed_waits import PAIRS, run_mixed_waits


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", PAIRS)
def test_waiting_on_results_of_two_owners_in_opposite_orders_never_deadlocks(kind: str) -> None:
    print(run_mixed_waits(seed=1, kind=kind, rounds=20_000, timeout=10))
