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
  (pending timers are cancelled, as by ``Reactor.shutdown``), and then every actor
  thread still running is joined (a pool shut down with ``wait=False`` finishes its
  queue). After that no thread starts and nothing registers for exit (RuntimeError).
  Registered bound methods are held weakly, so a registered object can be collected.
* ``start`` raises RuntimeError naming the actor if its thread cannot start; if any
  exception leaves ``start`` after the thread began, the thread ends without asking
  the actor again.
* If ``clock.now()`` raises, the error is logged (once until it recovers) and the actor
  is asked with the last reading; if ``next_work`` raises, it is logged the same way
  and the actor asked again when woken (or after a back-off of up to a second). Either
  way the thread lives on, so the actor can still stop.
* In the child of ``os.fork()`` only the forking thread exists: the schedulers' locks
  are made anew, nothing inherited is shut down at exit, and each actor whose thread
  did not survive has its ``after_fork_in_child()`` called, if it has one (a pool
  worker's shuts its pool down with no workers).
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
import os
import queue
import threading
import weakref
from collections.abc import Callable
from contextlib import suppress
from types import MethodType
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

_INFINITY = float("inf")

# After the clock or next_work raised: the first wait before trying again (seconds).
_RETRY = 0.01


class _ActorThread(threading.Thread):
    """The thread that runs one actor; it is also that actor's handle."""

    def __init__(self, actor: Actor, clock: Clock) -> None:
        super().__init__(name=actor.name, daemon=True)
        self.actor = actor
        self.work: Work | None = None  # what it is running, for deadlock reports
        self.abandoned = False  # its start was undone: end without asking again
        self._clock = clock
        self._wakeups: queue.SimpleQueue[None] = queue.SimpleQueue()

    def wake(self) -> None:
        self._wakeups.put(None)

    def run(self) -> None:
        try:
            self._serve()
        finally:
            _actor_threads.discard(self)

    def _serve(self) -> None:
        actor = self.actor
        clock_now = self._clock.now
        next_work = actor.next_work
        wait = self._wakeups.get
        empty = queue.Empty
        now = -_INFINITY  # the last reading of the clock: before any deadline
        # Failures in a row, of the clock and of next_work: only the first is logged.
        clock_failures = actor_failures = 0
        while not self.abandoned:
            try:
                now = clock_now()
                clock_failures = 0
            except BaseException:  # a broken clock: the actor still runs, with no new time
                clock_failures = self._clock_failed(clock_failures)
            try:
                work = next_work(now)
                actor_failures = 0
            except BaseException:  # a bug in the actor: logged, then retried when woken
                actor_failures = self._next_work_failed(actor_failures)
                continue
            if work is None:
                wait()
            elif isinstance(work, float):  # a deadline (a float subclass too)
                try:
                    delay = work - clock_now()
                except BaseException:
                    clock_failures = self._clock_failed(clock_failures)
                    delay = _RETRY
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

    def _clock_failed(self, failures: int) -> int:
        # Logged the first time in a row; the actor is asked with the last reading, so
        # work that needs no time (a pool's tasks, queued calls, stopping) goes on.
        if not failures:
            logger.exception(
                "%s: %r.now() raised; going on with its last reading", self.name, self._clock
            )
        return failures + 1

    def _next_work_failed(self, failures: int) -> int:
        # A bug in the actor's own bookkeeping: logged the first time in a row, then the
        # thread waits to be woken, or a back-off of up to a second, and asks again.
        if not failures:
            logger.exception("%s: next_work raised; asking again when woken", self.name)
        with suppress(queue.Empty):
            self._wakeups.get(timeout=min(_RETRY * (failures + 1), 1.0))
        return failures + 1


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

    __slots__ = ("__weakref__", "lock")

    # No test runner collects the reports of exceptions never retrieved here: they are
    # logged when their Result is collected (a class attribute, so that a failing
    # Result's look-up of it does not raise and catch an AttributeError).
    unretrieved = None

    def __init__(self) -> None:
        # A plain attribute, not a property: every Result state change reads it.
        self.lock: Lock = threading.RLock()
        _schedulers.add(self)  # its lock is made new in the child of a fork

    def condition(self) -> Condition:
        # A lock of its own, not self.lock: see "Concurrency rules" in asyncthreads.result.
        return threading.Condition()

    def start(self, actor: Actor, clock: Clock) -> _ActorThread:
        """Start a thread for ``actor``.

        Raises RuntimeError if the thread cannot be started (the system's limit on
        threads) or the interpreter is exiting. Then, or if an exception (an interrupt)
        leaves while the thread starts, the actor is never asked for work.
        """
        if getattr(clock, "manual", False):
            raise ValueError(
                f"{actor.name}: clock {clock!r} moves only when told, and a ThreadScheduler "
                "waits in real time: no timer would ever fire (pass the simulation's "
                "scheduler with its clock)"
            )
        if _exit.started:
            raise RuntimeError(f"cannot start {actor.name}: the interpreter is shutting down")
        thread = _ActorThread(actor, clock)
        try:
            thread.start()
            _actor_threads.add(thread)
            return thread
        except Exception as exc:
            thread.abandoned = True  # if it did start after all, it ends at once
            thread.wake()
            raise RuntimeError(f"cannot start a thread for {actor.name}: {exc}") from exc
        except BaseException:
            thread.abandoned = True
            thread.wake()
            raise

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
        return _exit.register(callback)

    def __repr__(self) -> str:
        return "ThreadScheduler()"


class _ExitCallbacks:
    """What happens at interpreter exit, as ``concurrent.futures`` does it.

    Registered callbacks (the pools' and reactors' shutdowns) run newest first; then
    every actor thread still running is joined, so work queued in a pool shut down with
    ``wait=False`` still runs. From then on no thread starts (``ThreadScheduler.start``
    raises RuntimeError), so work submitted from a later ``atexit`` hook is refused.
    A bound method is held weakly: a registered pool or reactor can still be collected.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: dict[int, Callable[[], object]] = {}
        self._keys = iter(range(1 << 62))
        self.started = False

    def register(self, callback: Callable[[], object]) -> Callable[[], None]:
        if self.started:  # a pool or reactor made by a late atexit hook: it would never end
            raise RuntimeError("cannot register for exit: the interpreter is shutting down")
        if isinstance(callback, MethodType):
            method = weakref.WeakMethod(callback)

            def call_if_alive() -> None:
                bound = method()
                if bound is not None:
                    bound()

            entry: Callable[[], object] = call_if_alive
        else:
            entry = callback
        with self._lock:
            key = next(self._keys)
            self._callbacks[key] = entry

        def unregister() -> None:
            with self._lock:
                self._callbacks.pop(key, None)

        return unregister

    def run(self) -> None:
        self.started = True
        while True:
            with self._lock:
                if not self._callbacks:
                    break
                _, callback = self._callbacks.popitem()  # the newest
            try:
                callback()
            except Exception:
                logger.exception("shutting down at exit: %s raised", callable_name(callback))
        current = threading.current_thread()
        while True:
            running = [t for t in list(_actor_threads) if t is not current and t.is_alive()]
            if not running:
                return
            for thread in running:
                thread.join()

    def after_fork_in_child(self) -> None:
        # The child has one thread, this one: locks another thread held are reset, and
        # each actor whose thread did not survive is told (a pool shuts down with no
        # workers). Inherited pools and reactors were the parent's: not shut down at exit.
        self._lock = threading.Lock()
        self._callbacks.clear()
        self.started = False
        for scheduler in list(_schedulers):
            _reinit(scheduler.lock)
        inherited = list(_actor_threads)
        _actor_threads.clear()
        for thread in inherited:
            forget = getattr(thread.actor, "after_fork_in_child", None)
            if forget is not None:
                try:
                    forget()
                except Exception:
                    logger.exception("after fork: %r raised", forget)


def _reinit(lock: Lock) -> None:
    # threading's own locks are reset so in the child of a fork (3.9+).
    reinit = getattr(lock, "_at_fork_reinit", None)
    if reinit is not None:
        reinit()


_schedulers: weakref.WeakSet[ThreadScheduler] = weakref.WeakSet()
_actor_threads: set[_ActorThread] = set()  # started and still running
_exit = _ExitCallbacks()
atexit.register(_exit.run)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_exit.after_fork_in_child)
