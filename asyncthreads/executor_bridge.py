"""ExecutorBridge: a Reactor's concurrent work on any ``concurrent.futures.Executor``.

``Reactor(thread_pool=executor)`` with something other than a :class:`ThreadPool` (a
``ProcessPoolExecutor``, a ``ThreadPoolExecutor``, the executor of a Dask
``Client.get_executor()``) puts this bridge where its pool would be. The Reactor hands it
work exactly as it hands work to its pool (``_submit_new`` for ``call_in_thread``,
``_accept`` for fired timers, periodic runs and ``defer_to_thread`` continuations); the
bridge submits ``fn, *args, **kwargs`` to the executor at that moment and carries the
executor future's outcome into the Reactor's Result.

What a caller may rely on:

* **Nothing reaches the executor before it is due.** A ``call_in_thread_later`` or
  ``call_every(..., in_thread=True)`` is a timer until it fires; cancelling it before then
  sends nothing.
* **Exact cancel.** Before submission, cancelling a call drops it (True). After
  submission, ``cancel()`` and ``Reactor.cancel_scheduled`` forward to the executor
  future's ``cancel()`` and answer True only if that succeeded, so the answer is as exact
  as the executor's: a ``concurrent.futures`` pool succeeds only for work that has not
  started; Dask's executor succeeds for any unfinished task and asks the cluster to
  drop it, so there True means the Result is cancelled and the task was told to stop. A
  cancel that races with the hand-over itself answers False and the call runs: the
  answer never claims more than is true.
* **Outcome.** The Result takes the future's value, its exception (with the traceback
  text the executor keeps: a process pool chains the remote traceback as the cause), or
  its cancellation. An error raised by ``executor.submit`` (an argument that cannot be
  pickled, an executor that has shut down) fails that one Result and nothing else.
* **Where callbacks run.** When the future completes, the ``callback=`` of the call, then
  the Result's completion (its done-callbacks and ``result_q``) run on the **reactor
  thread**, in turn with its other calls, never on the executor's own threads (a process
  pool's manager thread, Dask's event loop). Before ``start()`` and once the reactor
  has stopped, they run on the thread that completed the executor's future. A reactor
  call that waits on such a Result raises ``DeadlockError``: its completion needs the
  reactor thread.
* **Periodic runs never overlap.** The next run is scheduled only once the previous
  run's future has completed. A run that raises stops the task, as on the pool.
* **Deferral.** ``defer_to_thread`` submits the continuation. ``defer()`` from work that
  ran in another process cannot come back: the returned :class:`Deferral` arrives as a
  :class:`CrossedProcess`, and the Result fails with a ``TypeError`` that says so.
  From an in-process executor (a ``ThreadPoolExecutor``) it works as from the pool.
* **Context variables** are not carried to a foreign executor: the function runs in
  whatever context the executor gives it.
* **Shutdown.** The bridge never shuts the executor down: the Reactor did not create it.
  ``shutdown(wait=True)`` waits for the Results it submitted; ``cancel_futures`` cancels
  those the executor has not started.
"""

from __future__ import annotations

import contextvars
import logging
from concurrent.futures import Executor, Future
from functools import partial
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

from .deferral import CrossedProcess, Deferral
from .errors import CancelledError
from .periodic import PeriodicTask
from .result import CANCELLED, PENDING, RUNNING, Result
from .task import Task

if TYPE_CHECKING:
    from .reactor import Reactor
    from .scheduler import Work

__all__ = ["ExecutorBridge", "ExecutorTask"]

logger = logging.getLogger("asyncthreads")

T = TypeVar("T")


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


# ExecutorTask._future while the bridge is submitting it (a cancel then answers False),
# and while one canceller is asking the executor (another canceller then answers False).
_HANDING_OVER: Final = _Marker("<handing over>")
_CANCELLING: Final = _Marker("<cancelling>")


