"""asyncthreads.testing: run the real Reactor and ThreadPool deterministically.

A :class:`Simulation` bundles a :class:`VirtualClock` (time moves only when the test
says so) and a :class:`StepScheduler` (no threads: one unit of work per step, on the
test's thread, in an order a chooser decides). Pass them to the production classes::

    sim = Simulation()
    reactor = Reactor(clock=sim.clock, scheduler=sim.scheduler)

or let the simulation build them (``sim.reactor()``, ``sim.thread_pool(n)``). Each
actor is a simulated thread: a task that blocks (a Result wait, ``sim.sleep``) suspends
only its own, and :func:`checkpoint` marks a point where another may run first.
Inside ``with sim.patched():`` the standard library's ``time.sleep``, clocks,
``threading`` and ``queue`` primitives and thread identity run on the simulation too
(:mod:`.patching`). The pytest plugin gives each test a fresh one as the
``asyncthreads_sim`` fixture.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .carriers import checkpoint
from .choosers import Candidate, Chooser, FifoChooser, PCTChooser, RandomChooser, ReplayChooser
from .explore import Exploration, NondeterministicScenarioError, explore
from .sim_thread import UnsimulatedWaitError
from .simulation import Simulation
from .step_scheduler import NeverIdleError, StepLimitError, StepScheduler
from .trace import Trace, TraceEvent
from .virtual_clock import VirtualClock

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from .stateful import ReactorMachine as ReactorMachine
    from .strategies import HypothesisChooser

__all__ = [
    "Candidate",
    "Chooser",
    "Exploration",
    "FifoChooser",
    "NeverIdleError",
    "NondeterministicScenarioError",
    "PCTChooser",
    "RandomChooser",
    "ReplayChooser",
    "Simulation",
    "StepLimitError",
    "StepScheduler",
    "Trace",
    "TraceEvent",
    "UnsimulatedWaitError",
    "VirtualClock",
    "checkpoint",
    "explore",
    "schedules",
]


def schedules() -> SearchStrategy[HypothesisChooser]:
    """A hypothesis strategy for choosers: ``Simulation(chooser=data.draw(schedules()))``.

    Hypothesis records each decision and shrinks a failing interleaving towards the fewest
    departures from FIFO. (Imported on use: hypothesis is a test dependency.)
    """
    from .strategies import schedules as strategy

    return strategy()


if not TYPE_CHECKING:  # type checkers see the import above, not a dynamic module

    def __getattr__(name: str) -> object:
        """``ReactorMachine`` (:mod:`.stateful`), imported on first use: it needs
        hypothesis.stateful, which importing this package does not import."""
        if name == "ReactorMachine":
            from .stateful import ReactorMachine

            globals()[name] = ReactorMachine
            return ReactorMachine
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
