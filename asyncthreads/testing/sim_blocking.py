"""What the simulated primitives share: the thread type, deadlines, and where user code
made a primitive.

The simulated locks, events and queues (:mod:`.sim_locks`, :mod:`.sim_sync`,
:mod:`.sim_queues`) suspend a simulated thread through the blocking interface of
:class:`~asyncthreads.testing.StepScheduler` only: ``current_thread()``,
``block(waiting_for, deadline)``, ``wake(thread)`` and ``schedule_point()``. Each
primitive is the :class:`~.sim_thread.Blocker` its waiters block on: it describes itself
for deadlock reports (its kind, a number in order of making, the user code line that
made it) and names the threads that hold it.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
import weakref
from typing import TYPE_CHECKING, TypeAlias

from .sim_thread import user_frame

if TYPE_CHECKING:
    from .sim_thread import SimThread, TestThread
    from .step_scheduler import StepScheduler
    from .virtual_clock import VirtualClock

__all__ = ["AnyThread", "creation_site", "deadline_after", "label"]


AnyThread: TypeAlias = "SimThread | TestThread"
"""A simulated thread, or the test's own thread standing as one."""

_made: weakref.WeakKeyDictionary[StepScheduler, itertools.count[int]] = weakref.WeakKeyDictionary()


def label(scheduler: StepScheduler, kind: str) -> str:
    """``"<kind> <n> (made at file:line)"``: the n-th primitive made on ``scheduler``
    (numbers are stable across replays), and the user code that made it."""
    counter = _made.get(scheduler)
    if counter is None:
        counter = _made[scheduler] = itertools.count(1)
    return f"{kind} {next(counter)} (made at {creation_site(2)})"


def deadline_after(clock: VirtualClock, timeout: float | None) -> float | None:
    """The virtual deadline ``timeout`` seconds from now; None (never) for None.

    A negative timeout is a deadline of now, as the standard library's waits treat it.
    """
    if timeout is None:
        return None
    timeout = float(timeout)
    if math.isnan(timeout):
        raise ValueError("timeout must not be NaN")
    return clock.now() + max(0.0, timeout)


def creation_site(skip: int = 2) -> str:
    """``file:line`` (the file's base name) of the innermost user frame from ``skip``
    frames up outwards: the code that made a primitive."""
    where = user_frame(sys._getframe(skip))
    if where is None:
        return "?"
    filename, _, line = where.rpartition(":")
    return f"{os.path.basename(filename)}:{line}"
