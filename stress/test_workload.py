"""The mixed workload, briefly: see :mod:`stress.workload`."""

from __future__ import annotations

import pytest

from .workload import Workload, run_workload

SWITCH_INTERVALS = [1e-5, 5e-4, 5e-3]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("switch_interval", SWITCH_INTERVALS)
@pytest.mark.parametrize("seed", [1, 2])
def test_producers_cancels_resizes_faults_and_shutdowns_lose_and_duplicate_nothing(
    seed: int, switch_interval: float
) -> None:
    print(run_workload(Workload(seed, switch_interval=switch_interval)))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("seed", [1, 2])
def test_waiting_on_mixed_results_meanwhile_deadlocks_nothing(seed: int) -> None:
    print(run_workload(Workload(seed, switch_interval=1e-5, mixed_waits=True)))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("seed", [1, 2])
def test_introspection_meanwhile_never_raises(seed: int) -> None:
    print(run_workload(Workload(seed, switch_interval=1e-5, introspect=True)))
