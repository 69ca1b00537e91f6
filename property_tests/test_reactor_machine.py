"""The ready-made state machine (:mod:`asyncthreads.testing.stateful`) over the Reactor and
its ThreadPool, and an example of extending it the way a downstream project would.

CI runs the ``ci`` hypothesis profile (see ``conftest.py``: 50 programs of 30 rules,
derandomized). For a deeper run, thousands of longer random programs::

    HYPOTHESIS_PROFILE=deep pytest property_tests -n auto

A failure prints the shrunk program of rules, and the report's "asyncthreads
simulation" section gives the replay token and timeline of its simulation.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest
from hypothesis import settings
from hypothesis.stateful import invariant, precondition, rule

import asyncthreads.testing
from asyncthreads import Reactor, Result
from asyncthreads.testing import ReactorMachine

# Each machine takes under a second under "ci", and about 70 s (one core) under "deep".
pytestmark = pytest.mark.timeout(900 if settings.get_current_profile_name() == "deep" else 60)

TestReactorMachine = ReactorMachine.TestCase


# -- extending the machine: downstream code on the same reactor -----------------------------


class Debouncer:
    """Downstream code under test: ``flush()`` runs once, ``delay`` seconds after the first
    of a burst of ``trigger()`` calls, on the reactor thread."""

    def __init__(self, reactor: Reactor, delay: float, flush: Callable[[], object]) -> None:
        self._reactor = reactor
        self._delay = delay
        self._flush = flush
        self._pending: Result[None] | None = None

    @property
    def pending(self) -> bool:
        return self._pending is not None

    def trigger(self) -> None:
        if self._pending is None:
            self._pending = self._reactor.call_later(self._delay, self._fire)

    def _fire(self) -> None:
        self._pending = None
        self._flush()


class DebouncerMachine(ReactorMachine):
    """The machine's rules and checks, plus a Debouncer on the same simulation and reactor:
    its triggers interleave with every kind of reactor and pool work, cancellations, pool
    resizes and shutdown."""

    DELAY = 1.0

    def setup(self) -> None:
        self.debouncer = Debouncer(self.reactor, self.DELAY, self.flushed)
        self.burst_started: float | None = None  # the model: first trigger since a flush

    @precondition(lambda self: self.accepting_work)
    @rule()
    def trigger(self) -> None:
        if self.burst_started is None:
            self.burst_started = self.sim.now
        self.debouncer.trigger()

    def flushed(self) -> None:
        if self.burst_started is None:
            self.fail("the debouncer flushed with no trigger since the last flush")
        if self.sim.now != self.burst_started + self.DELAY:
            self.fail(f"flushed at t={self.sim.now}, burst began at t={self.burst_started}")
        self.burst_started = None

    @invariant()
    def burst_flushed_on_time(self) -> None:
        if not self.initialized or self.shutdown_started is not None:
            return  # a shutdown cancels the pending flush
        if self.debouncer.pending != (self.burst_started is not None):
            self.fail(f"debouncer pending={self.debouncer.pending}, model {self.burst_started}")
        due = None if self.burst_started is None else self.burst_started + self.DELAY
        if self.settled and due is not None and self.sim.now >= due:
            self.fail(f"burst from t={self.burst_started} not flushed by t={self.sim.now}")


TestDebouncerMachine = DebouncerMachine.TestCase


# -- the package exports it lazily ----------------------------------------------------------


def test_importing_asyncthreads_testing_does_not_import_hypothesis() -> None:
    code = (
        "import sys, asyncthreads.testing\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'hypothesis'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert out.stdout.strip() == "[]"


def test_reactor_machine_is_exported_lazily_from_asyncthreads_testing() -> None:
    from asyncthreads.testing.stateful import ReactorMachine as defined

    assert asyncthreads.testing.ReactorMachine is defined
    assert ReactorMachine is defined
