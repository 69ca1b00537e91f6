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
  thread, if it is already done). An ``Exception`` from one is logged on the
  ``asyncthreads`` logger, by the callback's qualified name, and does not stop the
  others. A ``BaseException`` (``KeyboardInterrupt``, ``SystemExit``) does not stop them
  either: it is re-raised to the completing thread once every callback has run.
* Waiting goes through the Result's scheduler: a real blocking wait in production; in a
  simulation, waiting *drives* the simulation. Waiting on the reactor thread for a Result
  only the reactor thread could complete raises :class:`asyncthreads.DeadlockError`
  instead of hanging. A ``timeout`` that is not a number (or is NaN) raises at once.
* A Result that fails and is garbage-collected with its exception never *retrieved* logs
  it once, at ERROR on the ``asyncthreads`` logger, with its traceback ("exception was
  never retrieved", as asyncio does). ``result()``, ``get_result()``, ``exception()`` and
  ``traceback`` retrieve it; a done-callback or a ``result_q`` that receives the Result
  retrieves it only by calling one of them.

Unlike the standard Future, a Result makes no lock or condition of its own until
``concurrent.futures`` waits on it: its state is guarded by its scheduler's lock, which
keeps a pending timer small.

Concurrency rules
-----------------

Two kinds of lock, always taken in the same order:

* **The scheduler lock** (``scheduler.lock``, one for every core and Result of one
  scheduler) guards a Result's ``_state``, its outcome (``_result``, ``_exception``,
  written with the final state), ``_on_cancel`` and ``_watchers`` (made once, never
  reset), with the done-callbacks and the scheduler's own waiters in it. A state change
  and the release of the scheduler's waiters happen in one section under it. ``_state``
  may be read without it: one reference read is atomic on CPython, and a final state
  never changes, so a lock-free reader sees the old state or the final one.
* **A Result's condition** (``_condition``: made by ``scheduler.condition()`` the first
  time ``concurrent.futures`` reaches for it, with a lock of its own) guards its
  ``concurrent.futures`` waiter list (``_waiters``) and, once it exists, the Result's
  state changes too, as a standard Future's condition does: ``wait()`` and
  ``as_completed()`` hold the conditions of every future they wait on, taken in
  ``id()`` order, while they read ``_state`` (``wait()`` reads it twice: what is done,
  then how many to wait for) and add their waiter. Per-future locks taken in one global
  order cannot deadlock with each other nor with plain Futures'. (When every Result of
  a pool shared the scheduler lock as its condition, ``id()`` order was no order on the
  locks: two threads waiting on Results of two pools deadlocked.)
* **Order**: a condition, then the scheduler lock. ``concurrent.futures`` holds
  conditions while ``_condition`` makes the next one under the scheduler lock; a Result
  ending under its condition takes the scheduler lock inside it. Nothing takes a
  condition while holding the scheduler lock: a Result is never ended by a thread that
  holds it (the cores end Results outside it; only their private "stopped" Results,
  which ``concurrent.futures`` never sees, are ended under it), and a thread holding one
  condition takes no other but through ``concurrent.futures``' ordered acquisition.

Ending a Result, in the ending thread E. Under the scheduler lock, E looks for a
condition. If there is none (the usual case: nobody used ``concurrent.futures`` on it):

1. still under the scheduler lock: set the final state (and outcome), release the
   scheduler's waiters (a ThreadScheduler's blocked ``result()`` callers);
2. no ``concurrent.futures`` waiter to tell;
3. after the lock: run the done-callbacks (a ``result_q`` delivery is one).

If there is one, E leaves the scheduler lock and ends the Result in
``_end_watched``: under the condition, (1) under the scheduler lock as above (checking
again that it has not ended meanwhile), (2) tell every ``concurrent.futures`` waiter
and ``notify_all()``, then, out of both, (3).

