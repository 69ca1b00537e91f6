"""What the simulated primitives need of a scheduler, and where user code made them.

The simulated locks, events and queues (:mod:`.sim_locks`, :mod:`.sim_sync`,
:mod:`.sim_queues`) suspend a simulated thread through four methods of the
:class:`~asyncthreads.testing.StepScheduler`, gathered here as :class:`BlockingScheduler`
so that each primitive depends on nothing else:

* ``current_thread()``: the simulated thread running now (the test's own thread outside
  any simulated work);
* ``block(waiting_for, deadline)``: suspend it until ``wake(thread)`` (True) or until
  virtual time reaches ``deadline`` (False); on the test's thread it drives the simulation;
* ``wake(thread)``: make a blocked thread runnable at the current instant;
* ``schedule_point()``: let the chooser run another ready thread first.

Every primitive also describes itself for deadlock reports (:class:`Blocker`): its kind,
the user code line that made it, and the threads that hold it.
"""

from __future__ import annotations

import math
import os
import sys
import threading
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .virtual_clock import VirtualClock

__all__ = ["Blocker", "BlockingScheduler", "SimThread", "creation_site", "deadline_after"]


class SimThread(Protocol):
    """One simulated thread: a pool worker, the reactor loop, or the test's own thread."""

    @property
    def name(self) -> str: ...

    @property
    def ident(self) -> int: ...


class Blocker(Protocol):
    """What a blocked simulated thread waits for, as deadlock reports show it."""

    def describe(self) -> str: ...

    def holders(self) -> list[SimThread]: ...


class BlockingScheduler(Protocol):
    """The part of a StepScheduler the simulated primitives use (see module docstring)."""

    @property
    def clock(self) -> VirtualClock: ...

    def current_thread(self) -> SimThread: ...

    def block(self, waiting_for: Blocker, deadline: float | None) -> bool: ...

    def wake(self, thread: SimThread) -> None: ...

    def schedule_point(self) -> None: ...


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


# Frames in these files are machinery, not the user code that made a primitive: this
# package, and the standard library modules that build on the primitives.
_TESTING_DIR = os.path.dirname(os.path.abspath(__file__))
_STDLIB_DIR = os.path.dirname(os.path.abspath(threading.__file__))
_STDLIB_MACHINERY = (
    os.path.join(_STDLIB_DIR, "threading.py"),
    os.path.join(_STDLIB_DIR, "queue.py"),
    os.path.join(_STDLIB_DIR, "concurrent", "futures"),
)


def creation_site(skip: int = 2) -> str:
    """``file:line`` of the innermost frame above ``skip`` that is user code."""
    frame = sys._getframe(skip)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith((_TESTING_DIR, *_STDLIB_MACHINERY)):
            return f"{os.path.basename(filename)}:{frame.f_lineno}"
        frame = frame.f_back  # type: ignore[assignment]
    return "?"
