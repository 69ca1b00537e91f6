"""asyncthreads.testing: run the real Reactor and ThreadPool deterministically.

A :class:`Simulation` bundles a :class:`VirtualClock` (time moves only when the test
says so) and a :class:`StepScheduler` (no threads: one unit of work per step, on the
test's thread, in an order a chooser decides). Pass them to the production classes::

    sim = Simulation()
    reactor = Reactor(clock=sim.clock, scheduler=sim.scheduler)

or let the simulation build them (``sim.reactor()``, ``sim.thread_pool(n)``).
The pytest plugin gives each test a fresh one as the ``asyncthreads_sim`` fixture.
"""

from .choosers import Chooser, FifoChooser, RandomChooser, ReplayChooser
from .simulation import Simulation
from .step_scheduler import BlockedTaskError, NeverIdleError, StepLimitError, StepScheduler
from .trace import Trace, TraceEvent
from .virtual_clock import VirtualClock

__all__ = [
    "BlockedTaskError",
    "Chooser",
    "FifoChooser",
    "NeverIdleError",
    "RandomChooser",
    "ReplayChooser",
    "Simulation",
    "StepLimitError",
    "StepScheduler",
    "Trace",
    "TraceEvent",
    "VirtualClock",
]