No ``concurrent.futures`` waiter W is missed, nor sees a state change while it holds the
condition: a condition is made under the scheduler lock, so either E's look under it
found it (and E changes the state only under the condition, excluded from W's section,
and tells W's waiter if W listed one), or it was made after E's section (and W, which
reads the state only after making it, sees the Result ended, for good).

An exception at each step (an interrupt: ``KeyboardInterrupt`` or another exception from
a signal handler, which CPython raises on the main thread at a function call or a
loop's back edge):

* before the state changes in step 1: nothing happened (``with`` releases the locks);
* in step 1 after the state change (at the call that releases the waiters, or a
  queue's prune): the Result has ended, but the scheduler's waiters, the
  ``concurrent.futures`` waiters and the done-callbacks may not be told: blocked waits
  end only at their timeout. The standard Future has the same window between its state
  change and its notifications;
* in step 2: as above, for the waiters not yet told and for the callbacks;
* in step 3: every callback still runs; the first ``BaseException`` is re-raised after
  the last (later ones are logged). Callers that end a batch of Results (a shutdown) use
  :func:`end_each`, which ends them all before it re-raises.
"""

from __future__ import annotations

import logging
import traceback as _traceback
from collections.abc import Callable, Iterable
from concurrent.futures import Future, InvalidStateError
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from .arguments import check_timeout
from .errors import CancelledError
from .names import callable_name

if TYPE_CHECKING:
    from .scheduler import Actor, Condition, Scheduler

__all__ = ["Result", "end_each"]

T = TypeVar("T")
R = TypeVar("R", bound="Result[Any]")

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
    """Who is told when a Result ends: its done-callbacks, the scheduler's waiters and,
    once ``concurrent.futures`` waits on it, a condition with its waiters. Made for a
    Result by the first of them, so that a Result nobody watches keeps one empty slot (a
    pending timer stays small, and cheap for the garbage collector to traverse)."""

    __slots__ = ("callbacks", "cond", "futures_waiters", "waiters")

    def __init__(self, callbacks: list[Callable[[Any], object]] | None = None) -> None:
        self.callbacks: list[Callable[[Any], object]] = callbacks if callbacks else []
        # The scheduler's waiters (a ThreadScheduler's gates): under the scheduler lock.
        self.waiters: list[Any] = []
        # concurrent.futures' waiters: under ``cond`` (both made together, then never reset).
        self.futures_waiters: list[Any] | None = None
        self.cond: Condition | None = None


class UnretrievedException:
    """Logs a failed Result's exception when collected, unless it was retrieved first.

    Attached to a Result only when it fails (the old asyncio ``_TracebackLogger``
    pattern): a Result with a ``__del__`` would cost every Result, failed or not, on
    creation and collection. It holds the exception, never the Result, so it dies with
    the Result. A scheduler with an ``unretrieved`` list (the simulation's) is handed
    each one as it is made, so that a test runner can report them when the test ends.
    """

    __slots__ = ("exception", "what")

    def __init__(self, exception: BaseException, what: str) -> None:
        self.exception: BaseException | None = exception
        self.what = what

    def retrieved(self) -> None:
        """Somebody read the exception: nothing is logged."""
        self.exception = None

    def __del__(self) -> None:
        exception = self.exception
        if exception is not None:
            self.exception = None
            logger.error(
                "exception in %s was never retrieved",
                self.what,
                exc_info=(type(exception), exception, exception.__traceback__),
                extra={"asyncthreads_unretrieved": True},
            )


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

    # Set when the Result finishes (left unset before: nothing reads them until then). A
    # failed Result has no value: its _result holds the UnretrievedException that reports
    # the failure if nobody reads it (a slot of its own would cost every pending timer).
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

    def _watched_by_futures(self) -> Watchers:
        """This Result's Watchers with a condition and its waiter list, made now if not
        yet. Made once (under the lock), read without the lock after that: set once, never
        reset, and one attribute read is atomic."""
        watchers = self._watchers
        if watchers is None or watchers.cond is None:
            with self._scheduler.lock:
                watchers = self._watched()
                if watchers.cond is None:
                    watchers.futures_waiters = []  # first: whoever sees cond sees the list
                    watchers.cond = self._scheduler.condition()
        return watchers

    # concurrent.futures holds this condition, not the scheduler lock, while it reads
    # _state and lists its waiter in _waiters: see "Concurrency rules".
    @property
    def _condition(self) -> Condition:  # type: ignore[override]
        return cast("Condition", self._watched_by_futures().cond)

    @property
    def _waiters(self) -> list[Any]:  # type: ignore[override]
        return cast("list[Any]", self._watched_by_futures().futures_waiters)

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
        A BaseException from a done-callback is re-raised after every callback ran.
        """
        if self._state != PENDING:  # a settled state never changes: no lock needed
            return self._state == CANCELLED
        # _cancel_if_pending(), inlined (one Python call less: about 5% of a cancel), but
        # answering as a Future does when another thread cancelled first.
        # tests/test_cancellation.py checks that both do the same.
        cancelled_here = False
        try:
            with self._scheduler.lock:
                state = self._state
                if state != PENDING:
                    return state == CANCELLED
                watchers = self._watchers
                # concurrent.futures holds the condition while it reads the state: if it
                # made one, the state changes under it (_end_watched), else here.
                cond = None if watchers is None else watchers.cond
                if cond is None:
                    # One statement: an interrupt lands before it or after both stores.
                    self._state, cancelled_here = CANCELLED, True
                    queue = self._on_cancel
                    if queue is not None:  # counted here: a call per cancel costs too much
                        self._on_cancel = None
                        queue._cancelled += 1
                        if queue._cancelled >= queue._prune_at:
                            queue._prune()
        finally:
            # Once cancelled here, waiters and done-callbacks are told even if an
            # interrupt (a signal handler's KeyboardInterrupt) came in between.
            if cancelled_here and watchers is not None:
                self._tell_cancelled(watchers)
        if watchers is not None and cond is not None:
            return self._end_watched(watchers, cond, CANCELLED, None, None, True)
        return True

    def _cancel_if_pending(self) -> bool:
        """Cancel and return True only if this call moved the Result from pending."""
        cancelled_here = False
        try:
            with self._scheduler.lock:
                if self._state != PENDING:
                    return False
                watchers = self._watchers
                # concurrent.futures holds the condition while it reads the state: if it
                # made one, the state changes under it (_end_watched), else here.
                cond = None if watchers is None else watchers.cond
                if cond is None:
                    # One statement: an interrupt lands before it or after both stores.
                    self._state, cancelled_here = CANCELLED, True
                    queue = self._on_cancel
                    if queue is not None:  # counted here: a call per cancel costs too much
                        self._on_cancel = None
                        queue._cancelled += 1
                        if queue._cancelled >= queue._prune_at:
                            queue._prune()
        finally:
            if cancelled_here and watchers is not None:  # as in cancel()
                self._tell_cancelled(watchers)
        if watchers is not None and cond is not None:
            return self._end_watched(watchers, cond, CANCELLED, None, None, False)
        return True

    def _tell_cancelled(self, watchers: Watchers) -> None:
        """Tell the waiters and run the done-callbacks of a Result just cancelled."""
        with self._scheduler.lock:
            self._notify_locked(watchers)
        if watchers.callbacks:
            self._invoke_callbacks(watchers)

    def _cancel_pending_if(self, allowed: Callable[[], bool]) -> bool | None:
        """Cancel if pending and ``allowed()`` (called under the scheduler lock): True if
        cancelled now, False if not pending, None if pending but not allowed. For a
        subclass whose cancellation depends on more than the state; not a hot path."""
        while True:
            watchers = self._watchers
            cond = None if watchers is None else watchers.cond
            with cond if cond is not None else nullcontext():
                with self._scheduler.lock:
                    watchers = self._watchers
                    if cond is None and watchers is not None and watchers.cond is not None:
                        continue  # concurrent.futures made a condition meanwhile: take it
                    if self._state != PENDING:
                        return False
                    if not allowed():
                        return None
                    self._state = CANCELLED
                    self._on_cancel = None
                    if watchers is not None:
                        self._notify_locked(watchers)
                if watchers is not None and cond is not None:
                    waiters = watchers.futures_waiters
                    if waiters:
                        self._tell(waiters)
                    cond.notify_all()
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
        """Finish or fail; False (and no change) if the Result had already ended.

        Not to be called holding the scheduler lock (see "Concurrency rules")."""
        if exception is not None:
            # Only a failure pays for this (made before the lock: it calls out).
            value = self._unretrieved(exception)  # type: ignore[assignment]
        with self._scheduler.lock:
            if self._state in _DONE:
                if exception is not None:  # not this one's to report (a rare path)
                    value.retrieved()  # type: ignore[union-attr]
                return False
            watchers = self._watchers
            # concurrent.futures holds the condition while it reads the state: if it
            # made one, the state changes under it (_end_watched), else here.
            cond = None if watchers is None else watchers.cond
            if cond is None:
                self._result = value
                self._exception = exception
                self._state = FINISHED
                self._on_cancel = None
                if watchers is not None:
                    self._notify_locked(watchers)
        if watchers is not None:
            if cond is not None:
                return self._end_watched(watchers, cond, FINISHED, value, exception, False)
            if watchers.callbacks:
                self._invoke_callbacks(watchers)
        return True

    def _end_watched(
        self,
        watchers: Watchers,
        cond: Condition,
        state: str,
        value: T | None,
        exception: BaseException | None,
        cancelled_is_true: bool,
    ) -> bool:
        """End a Result that concurrent.futures watches (it has a condition): under its
        condition, then the scheduler lock (see "Concurrency rules"). ``state`` is
        CANCELLED (from pending only) or FINISHED (from pending or running). Answers as
        the caller does; ``cancelled_is_true``: an already-cancelled Result answers True
        (``cancel()``)."""
        with cond:
            with self._scheduler.lock:
                current = self._state
                # Finishing ends a pending or running Result; cancelling, a pending one.
                refused = current in _DONE if state == FINISHED else current != PENDING
                if refused:
                    if exception is not None:
                        value.retrieved()  # type: ignore[union-attr]
                    return cancelled_is_true and current == CANCELLED
                self._state = state
                if state == FINISHED:
                    self._result = value
                    self._exception = exception
                queue = self._on_cancel
                self._on_cancel = None
                if queue is not None and state == CANCELLED:
                    queue._cancelled += 1
                    if queue._cancelled >= queue._prune_at:
                        queue._prune()
                self._notify_locked(watchers)
            waiters = watchers.futures_waiters
            if waiters:
                self._tell(waiters)
            cond.notify_all()
        if watchers.callbacks:
            self._invoke_callbacks(watchers)
        return True

    def _unretrieved(self, exception: BaseException) -> UnretrievedException:
        report = UnretrievedException(exception, self._describe())
        unretrieved = getattr(self._scheduler, "unretrieved", None)
        if unretrieved is not None:
            unretrieved.append(report)
        return report

    def _describe(self) -> str:
        """What this Result is the outcome of, for logs (a name, never arguments)."""
        return f"{type(self).__name__} at {id(self):#x}"

    def _retrieve(self) -> None:
        # The exception is being read: it need not be reported.
        report = self._result
        if isinstance(report, UnretrievedException):
            report.retrieved()

    def _notify_locked(self, watchers: Watchers) -> None:
        # Step 1, under the scheduler lock: the scheduler's waiters.
        waiters = watchers.waiters
        if waiters:
            if self._state == CANCELLED:
                for waiter in waiters:
                    waiter.add_cancelled(self)
            elif self._exception is not None:
                for waiter in waiters:
                    waiter.add_exception(self)
            else:
                for waiter in waiters:
                    waiter.add_result(self)

    def _tell(self, waiters: list[Any]) -> None:
        """Tell each concurrent.futures waiter how the Result ended."""
        # A copy: in a simulation, telling a concurrent.futures waiter sets a simulated
        # Event, a schedule point where the waiter may run and remove itself from the
        # list (the simulation's condition excludes nothing there).
        waiters = list(waiters)
        if self._state == CANCELLED:
            for waiter in waiters:
                waiter.add_cancelled(self)
        elif self._exception is not None:
            for waiter in waiters:
                waiter.add_exception(self)
        else:
            for waiter in waiters:
                waiter.add_result(self)

    # -- callbacks ------------------------------------------------------------------------

    def add_done_callback(self, fn: Callable[[Future[T]], object]) -> None:
        """Call ``fn(result)`` when the Result ends (now, if it already has)."""
        with self._scheduler.lock:
            if self._state not in _DONE:
                self._watched().callbacks.append(fn)
                return
        self._invoke([fn])

    def _invoke_callbacks(self, watchers: Watchers) -> None:
        # After the Result ended, outside the lock: nothing can be added any more.
        callbacks = watchers.callbacks
        watchers.callbacks = []
        self._invoke(callbacks)

    def _invoke(self, callbacks: list[Callable[[Result[T]], object]]) -> None:
        """Call each; log an Exception; re-raise the first BaseException after the last."""
        interrupt: BaseException | None = None
        for fn in callbacks:
            try:
                fn(self)
            except Exception:
                logger.exception("done-callback %s raised for %r", callable_name(fn), self)
            except BaseException as exc:
                if interrupt is None:
                    interrupt = exc
                else:
                    logger.exception(
                        "done-callback %s raised for %r (after another raised %r)",
                        callable_name(fn),
                        self,
                        interrupt,
                    )
        if interrupt is not None:
            try:
                raise interrupt
            finally:
                interrupt = None  # the traceback's frame would otherwise hold it

    # -- waiting --------------------------------------------------------------------------

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until done or ``timeout`` seconds pass; True if done.

        Raises :class:`DeadlockError` at once if the calling thread is the only one that
        could complete this Result (the reactor thread waiting for a reactor call), and
        ``TypeError``/``ValueError`` for a ``timeout`` that is not a number or is NaN.
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        if self._state in _DONE:
            return True
        return self._scheduler.wait(self, timeout)

    def result(self, timeout: float | None = None) -> T:
        """The function's return value; re-raises its exception.

        Raises ``CancelledError`` if cancelled and ``TimeoutError`` if not done in
        ``timeout`` seconds.
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        if self._state not in _DONE and not self.wait(timeout):
            raise TimeoutError(f"{self!r} not done after {timeout} seconds")
        if self._state == CANCELLED:
            raise CancelledError()
        exception = self._exception
        if exception is not None:
            self._retrieve()
            try:
                raise exception
            finally:
                # Break the cycle: the traceback's frame would otherwise hold the exception.
                exception = None
        return self._result  # type: ignore[return-value]

    get_result = result

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The function's exception, or None if it returned. Raises like :meth:`result`."""
        if timeout is not None:
            timeout = check_timeout(timeout)
        if self._state not in _DONE and not self.wait(timeout):
            raise TimeoutError(f"{self!r} not done after {timeout} seconds")
        if self._state == CANCELLED:
            raise CancelledError()
        exception = self._exception
        if exception is not None:
            self._retrieve()
        return exception

    @property
    def traceback(self) -> str | None:
        """The formatted traceback of the function's exception; None if it returned, was
        cancelled, or has not ended yet (this does not wait). Reading it retrieves the
        exception."""
        if self._state != FINISHED or self._exception is None:
            return None
        self._retrieve()
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


def end_each(results: Iterable[R], end: Callable[[R], object]) -> None:
    """Call ``end(result)`` for every Result (``Result.cancel``, or a function failing
    it), even if one raises a ``BaseException`` (a done-callback's ``KeyboardInterrupt``
    or ``SystemExit``): that is re-raised once every Result has been ended; later ones
    are logged. For the loops that end a batch of Results (a shutdown draining its
    queues), so that an interrupt leaves none of them pending."""
    interrupt: BaseException | None = None
    for result in results:
        try:
            end(result)
        except BaseException as exc:
            if interrupt is None:
                interrupt = exc
            else:
                logger.exception("ending %r (after %r was raised)", result, interrupt)
    if interrupt is not None:
        try:
            raise interrupt
        finally:
            interrupt = None
