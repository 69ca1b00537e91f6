"""Simulated threads: what a StepScheduler knows of each thread of a simulation.

A simulation has one :class:`SimThread` per actor (the reactor loop, each pool worker)
and one :class:`TestThread` standing for the test's own thread. None of them is an OS
thread: all run on the test's thread, one at a time.

A simulated thread that blocks (a Result wait, ``sim.sleep``, a simulated lock, ...)
calls ``StepScheduler.block(waiting_for, deadline)``: its stack is suspended (a greenlet)
while the others run, until ``StepScheduler.wake(thread)`` or the deadline; what it
waits for is a :class:`Blocker`, used only for reports. The test's thread that blocks
drives the simulation instead (it is never suspended).

States of a SimThread, as the scheduler keeps them:

* idle: asked for work when woken or at its deadline (``poll_pending``, ``_timed``);
* ready: holding work it has not started (``holding``, in the ready queue);
* running: its work is on the stack now (``running``, the scheduler's ``_current``);
* blocked: its work is suspended in ``block()`` (``greenlet`` set, ``resumable`` False);
* resumable: blocked, then woken or timed out; in the ready queue to continue.
"""

from __future__ import annotations

import os
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..result import Result
    from ..scheduler import Actor, Work
    from .step_scheduler import StepScheduler

__all__ = [
    "YIELDED",
    "Blocker",
    "ResultBlocker",
    "SimThread",
    "SleepBlocker",
    "TestThread",
    "UnsimulatedWaitError",
    "YieldBlocker",
    "user_frame",
]


class UnsimulatedWaitError(BaseException):
    """A wait the simulation cannot suspend: a done-callback that blocks while the
    scheduler itself runs it (asking an actor that is stopping for work).

    A BaseException, like KeyboardInterrupt, so that ``except Exception`` in user code
    cannot swallow it and silently change the run.
    """


class Blocker(Protocol):
    """What a blocked simulated thread waits for; used only for reports."""

    def describe(self) -> str:
        """What it is: "Lock 0x.. held by ThreadPool-2", "the Result of fetch", ..."""
        ...

    def holders(self) -> list[Any]:
        """The simulated threads that hold it (a lock's owner), for cycle reports."""
        ...


class SleepBlocker:
    """A sleep: nothing but time ends it."""

    __slots__ = ("until",)

    def __init__(self, until: float) -> None:
        self.until = until

    def describe(self) -> str:
        return f"sleep until t={self.until}"

    def holders(self) -> list[Any]:
        return []


class ResultBlocker:
    """A wait for a Result, named only when a report asks (naming it searches every
    queue of the simulation)."""

    __slots__ = ("result", "scheduler")

    def __init__(self, result: Result[Any], scheduler: StepScheduler) -> None:
        self.result = result
        self.scheduler = scheduler

    def describe(self) -> str:
        from .reports import describe_result

        return describe_result(self.scheduler, self.result)

    def holders(self) -> list[Any]:
        return []


class YieldBlocker:
    """What a thread preempted at a schedule point waits for: its turn."""

    __slots__ = ()

    def describe(self) -> str:
        return "its turn (preempted at a schedule point)"

    def holders(self) -> list[Any]:
        return []


YIELDED = YieldBlocker()


class SimThread:
    """One simulated thread: an actor of the simulation, and its handle for the cores.

    ``name`` is the actor's (unique within the simulation); ``ident`` is its start
    number plus one (the test's thread is 0), stable across replays.
    """

    __slots__ = (
        "actor",
        "blocker",
        "greenlet",
        "holding",
        "ident",
        "name",
        "number",
        "poll_pending",
        "resumable",
        "running",
        "scheduler",
        "stopped",
        "woken",
    )

    holding: Work | None
    running: Work | None

    def __init__(self, actor: Actor, scheduler: StepScheduler, number: int) -> None:
        self.actor = actor
        self.name = actor.name
        self.number = number  # in start order: how replay tokens name the actor
        self.ident = number + 1
        self.scheduler = scheduler
        self.holding = None  # the work it has taken and not yet run
        self.poll_pending = False
        self.running = None  # the work on its stack (perhaps suspended in a block)
        self.stopped = False
        # While blocked: the suspended greenlet, what it waits for, whether it is in the
        # ready queue to continue, and what block() will return (True: woken).
        self.greenlet: Any = None
        self.blocker: Blocker | None = None
        self.resumable = False
        self.woken = False

    def wake(self) -> None:
        # An actor holding or running work is asked again when that work ends (see
        # StepScheduler._drive), so only an idle one is listed to be asked.
        if not (
            self.poll_pending
            or self.stopped
            or self.holding is not None
            or self.running is not None
        ):
            self.poll_pending = True
            self.scheduler._to_poll.append(self)

    def join(self) -> None:
        if not self.stopped:
            raise RuntimeError(f"{self.name} has not stopped; only a stopped actor is joined")

    def where(self) -> str | None:
        """file:line of the user code where this thread is blocked, or None."""
        greenlet = self.greenlet
        if greenlet is None:
            return None
        return user_frame(greenlet.gr_frame)

    def __repr__(self) -> str:
        return f"<simulated thread {self.name}>"


class TestThread:
    """The test's own thread, as a simulated thread: it drives instead of suspending."""

    __slots__ = ("blocker", "name", "woken")

    ident = 0
    __test__ = False  # not a test class, whatever pytest guesses from its name

    def __init__(self) -> None:
        self.name = "MainThread"
        self.blocker: Blocker | None = None
        self.woken = False

    def __repr__(self) -> str:
        return "<simulated thread MainThread (the test)>"


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
# The standard library modules whose blocking calls the simulated primitives stand under
# (an Event's wait is threading.py's): a report names their caller.
_STDLIB = os.path.dirname(os.path.abspath(threading.__file__))
_MACHINERY = (
    _PACKAGE,
    os.path.join(_STDLIB, "threading.py"),
    os.path.join(_STDLIB, "queue.py"),
    os.path.join(_STDLIB, "concurrent", "futures") + os.sep,
)


def user_frame(frame: FrameType | None) -> str | None:
    """file:line of the innermost frame outside asyncthreads (and the standard library's
    threading, queue and concurrent.futures), from ``frame`` outwards."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_MACHINERY):
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back
    return None
