"""``Result``: the Future every asyncthreads call returns.

A Result *is* a :class:`concurrent.futures.Future`, so ``concurrent.futures.wait`` and
``as_completed``, ``asyncio.wrap_future`` (and so ``await``) and
``loop.run_in_executor(pool, ...)`` all accept it. On top of the Future API it has the
original asyncthreads names: ``get_result(timeout)``, ``wait(timeout) -> bool`` and
``traceback``.

What a caller may rely on:

* A Result ends exactly once: finished with a value, failed with an exception, or
  cancelled. Once its Reactor or ThreadPool has shut down, every Result it returned ends.
* ``cancel()`` has Future semantics: True if the call had not started (it now never
  will) or was already cancelled; False once it runs or has finished. Waiters, including
  ``concurrent.futures.wait``, are told of a cancellation at once.
* Done-callbacks run in the thread that completes the Result (or at once, in the caller's
  thread, if it is already done). An exception from one is logged on the
  ``asyncthreads`` logger and does not stop the others.
* Waiting goes through the Result's scheduler: a real blocking wait in production; in a
  simulation, waiting *drives* the simulation. Waiting on the reactor thread for a Result
  only the reactor thread could complete raises :class:`asyncthreads.DeadlockError`
  instead of hanging.

Unlike the standard Future, a Result makes no lock or condition of its own until somebody
waits on it: its state is guarded by its scheduler's lock, which keeps a pending timer small.
"""

from __future__ import annotations

import logging
import traceback as _traceback
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .errors import CancelledError

if TYPE_CHECKING:
    from .scheduler import Actor, Condition, Scheduler

__all__ = ["Result"]

T = TypeVar("T")

logger = logging.getLogger("asyncthreads")

# The state names concurrent.futures uses; its wait() and as_completed() read them.
PENDING = "PENDING"
RUNNING = "RUNNING"
CANCELLED = "CANCELLED_AND_NOTIFIED"  # we notify waiters at once, so never plain CANCELLED
FINISHED = "FINISHED"
_DONE = frozenset({"CANCELLED", CANCELLED, FINISHED})


class CancelCounting(Protocol):
    """A queue that deletes cancelled entries lazily, and so counts them.

    A Result waiting in one holds it as ``_on_cancel``. When the Result is cancelled, under
    the scheduler lock, it adds one to ``_cancelled`` and calls ``_prune()`` once that
    reaches ``_prune_at``: a cancellation costs no call unless the queue has work to do.
    """

    _cancelled: int  # cancelled entries still held
    _prune_at: int  # _prune() is due when _cancelled reaches this

    def _prune(self) -> None:
        """Under the lock: drop cancelled entries if worthwhile, and set ``_prune_at``."""
        ...


class Watchers:
    """Who is told when a Result ends: its done-callbacks, ``concurrent.futures`` waiters
    and condition variable. Made for a Result by the first of them, so that a Result
    nobody watches keeps one empty slot (a pending timer stays small, and cheap for the
    garbage collector to traverse)."""

    __slots__ = ("callbacks", "cond", "waiters")

    def __init__(self, callbacks: list[Callable[[Any], object]] | None = None) -> None:
        self.callbacks: list[Callable[[Any], object]] = callbacks if callbacks else []
        self.waiters: list[Any] = []
        self.cond: Condition | None = None