class ExecutorTask(Task[T]):
    """A Reactor call bound for a foreign executor: its cancellation reaches the
    executor's future once the call has been submitted (see the module docstring)."""

    __slots__ = ("_future",)

    # None before submission and after completion; the executor's future, or a marker.
    _future: Future[Any] | _Marker | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._future = None

    def running(self) -> bool:
        """True while the function runs, as far as the executor tells (Dask's does not)."""
        future = self._future
        if isinstance(future, Future):
            return future.running()
        return self._state == RUNNING

    def cancel(self) -> bool:
        """Future semantics: True if the call will never run (now or already)."""
        return self._cancel_if_pending() or self._state == CANCELLED

    def _cancel_if_pending(self) -> bool:
        # Not handed over: nothing was sent; cancelled as any Result is (under its
        # concurrent.futures condition if it has one: see asyncthreads.result).
        unsent = self._cancel_pending_if(lambda: self._future is None)
        if unsent is not None:
            return unsent
        with self._scheduler.lock:
            if self._state != PENDING:
                return False
            future = self._future
            if isinstance(future, Future):
                self._future = _CANCELLING
            else:
                return False  # being handed over, or another cancel is asking
        # Outside the lock: the executor's cancel() runs its done-callbacks (ours among
        # them) in this thread.
        assert isinstance(future, Future)
        if future.cancel():
            Result._cancel_if_pending(self)  # unless the future's callback got there first
            return True
        with self._scheduler.lock:
            if self._future is _CANCELLING:
                self._future = future
        return False


class _Completion:
    """The end of a submitted call, run on the reactor thread: the callback, then the
    Result's completion (or, for a returned Deferral, its next hop)."""

    __slots__ = ("exception", "future", "value")

    def __init__(self, task: Task[Any], value: Any, exception: BaseException | None) -> None:
        self.future = task
        self.value = value
        self.exception = exception

    @property
    def name(self) -> str:
        return f"completion of {self.future.name}"

    def run(self) -> None:
        task = self.future
        value, exception = self.value, self.exception
        self.value = self.exception = None
        if exception is None:
            try:
                extras = task._extras
                if value.__class__ is Deferral:
                    # From an in-process executor: continue as Task.run does.
                    task._fn = value.fn
                    task._args = value.args
                    callback = None if extras is None else extras[1]
                    if value.kwargs or callback is not None:
                        task._extras = (value.kwargs or None, callback)
                    else:
                        task._extras = None
                    task._context = value.context
                    task._owner._route(task, value.to_thread)  # type: ignore[attr-defined]
                    return
                if extras is not None and extras[1] is not None:
                    context = task._context
                    if context is None:
                        context = contextvars.Context()
                    context.run(extras[1], value)
            except BaseException as exc:  # the callback's exception is the Result's
                exception = exc
        task._release()
        task._settle(None if exception is not None else value, exception)

    def __repr__(self) -> str:
        return f"<{self.name}>"


