"""Who runs work, and how waiting works: the ``Scheduler`` interface.

Reactor and ThreadPool are thread-free cores: they keep queues, timers and worker
bookkeeping, and decide *what* runs next. A scheduler decides *who runs it and when*. It
runs **actors** (the reactor's loop, each pool worker), implements waiting for a Result,
and supplies the lock that guards the cores' state.

An actor is a serial stream of work. Its scheduler asks it ``next_work(now)`` over and
over, one call at a time, and acts on the answer:

* a :class:`Work` item: run it now (``work.run()``), on this actor, then ask again;
* a ``float`` deadline: nothing to do before that ``clock.now()`` time; ask again then,
  or sooner if woken;
* ``None``: nothing to do; ask again when woken;
* :data:`STOP`: the actor has finished; forget it.

``next_work`` never blocks and runs no user code, except that an actor answering STOP
may first end the Results it can no longer run (running their done-callbacks); a
scheduler may call it whenever it likes. ``Work.run()`` runs user code and never raises.

The cores call ``handle.wake()`` when an actor that last answered ``None`` or a deadline
may now have something to do. Waking an actor that is busy, or waking it twice, is
harmless: it costs one more ``next_work`` call.

Two schedulers exist: :class:`asyncthreads.ThreadScheduler` (one OS thread per actor,
real blocking waits) and ``asyncthreads.testing.StepScheduler`` (no threads; the test
steps the actors). Another driver, say one on an asyncio loop, implements the six
members of :class:`Scheduler` and the two of :class:`ActorHandle` below. Optionally, an
``unretrieved`` attribute holding a list receives the report of each failed Result (see
:class:`asyncthreads.result.UnretrievedException`), for a test runner to check; the
constructors check that a scheduler has the six members.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Protocol

from .clock import Clock

if TYPE_CHECKING:
    from .result import Result

__all__ = ["STOP", "Actor", "ActorHandle", "Condition", "Lock", "Scheduler", "Stop", "Work"]


class Stop(enum.Enum):
    """The type of :data:`STOP`."""

    STOP = "STOP"


STOP: Final = Stop.STOP
"""Returned by ``Actor.next_work`` when the actor has finished for good."""


class Work(Protocol):
    """One unit of work an actor runs: a queued call, a timer, one run of a periodic task."""

    @property
    def future(self) -> Result[Any]:
        """The Result this work completes (or, for a periodic task, belongs to)."""
        ...

    def run(self) -> None:
        """Run the work on the current actor. Never raises: failures go to the Result."""
        ...


class Actor(Protocol):
    """A serial stream of work: the reactor loop or one pool worker."""

    @property
    def name(self) -> str:
        """A name for threads, traces and error reports."""
        ...

    def next_work(self, now: float) -> Work | float | Stop | None:
        """What to do next at clock time ``now`` (see the module docstring)."""
        ...


class ActorHandle(Protocol):
    """What a scheduler returns for a started actor."""

    def wake(self) -> None:
        """Ask the actor for work again soon. Callable from any thread; never blocks."""
        ...

    def join(self) -> None:
        """Return once the actor has answered STOP and its thread (if any) has ended."""
        ...


class Lock(Protocol):
    """A reentrant mutual-exclusion lock."""

    def acquire(self, blocking: bool = ..., timeout: float = ...) -> bool: ...

    def release(self) -> None: ...

    # What ``with lock as x`` binds: True for a threading lock; nothing here relies on it.
    def __enter__(self) -> object: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class Condition(Protocol):
    """A condition variable, as :class:`threading.Condition` (Result waiters use it)."""

    def __enter__(self) -> object: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def acquire(self, blocking: bool = ..., timeout: float = ...) -> bool: ...

    def release(self) -> None: ...

    def wait(self, timeout: float | None = None) -> bool: ...

    def wait_for(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool: ...

    def notify_all(self) -> None: ...


class Scheduler(Protocol):
    """Runs actors and implements waiting. See the module docstring."""

    @property
    def lock(self) -> Lock:
        """The reentrant lock guarding the state of every core and Result on this scheduler.

        Held only for short bookkeeping, never while user code runs. On the paths every
        call takes, the cores and Results enter it with ``with`` and hold it across no
        function call: on CPython a thread gives up the interpreter lock only at a call
        or a loop's back edge (``lock.acquire()`` is followed by one; ``with`` is not),
        so a section without one is never interrupted, and threads never queue up on
        this lock. Where a thread could be interrupted while holding it, measured runs of
        4 workers fell into lock convoys: a context switch per task, 3x slower.
        """
        ...

    def condition(self) -> Condition:
        """A new condition variable with a lock of its own (never :attr:`lock`), made for
        a Result the first time ``concurrent.futures.wait`` or ``as_completed`` reaches for
        its ``_condition``. Those hold the conditions of all the futures they wait on, in
        ``id()`` order: one shared lock would deadlock two threads waiting on Results of
        two schedulers. It is taken without :attr:`lock` held, and may be held while
        taking :attr:`lock` (see "Concurrency rules" in :mod:`asyncthreads.result`)."""
        ...

    def start(self, actor: Actor, clock: Clock) -> ActorHandle:
        """Begin running ``actor``; deadlines it returns are in ``clock`` time."""
        ...

    def current_actor(self) -> Actor | None:
        """The actor whose work is running on the calling thread, or None."""
        ...

    def wait(self, result: Result[Any], timeout: float | None) -> bool:
        """Wait until ``result`` is done or ``timeout`` seconds pass; return ``result.done()``.

        Raises :class:`asyncthreads.DeadlockError` instead of waiting when the calling
        actor is ``result._actor``, the one actor that must run for it to end.
        """
        ...

    def at_exit(self, callback: Callable[[], object]) -> Callable[[], None]:
        """Call ``callback`` when the program ends (a scheduler with no such notion may not).

        Returns a function that unregisters it. Callbacks run in reverse order of
        registration, so a Reactor registered after its pool shuts down first.
        """
        ...