class Result(Future[T]):
    """The outcome of one call: pending, running, finished, failed or cancelled."""

    __slots__ = (
        "_actor",
        "_exception",
        "_on_cancel",
        "_owner",
        "_result",
        "_scheduler",
        "_state",
        "_watchers",
    )

    # Set when the Result finishes (left unset before: nothing reads them until then).
    _result: T | None
    _exception: BaseException | None
    # Who made this Result: the Reactor or ThreadPool that routes its deferrals.
    _owner: object
    # The actor that must run before this Result can end (for deadlock detection), if one.
    _actor: Actor | None
    # The queue (timer heap, pool queue) this Result waits in, if that queue counts its
    # cancelled entries: see CancelCounting.
    _on_cancel: CancelCounting | None
    # Guarded by the scheduler lock, like the state.
    _watchers: Watchers | None

    def __init__(self, scheduler: Scheduler, owner: object = None) -> None:
        # Future.__init__ is not called on purpose: it makes a Condition per instance
        # (about 1.6 KB). Ours is made lazily, by the first waiter.
        self._state = PENDING
        self._watchers = None
        self._scheduler = scheduler
        self._owner = owner
        self._actor = None
        self._on_cancel = None

    # -- what concurrent.futures.wait/as_completed reach into -------------------------------

    def _watched(self) -> Watchers:
        """This Result's Watchers, made now if it has none (under the lock)."""
        watchers = self._watchers
        if watchers is None:
            watchers = self._watchers = Watchers()
        return watchers

    @property
    def _condition(self) -> Condition:  # type: ignore[override]
        with self._scheduler.lock:
            watchers = self._watched()
            if watchers.cond is None:
                watchers.cond = self._scheduler.condition()
            return watchers.cond

    @property
    def _waiters(self) -> list[Any]:  # type: ignore[override]
        with self._scheduler.lock:
            return self._watched().waiters

    # -- state ----------------------------------------------------------------------------

    def done(self) -> bool:
        """True once the Result has finished, failed or been cancelled."""
        return self._state in _DONE

    def cancelled(self) -> bool:
        """True if the Result was cancelled."""
        return self._state == CANCELLED

    def running(self) -> bool:
        """True while the function is running (or has been deferred and not yet finished)."""
        return self._state == RUNNING

    def cancel(self) -> bool:
        """Cancel if the call has not started: True if it now never will run.

        Future semantics: also True if already cancelled; False if running or finished.
        """
        if self._state != PENDING:  # a settled state never changes: no lock needed
            return self._state == CANCELLED
        # _cancel_if_pending(), inlined (one Python call less: about 5% of a cancel), but
        # answering as a Future does when another thread cancelled first.
        # tests/test_cancellation.py checks that both do the same.
        with self._scheduler.lock:
            state = self._state
            if state != PENDING:
                return state == CANCELLED
            self._state = CANCELLED
            queue = self._on_cancel
            if queue is not None:  # counted here: a call per cancellation costs too much
                self._on_cancel = None
                queue._cancelled += 1
                if queue._cancelled >= queue._prune_at:
                    queue._prune()
            watchers = self._watchers
            if watchers is not None:
                self._notify_locked(watchers)
        if watchers is not None and watchers.callbacks:
            self._invoke_callbacks(watchers)
        return True

    def _cancel_if_pending(self) -> bool:
        """Cancel and return True only if this call moved the Result from pending."""
        with self._scheduler.lock:
            if self._state != PENDING:
                return False
            self._state = CANCELLED
            queue = self._on_cancel
            if queue is not None:  # counted here: a call per cancellation costs too much
                self._on_cancel = None
                queue._cancelled += 1
                if queue._cancelled >= queue._prune_at:
                    queue._prune()
            watchers = self._watchers
            if watchers is not None:
                self._notify_locked(watchers)
        if watchers is not None and watchers.callbacks:
            self._invoke_callbacks(watchers)
        return True

    def set_running_or_notify_cancel(self) -> bool:
        """Mark as running; False if it was cancelled (Executor-implementation API)."""
        with self._scheduler.lock:
            state = self._state
            if state == PENDING:
                self._state = RUNNING
                self._on_cancel = None
                return True
            if state == CANCELLED:
                return False
        raise RuntimeError(f"Result in unexpected state {state}")

    def _begin(self) -> bool:
        """Start running: False if cancelled; True if started now or already running
        (the continuation of a deferral)."""
        with self._scheduler.lock:
            state = self._state
            if state == PENDING:
                self._state = RUNNING
                self._on_cancel = None
                return True
            return state == RUNNING

    def set_result(self, result: T) -> None:
        """Finish with ``result`` (Executor-implementation API)."""
        if not self._settle(result, None):
            raise InvalidStateError(f"{self._state}: {self!r}")

    def set_exception(self, exception: BaseException | None) -> None:
        """Fail with ``exception`` (Executor-implementation API)."""
        if not self._settle(None, exception):
            raise InvalidStateError(f"{self._state}: {self!r}")

    def _settle(self, value: T | None, exception: BaseException | None) -> bool:
        """Finish or fail; False (and no change) if the Result had already ended."""
        with self._scheduler.lock:
            if self._state in _DONE:
                return False
            self._result = value
            self._exception = exception
            self._state = FINISHED
            self._on_cancel = None
            watchers = self._watchers
            if watchers is not None:
                self._notify_locked(watchers)
        if watchers is not None and watchers.callbacks:
            self._invoke_callbacks(watchers)
        return True

    def _notify_locked(self, watchers: Watchers) -> None:
        if watchers.waiters:
            # A copy: in a simulation, telling a concurrent.futures waiter sets a
            # simulated Event, a schedule point where the waiter may run and remove
            # itself from the list (the scheduler's lock excludes nothing there).
            waiters = list(watchers.waiters)
            if self._state == CANCELLED:
                for waiter in waiters:
                    waiter.add_cancelled(self)
            elif self._exception is not None:
                for waiter in waiters:
                    waiter.add_exception(self)
            else:
                for waiter in waiters:
                    waiter.add_result(self)
        if watchers.cond is not None:
            watchers.cond.notify_all()

    # -- callbacks ------------------------------------------------------------------------

    def add_done_callback(self, fn: Callable[[Future[T]], object]) -> None:
        """Call ``fn(result)`` when the Result ends (now, if it already has)."""
        with self._scheduler.lock:
            if self._state not in _DONE:
                self._watched().callbacks.append(fn)
                return
        self._call(fn)

    def _invoke_callbacks(self, watchers: Watchers) -> None:
        # After the Result ended, outside the lock: nothing can be added any more.
        callbacks = watchers.callbacks
        watchers.callbacks = []
        for fn in callbacks:
            self._call(fn)

    def _call(self, fn: Callable[[Result[T]], object]) -> None:
        try:
            fn(self)
        except Exception:
            logger.exception("done-callback %r raised for %r", fn, self)

    # -- waiting --------------------------------------------------------------------------

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until done or ``timeout`` seconds pass; True if done.

        Raises :class:`DeadlockError` at once if the calling thread is the only one that
        could complete this Result (the reactor thread waiting for a reactor call).
        """
        if self._state in _DONE:
            return True
        return self._scheduler.wait(self, timeout)

    def result(self, timeout: float | None = None) -> T:
        """The function's return value; re-raises its exception.

        Raises ``CancelledError`` if cancelled and ``TimeoutError`` if not done in
        ``timeout`` seconds.
        """
        if self._state not in _DONE and not self.wait(timeout):
            raise TimeoutError(f"{self!r} not done after {timeout} seconds")
        if self._state == CANCELLED:
            raise CancelledError()
        exception = self._exception
        if exception is not None:
            try:
                raise exception
            finally:
                # Break the cycle: the traceback's frame would otherwise hold the exception.
                exception = None
        return self._result  # type: ignore[return-value]

    get_result = result

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The function's exception, or None if it returned. Raises like :meth:`result`."""
        if self._state not in _DONE and not self.wait(timeout):
            raise TimeoutError(f"{self!r} not done after {timeout} seconds")
        if self._state == CANCELLED:
            raise CancelledError()
        return self._exception

    @property
    def traceback(self) -> str | None:
        """The formatted traceback of the function's exception; None if it returned, was
        cancelled, or has not ended yet (this does not wait)."""
        if self._state != FINISHED or self._exception is None:
            return None
        return "".join(_traceback.format_exception(self._exception))

    def __repr__(self) -> str:
        state = self._state
        if state == FINISHED:
            if self._exception is not None:
                detail = f"raised {type(self._exception).__name__}"
            else:
                detail = f"returned {type(self._result).__name__}"
            return f"<Result at {id(self):#x} state=finished {detail}>"
        name = "cancelled" if state == CANCELLED else state.lower()
        return f"<Result at {id(self):#x} state={name}>"
