"""Simulated ``threading.Event``, ``Semaphore``, ``BoundedSemaphore`` and ``Barrier``.

Each *is* its standard library class (``isinstance`` holds) and keeps that class's
logic, built on a :class:`~.sim_locks.SimCondition` instead of a real one: a wait
suspends only the calling simulated thread, its timeout is in virtual seconds, and the
condition's lock makes every set, wait, acquire and release a schedule point. The
semantics are the standard library's by construction: the Event's flag and its "a
notified waiter returns True", the semaphores' counts and ``ValueError`` on too many
releases, the Barrier's broken state, ``abort``, ``reset`` and default timeout.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from .sim_blocking import deadline_after, label
from .sim_locks import SimCondition, SimLock

if TYPE_CHECKING:
    from .step_scheduler import StepScheduler

__all__ = ["SimBarrier", "SimBoundedSemaphore", "SimEvent", "SimSemaphore"]


class SimEvent(threading.Event):
    """A simulated ``threading.Event``."""

    def __init__(self, scheduler: StepScheduler) -> None:
        # threading.Event.__init__ is not called: it would make a real Condition.
        name = label(scheduler, "Event")
        self._cond = SimCondition(scheduler, SimLock(scheduler, name=name), name=name)
        self._flag = False

    def __repr__(self) -> str:
        return f"<simulated {self._cond.label}: {'set' if self._flag else 'unset'}>"


class SimSemaphore(threading.Semaphore):
    """A simulated ``threading.Semaphore``."""

    def __init__(self, scheduler: StepScheduler, value: int = 1) -> None:
        if value < 0:
            raise ValueError("semaphore initial value must be >= 0")
        self._scheduler = scheduler
        name = label(scheduler, type(self).__name__[3:])
        self._cond = SimCondition(scheduler, SimLock(scheduler, name=name), name=name)
        self._value = value

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """As ``threading.Semaphore.acquire``, with ``timeout`` in virtual seconds."""
        if not blocking and timeout is not None:
            raise ValueError("can't specify timeout for non-blocking acquire")
        clock = self._scheduler.clock
        deadline = deadline_after(clock, timeout)
        with self._cond:
            while self._value == 0:
                if not blocking:
                    return False
                if deadline is None:
                    self._cond.wait()
                else:
                    remaining = deadline - clock.now()
                    if remaining <= 0:
                        return False
                    self._cond.wait(remaining)
            self._value -= 1
            return True

    __enter__ = acquire

    def __repr__(self) -> str:
        return f"<simulated {self._cond.describe()}: value={self._value}>"


class SimBoundedSemaphore(SimSemaphore, threading.BoundedSemaphore):
    """A simulated ``threading.BoundedSemaphore``: releasing above the initial value
    raises ``ValueError``."""

    def __init__(self, scheduler: StepScheduler, value: int = 1) -> None:
        super().__init__(scheduler, value)
        self._initial_value = value


class SimBarrier(threading.Barrier):
    """A simulated ``threading.Barrier``."""

    def __init__(
        self,
        scheduler: StepScheduler,
        parties: int,
        action: Callable[[], None] | None = None,
        timeout: float | None = None,
    ) -> None:
        # The standard library's state, on a simulated condition.
        super().__init__(parties, action, timeout)
        name = label(scheduler, "Barrier")
        self._cond = SimCondition(scheduler, SimLock(scheduler, name=name), name=name)
