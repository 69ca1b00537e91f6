"""Carriers: the greenlets that the simulated threads of a StepScheduler run on.

Work runs *inline* on the carrier that runs the stepping loop, and only when it blocks
does the carrier stay with the blocked thread while stepping goes on on another carrier
(an idle one, or a new one); when the blocked thread may continue, the stepping carrier
switches to the thread's carrier and becomes idle. Work that never blocks thus costs no
greenlet switch. The alternative, a greenlet per simulated thread switched into for
every step, costs a switch pair per step: 0.56 us against 2.6 us per firing of the
shared-instants row of ``python -m benchmarks --only simulation`` (20% slower).

An idle carrier waits at one of the two switches of :func:`_carry`, holding only a weak
reference to its scheduler, so a simulation nobody references is collected; a carrier
kept by a blocked thread holds its stack, and with it the simulation, until the thread
continues or ``StepScheduler.close()`` ends it.

:func:`checkpoint` finds the simulation from the carrier it runs on, at no cost to work
that does not call it.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from greenlet import GreenletExit, getcurrent, greenlet

if TYPE_CHECKING:
    from .step_scheduler import StepScheduler

__all__ = ["Carrier", "checkpoint"]


class Carrier(greenlet):  # type: ignore[misc]
    """A greenlet that steps a simulation; all simulated work runs on carriers."""

    def __init__(self, scheduler: StepScheduler, parent: Any) -> None:
        super().__init__(_carry, parent)
        self.scheduler_ref = weakref.ref(scheduler)


def checkpoint() -> None:
    """A schedule point: inside simulated work, the chooser may let another ready
    simulated thread run first (recorded in the replay token); FIFO continues. Outside
    a simulation (on real threads, or on the test's own thread) it does nothing.

    Put it between a read and the write that depends on it, to let exploration find
    the interleavings real threads could show there.
    """
    carrier = getcurrent()
    if type(carrier) is Carrier:
        scheduler = carrier.scheduler_ref()
        if scheduler is not None:
            scheduler.schedule_point()


def _carry() -> None:
    """A carrier greenlet's body: step the simulation for whoever needs it, for ever.

    Idle, a carrier waits at one of two switches below, holding only a weak reference
    to its scheduler; switched to, it steps the current request.
    """
    scheduler_ref = getcurrent().scheduler_ref
    while True:
        scheduler = scheduler_ref()
        if scheduler is None:
            return
        try:
            resume = scheduler._drive()
        except GreenletExit:
            raise
        except BaseException as exc:  # delivered to the test's thread
            scheduler._failure = exc
            resume = None
        scheduler._carriers.append(getcurrent())  # not kept in a local: see above
        if resume is None:  # the request is answered: back to the test
            target = scheduler._test_greenlet
        else:  # a blocked thread continues on the carrier it blocked on
            scheduler._current = resume
            target = resume.greenlet
        del scheduler, resume
        target.switch()