class ExecutorBridge:
    """Where a Reactor on a foreign executor sends its concurrent work."""

    def __init__(self, executor: Executor, reactor: Reactor) -> None:
        self.executor = executor
        self._reactor = reactor
        self._scheduler = reactor.scheduler
        self._lock = reactor.scheduler.lock
        self._closed = False
        # Results handed to the executor and not yet ended, with their futures (None
        # while being submitted). Periodic tasks are listed while a run is out.
        self._in_flight: dict[Future[Any], Future[Any] | None] = {}
        # Periodic tasks whose Result this bridge watches, to cancel a run still out.
        self._watched: set[Future[Any]] = set()

    def __repr__(self) -> str:
        return f"<ExecutorBridge to {self.executor!r} in flight={len(self._in_flight)}>"

    # -- what the Reactor calls, as it calls its ThreadPool ---------------------------------

    def _submit_new(self, task: Task[T]) -> Task[T]:
        """``call_in_thread``: submit now."""
        self._hand_over(task)
        return task

    def _accept(self, work: Work) -> None:
        """A fired timer, a periodic run or a ``defer_to_thread`` continuation: submit
        now. Raises RuntimeError once the reactor has shut down."""
        self._hand_over(work)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse further work; never shuts the executor down (see the module docstring)."""
        with self._lock:
            self._closed = True
            in_flight = [cast(Result[Any], result) for result in self._in_flight]
        if cancel_futures:
            for result in in_flight:
                result.cancel()
        if wait and self._scheduler.current_actor() is not self._reactor._loop:
            for result in in_flight:
                result.wait()

    # -- handing over -----------------------------------------------------------------------

    def _hand_over(self, work: Work) -> None:
        result = work.future
        periodic = work if type(work) is PeriodicTask else None
        watch = False
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self._reactor.name} has shut down; {work!r} cannot run")
            state = result._state
            if state != PENDING and state != RUNNING:
                return  # cancelled meanwhile: nothing is sent
            if periodic is None:
                if isinstance(result, ExecutorTask) and state == PENDING:
                    result._future = _HANDING_OVER
                elif state == PENDING:  # no way to reach the future: it cannot be cancelled
                    result._state = RUNNING
            elif result not in self._watched:
                self._watched.add(result)
                watch = True
            # The reactor thread completes it (see _Completion): a wait there is a deadlock.
            result._actor = self._reactor._loop
            self._in_flight[result] = None
        if periodic is not None:
            fn: Any = periodic.call
            args: tuple[Any, ...] = ()
            kwargs: dict[str, Any] = {}
            if watch:  # once per periodic task, at its first run
                result.add_done_callback(self._periodic_ended)
        else:
            assert isinstance(work, Task)
            fn, args = work._fn, work._args
            extras = work._extras
            kwargs = (extras[0] or {}) if extras is not None else {}
        try:
            future = self.executor.submit(fn, *args, **kwargs)
        except BaseException as exc:
            self._submit_failed(work, exc)
            return
        with self._lock:
            if result in self._in_flight:
                self._in_flight[result] = future
            if isinstance(result, ExecutorTask) and result._future is _HANDING_OVER:
                result._future = future
            # A periodic task cancelled during the hand-over: its run need not start.
            stopped = periodic is not None and result._state != PENDING
        if stopped:
            future.cancel()
        future.add_done_callback(partial(self._on_done, work))

    def _submit_failed(self, work: Work, exc: BaseException) -> None:
        result = work.future
        with self._lock:
            self._in_flight.pop(result, None)
            if isinstance(result, ExecutorTask):
                result._future = None
        if type(work) is PeriodicTask:
            logger.error("periodic task %s stopped: %r", work.name, exc, exc_info=exc)
        if isinstance(work, Task):
            work._release()
        result._settle(None, exc)

    def _periodic_ended(self, result: Future[Any]) -> None:
        # A periodic task cancelled while a run is submitted: that run need not start.
        with self._lock:
            self._watched.discard(result)
            future = self._in_flight.get(result)
        if future is not None:
            future.cancel()

    # -- the outcome ------------------------------------------------------------------------

    def _on_done(self, work: Work, future: Future[Any]) -> None:
        """On the thread that completed ``future``: carry its outcome to the Result."""
        result = work.future
        try:
            if type(work) is PeriodicTask:
                self._periodic_run_done(work, future)
            else:
                assert isinstance(work, Task)
                self._task_done(work, future)
        finally:
            with self._lock:
                if self._in_flight.get(result) is future:
                    del self._in_flight[result]

    def _periodic_run_done(self, periodic: PeriodicTask, future: Future[Any]) -> None:
        result = periodic.future
        if future.cancelled():
            result.cancel()  # by us as it was cancelled, or by the executor: it stops
            return
        exc = future.exception()
        if exc is not None:
            logger.error("periodic task %s stopped: it raised %r", periodic.name, exc, exc_info=exc)
            result._settle(None, exc)
            return
        self._reactor._reschedule(periodic)

    def _task_done(self, task: Task[Any], future: Future[Any]) -> None:
        if future.cancelled():
            if not Result._cancel_if_pending(task) and task._state == RUNNING:
                # A continuation, cancelled by the executor (shut down with
                # cancel_futures, or the cluster dropped it).
                task._release()
                task._settle(None, CancelledError("the executor cancelled the continuation"))
            return
        with self._lock:
            if isinstance(task, ExecutorTask):
                task._future = None
            if task._state == PENDING:
                task._state = RUNNING  # cancel() now answers False
            elif task._state != RUNNING:
                return
        exc = future.exception()
        value: Any = None if exc is not None else future.result()
        if isinstance(value, CrossedProcess):  # defer() from another process
            value, exc = None, value.error()
        completion = _Completion(task, value, exc)
        if not self._reactor._enqueue_if_running(completion):
            completion.run()
