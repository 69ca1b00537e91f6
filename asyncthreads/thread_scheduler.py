"""ThreadScheduler: the production scheduler. One OS thread per actor, real blocking waits.

This is the only module of the library that touches threads, locks and real waiting
(see :mod:`asyncthreads.scheduler` for the interface it implements).

* Each actor runs on a daemon thread named after it. The thread asks the actor for work,
  runs it, and sleeps on a :class:`queue.SimpleQueue` of wake-up tokens until woken or,
  when the actor gave a deadline, until then. (``SimpleQueue`` is implemented in C: a
  wake-up is one ``put``, cheaper than an Event or Condition.)
* The threads are daemons so that a forgotten Reactor or pool cannot keep the process
  alive for ever; instead, at interpreter exit, every pool and reactor still running is
  shut down in reverse order of creation, which lets it finish the work already queued
  (pending timers are cancelled, as by ``Reactor.shutdown``).
* Waiting for a Result blocks on a lock of the waiting thread's own (a ``_Gate``), listed
  with the Result's waiters, which release it when the Result ends. The scheduler's lock
  is held only to list and unlist it, never while blocked nor across the Python code of a
  ``threading.Condition``: a thread that lost the interpreter lock while holding the
  shared one would make every worker queue up behind it. Time-outs are real, and
  freezegun's ``freeze_time`` does not stop them (the lock's own timed wait uses the
  monotonic clock).
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from .clock import Clock, SystemClock
from .errors import DeadlockError
from .names import callable_name
from .result import _DONE
from .scheduler import STOP, Actor, Condition, Lock, Work

if TYPE_CHECKING:
    from .result import Result

__all__ = ["ThreadScheduler"]

logger = logging.getLogger("asyncthreads")

# The real monotonic clock, as SystemClock reads it (out of freezegun's reach).
_now = SystemClock.now

# Longest single blocking wait the platform accepts; longer sleeps just wake and re-ask.
_MAX_WAIT = threading.TIMEOUT_MAX


class _ActorThread(threading.Thread):
    """The thread that runs one actor; it is also that actor's handle."""

    def __init__(self, actor: Actor, clock: Clock) -> None:
        super().__init__(name=actor.name, daemon=True)
        self.actor = actor
        self.work: Work | None = None  # what it is running, for deadlock reports
        self._clock = clock
        self._wakeups: queue.SimpleQueue[None] = queue.SimpleQueue()

    def wake(self) -> None:
        self._wakeups.put(None)

    def run(self) -> None:
        actor = self.actor
        now = self._clock.now
        next_work = actor.next_work
        wait = self._wakeups.get
        empty = queue.Empty
        while True:
            work = next_work(now())
            if work is None:
                wait()
            elif isinstance(work, float):  # a deadline (a float subclass too)
                delay = work - now()
                if delay > 0:
                    with suppress(empty):
                        wait(timeout=min(delay, _MAX_WAIT))
            elif work is STOP:
                return
            else:
                self.work = work
                try:
                    work.run()
                except BaseException:  # Work.run never raises; if one does, keep the thread
                    name = getattr(work, "name", None) or type(work).__qualname__
                    logger.exception("%s: %s raised out of run()", self.name, name)
                self.work = None


class _Gate:
    """One waiting thread's wake-up, listed among a Result's waiters: it has the methods
    ``concurrent.futures`` waiters have, and the Result calls one (once) as it ends."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()  # held until the Result ends: wait() blocks on it

    def add_result(self, future: object) -> None:
        self._lock.release()

    add_exception = add_cancelled = add_result

    def wait(self, timeout: float | None) -> None:
        """Block until released or ``timeout`` seconds pass (None: no limit)."""
        if timeout is None:
            while not self._lock.acquire(timeout=_MAX_WAIT):
                pass
            return
        deadline = _now() + timeout
        while True:
            remaining = deadline - _now()
            if remaining <= 0:
                return
            if self._lock.acquire(timeout=min(remaining, _MAX_WAIT)):
                return


class ThreadScheduler:
    """Runs each actor on its own daemon thread. See the module docstring."""

    __slots__ = ("lock",)

    # No test runner collects the reports of exceptions never retrieved here: they are
    # logged when their Result is collected (a class attribute, so that a failing
    # Result's look-up of it does not raise and catch an AttributeError).
    unretrieved = None

    def __init__(self) -> None:
        # A plain attribute, not a property: every Result state change reads it.
        self.lock: Lock = threading.RLock()

    def condition(self) -> Condition:
        # A lock of its own, not self.lock: see "Concurrency rules" in asyncthreads.result.
        return threading.Condition()

    def start(self, actor: Actor, clock: Clock) -> _ActorThread:
        if getattr(clock, "manual", False):
            raise ValueError(
                f"{actor.name}: clock {clock!r} moves only when told, and a ThreadScheduler "
                "waits in real time: no timer would ever fire (pass the simulation's "
                "scheduler with its clock)"
            )
        thread = _ActorThread(actor, clock)
        thread.start()
        return thread

    def current_actor(self) -> Actor | None:
        thread = threading.current_thread()
        return thread.actor if isinstance(thread, _ActorThread) else None

    def wait(self, result: Result[Any], timeout: float | None) -> bool:
        thread = threading.current_thread()
        if isinstance(thread, _ActorThread) and result._actor is thread.actor:
            running = getattr(thread.work, "name", thread.work)
            raise DeadlockError(
                f"{running} on {thread.name} waits for {result!r}, which only "
                f"{thread.name} can complete"
            )
        gate = _Gate()
        with self.lock:
            if result._state in _DONE:
                return True
            waiters = result._watched().waiters
            waiters.append(gate)
        try:
            gate.wait(timeout)
        finally:
            with self.lock, suppress(ValueError):
                waiters.remove(gate)  # ValueError: the Result ended and let it go
        return result.done()

    def at_exit(self, callback: Callable[[], object]) -> Callable[[], None]:
        return _exit_callbacks.register(callback)

    def __repr__(self) -> str:
        return "ThreadScheduler()"


class _ExitCallbacks:
    """Callbacks run at interpreter exit, newest first; each can unregister itself."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: dict[int, Callable[[], object]] = {}
        self._keys = iter(range(1 << 62))
        atexit.register(self.run)

    def register(self, callback: Callable[[], object]) -> Callable[[], None]:
        with self._lock:
            key = next(self._keys)
            self._callbacks[key] = callback

        def unregister() -> None:
            with self._lock:
                self._callbacks.pop(key, None)

        return unregister

    def run(self) -> None:
        while True:
            with self._lock:
                if not self._callbacks:
                    return
                _, callback = self._callbacks.popitem()  # the newest
            try:
                callback()
            except Exception:
                logger.exception("shutting down at exit: %s raised", callable_name(callback))


_exit_callbacks = _ExitCallbacks()
