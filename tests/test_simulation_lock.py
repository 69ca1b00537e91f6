"""The simulation's lock: a no-op that still behaves as a lock in ``with`` statements.

The production code guards its state with ``with scheduler.lock:``; on a simulation that
lock is a null lock whose ``__enter__``/``__exit__`` are C functions (for speed), so these
tests pin that it still reads and propagates as a lock does.
"""

from __future__ import annotations

import contextlib

import pytest

from asyncthreads.testing import Simulation


def test_an_exception_raised_under_the_simulation_lock_propagates() -> None:
    lock = Simulation().scheduler.lock

    with pytest.raises(KeyError, match="raised inside"), lock:
        raise KeyError("raised inside")


def test_the_simulation_lock_works_in_an_exit_stack() -> None:
    # ExitStack calls type(lock).__enter__(lock), a different call from the with statement's.
    lock = Simulation().scheduler.lock

    def raise_under_the_lock() -> None:
        with contextlib.ExitStack() as stack:
            stack.enter_context(lock)
            raise KeyError("raised inside")

    with pytest.raises(KeyError, match="raised inside"):
        raise_under_the_lock()


def test_the_simulation_lock_can_be_entered_again_while_held() -> None:
    lock = Simulation().scheduler.lock
    entered = []

    with lock, lock:
        entered.append("inner")

    assert entered == ["inner"]
