"""Every scenario of the suite, by name, as a function of a seed, at a brief (CI) or a
long (``python -m stress``) scale. See :mod:`stress` for what each one finds."""

from __future__ import annotations

import random
from collections.abc import Callable

from .bounded_queue import run_bounded_queue
from .interrupts import EXCEPTIONS, OPERATIONS, run_interrupt_sweep
from .mixed_waits import PAIRS, run_mixed_waits
from .shutdown_races import run_busy_shutdown, run_raising_done_callbacks
from .thread_start import CASES, run_thread_start_failure
from .workload import Workload, run_workload

__all__ = ["SCENARIOS", "Scenario"]

Scenario = Callable[[int], str]  # seed -> a summary; raises StressFailure

SWITCH_INTERVALS = (1e-5, 5e-4, 5e-3)


def _workload(seed: int) -> str:
    rng = random.Random(seed)
    return run_workload(
        Workload(
            seed,
            operations=10_000,
            switch_interval=rng.choice(SWITCH_INTERVALS),
            mixed_waits=rng.random() < 0.3,
            introspect=rng.random() < 0.3,
        )
    )


def _mixed_waits(seed: int) -> str:
    return run_mixed_waits(seed, random.Random(seed).choice(PAIRS), rounds=100_000)


def _bounded_queue(seed: int) -> str:
    return run_bounded_queue(seed, workers=random.Random(seed).choice([1, 4]), operations=50_000)


def _busy_shutdown(seed: int) -> str:
    return run_busy_shutdown(seed, tasks=200_000, reactor=random.Random(seed).random() < 0.5)


def _interrupts(seed: int) -> str:
    rng = random.Random(seed)
    return run_interrupt_sweep(rng.choice(list(OPERATIONS)), rng.choice(list(EXCEPTIONS)))


def _raising_done_callbacks(seed: int) -> str:
    return run_raising_done_callbacks(random.Random(seed).choice([KeyboardInterrupt, SystemExit]))


def _thread_start(seed: int) -> str:
    return run_thread_start_failure(random.Random(seed).choice(list(CASES)))


SCENARIOS: dict[str, Scenario] = {
    "workload": _workload,
    "mixed_waits": _mixed_waits,
    "bounded_queue": _bounded_queue,
    "busy_shutdown": _busy_shutdown,
    "interrupts": _interrupts,
    "raising_done_callbacks": _raising_done_callbacks,
    "thread_start": _thread_start,
}
