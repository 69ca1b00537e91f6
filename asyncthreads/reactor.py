"""Reactor: one serial event thread with timers, periodic tasks, a pool and deferral.

The Reactor is a thread-free core: a FIFO queue of ready calls and a heap of timers. Its
loop is one *actor* (see :mod:`asyncthreads.scheduler`): an OS thread named after the
reactor under the default ``ThreadScheduler``, a stepped actor under
``asyncthreads.testing``. Work for threads goes to its :class:`ThreadPool`, or to any
``concurrent.futures.Executor`` it was given (a process pool, a Dask cluster's executor),
through :mod:`asyncthreads.executor_bridge`, which says what holds there.

What a caller may rely on:

* ``call`` runs functions on the reactor thread one at a time, in the order queued.
  Every method may be called from any thread, the reactor's own included.
* Timers (``call_later``, ``call_at``, ``call_in_thread_later``, ``call_every``) never
  fire early (their deadline is ``clock.now() + delay`` when scheduled), and timers with
  equal deadlines fire in the order scheduled. A due timer joins the reactor queue behind
  calls already queued; a due ``call_in_thread_later`` joins it too, and the reactor
  thread hands it to the pool in its turn.
* Reactor calls and timers may be queued before ``start()``; they run once it starts
  (timers count from when they were scheduled). Thread calls go to the pool, which runs
  at once.
* ``cancel_scheduled(result)`` is exact: True only if this cancellation stopped the
  function from ever starting (for a periodic task: stopped every further run).
* A call queued while another thread shuts the reactor down either raises
  ``RuntimeError`` or returns a Result that ends (it runs, or is cancelled); never one
  that is lost.
* Each call runs in a copy of the ``contextvars`` context of the code that queued it.
* ``shutdown(wait=True, cancel_futures=False)``: no new calls; timers that have not fired
  are cancelled (periodic tasks too); calls already queued still run unless
  ``cancel_futures``. A reactor that made its own pool shuts it down after its queue is
  drained. A reactor never started cancels everything at shutdown. A reactor that is
  never shut down is shut down when the program exits.
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, ParamSpec, TypeVar, overload

from .arguments import (
    check_callable,
    check_clock,
    check_deadline,
    check_delay,
    check_interval,
    check_scheduler,
)
from .clock import Clock, SystemClock
from .deferral import Deferral
from .deferral import defer as _defer
from .deferral import defer_to_thread as _defer_to_thread
from .executor_bridge import ExecutorBridge, ExecutorTask
from .periodic import PeriodicTask
from .result import CANCELLED, PENDING, RUNNING, Result, end_each
from .scheduler import STOP, ActorHandle, Scheduler, Stop, Work
from .task import Task
from .thread_pool import ThreadPool, end_copies_after_fork
from .timer_heap import TimerHeap

__all__ = ["Reactor"]

logger = logging.getLogger("asyncthreads")

P = ParamSpec("P")
T = TypeVar("T")

# The size of the pool a Reactor makes for itself. Reactor pools mostly wait on I/O, so
# more threads than cores; a constant rather than ThreadPoolExecutor's cpu_count() + 4,
# so that a simulated run (and its replay token) is the same on every machine.
DEFAULT_POOL_THREADS = 8

_INFINITY = float("inf")


class _State(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


# The states as module names: reading a member off an Enum class goes through its
# metaclass (about 40 ns on CPython 3.11), and these are read on every call.
_NEW, _RUNNING, _STOPPING, _STOPPED = _State.NEW, _State.RUNNING, _State.STOPPING, _State.STOPPED


class _Loop:
    """The reactor's actor."""

    __slots__ = ("name", "next_work", "reactor")

    def __init__(self, name: str, reactor: Reactor) -> None:
        self.name = name
        self.reactor = reactor
        # The reactor's own method, bound: one call less on every poll.
        self.next_work: Callable[[float], Work | float | Stop | None] = reactor._next_work

    def after_fork_in_child(self) -> None:
        """In the child of a fork the loop's thread is gone (see ThreadScheduler)."""
        self.reactor._stop_after_fork()

    def __repr__(self) -> str:
        return f"<reactor loop {self.name}>"


class _ToPool:
    """A fired timer whose work goes to the pool: the reactor thread hands it over."""

    __slots__ = ("pool", "work")

    def __init__(self, work: Work, pool: ThreadPool | ExecutorBridge) -> None:
        self.work = work
        self.pool = pool

    @property
    def future(self) -> Result[Any]:
        return self.work.future

    @property
    def name(self) -> str:
        return f"to pool: {getattr(self.work, 'name', self.work)}"

    def run(self) -> None:
        try:
            self.pool._accept(self.work)
        except RuntimeError as exc:
            self.work.future._settle(None, exc)


class Reactor:
    """The reactor: see the module docstring."""

    @staticmethod
    def defer_to_thread(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Deferral[T]:
        """Return this from a call on the reactor thread to finish it in a pool thread."""
        return _defer_to_thread(func, *args, **kwargs)

    @staticmethod
    def defer(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Deferral[T]:
        """Return this from a call to finish it on the reactor thread, behind queued calls."""
        return _defer(func, *args, **kwargs)

    def __init__(
        self,
        thread_pool: ThreadPool | Executor | None = None,
        *,
        executor: Executor | None = None,
        clock: Clock | None = None,
        scheduler: Scheduler | None = None,
        name: str = "reactor",
    ) -> None:
        """``thread_pool`` (or its alias ``executor``): where concurrent work goes, a
        :class:`ThreadPool` or any ``concurrent.futures.Executor`` (see
        :mod:`asyncthreads.executor_bridge`); by default a ThreadPool of its own."""
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {name!r}")
        check_scheduler(scheduler)
        check_clock(clock, scheduler)
        if executor is not None:
            if thread_pool is not None:
                raise TypeError("give thread_pool or its alias executor, not both")
            thread_pool = executor
        owns_pool = thread_pool is None
        if thread_pool is None:
            thread_pool = ThreadPool(
                DEFAULT_POOL_THREADS, clock=clock, scheduler=scheduler, name=f"{name}-pool"
            )
        elif not isinstance(thread_pool, Executor):
            raise TypeError(
                f"thread_pool must be a ThreadPool or a concurrent.futures.Executor, "
                f"got {thread_pool!r}"
            )
        elif not isinstance(thread_pool, ThreadPool):
            pass  # a foreign executor: see below
        elif clock is not None and clock is not thread_pool.clock:
            raise ValueError("the Reactor and its thread_pool must share one clock")
        elif scheduler is not None and scheduler is not thread_pool.scheduler:
            raise ValueError("the Reactor and its thread_pool must share one scheduler")
        if isinstance(thread_pool, ThreadPool):
            clock, scheduler = thread_pool.clock, thread_pool.scheduler
        else:
            if scheduler is None:
                from .thread_scheduler import ThreadScheduler

                scheduler = ThreadScheduler()
            if clock is None:
                clock = SystemClock()
        self._name = name
        self._clock = clock
        self._scheduler = scheduler
        self._lock = scheduler.lock
        self._pool: ThreadPool | ExecutorBridge
        # The class of call_in_thread's tasks: on a foreign executor, one whose cancel()
        # reaches the executor's future.
        self._thread_task: type[Task[Any]] = Task
        if isinstance(thread_pool, ThreadPool):
            self._pool = thread_pool
        else:
            # The bridge is the reactor's own, so it is shut down with it; the bridge
            # leaves the executor itself running.
            self._pool = ExecutorBridge(thread_pool, self)
            self._thread_task = ExecutorTask
            owns_pool = True
        self._owns_pool = owns_pool
        self._ready: deque[Work] = deque()
        self._timers = TimerHeap()
        self._state = _NEW
        self._loop = _Loop(name, self)
        self._handle: ActorHandle | None = None
        self._asleep = False  # the loop is waiting and has not been woken since
        self._sleep_until: float | None = None  # ... until this deadline (None: for ever)
        self._cancel_futures = False
        self._stopped: Result[None] = Result(scheduler, self)
        self._unregister_at_exit = scheduler.at_exit(self._shutdown_at_exit)

    # -- introspection --------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def scheduler(self) -> Scheduler:
        return self._scheduler

    @property
    def thread_pool(self) -> ThreadPool:
        """The reactor's ThreadPool. RuntimeError if it runs on another executor."""
        pool = self._pool
        if not isinstance(pool, ThreadPool):
            raise RuntimeError(f"{self._name} runs on {pool.executor!r}, not a ThreadPool")
        return pool

    @property
    def executor(self) -> Executor:
        """Where concurrent work goes: the ThreadPool, or the executor given."""
        pool = self._pool
        return pool if isinstance(pool, ThreadPool) else pool.executor

    @property
    def is_running(self) -> bool:
        """Started and not yet shut down."""
        return self._state is _RUNNING

    @property
    def queued_count(self) -> int:
        """Calls waiting on the reactor queue (not counting timers that have not fired)."""
        with self._lock:
            return sum(1 for work in self._ready if work.future._state != CANCELLED)

    @property
    def timer_count(self) -> int:
        """Timers that have not fired, periodic tasks included."""
        return len(self._timers)

    def pending_timers(self) -> list[tuple[float, Work]]:
        """Timers that have not fired, as (deadline, work), earliest first."""
        with self._lock:
            return self._timers.pending()

    def __repr__(self) -> str:
        return (
            f"<Reactor {self._name!r} {self._state.value} queued={len(self._ready)} "
            f"timers={len(self._timers)}>"
        )

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the reactor loop. Raises RuntimeError if started before or shut down."""
        with self._lock:
            if self._state is not _NEW:
                raise RuntimeError(f"cannot start {self._name}: it is {self._state.value}")
            self._state = _RUNNING
            self._handle = self._scheduler.start(self._loop, self._clock)

    def __enter__(self) -> Reactor:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown(wait=True)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the reactor; see the module docstring. Idempotent.

        With ``wait``, return once the queue is drained and (if the reactor made its own
        pool) the pool has finished; called on the reactor thread it does not wait.
        """
        to_cancel: list[Result[Any]] = []
        never_started = False
        with self._lock:
            if self._state in (_NEW, _RUNNING):
                never_started = self._state is _NEW
                self._state = _STOPPING
                # A reactor that never ran cancels everything, its own pool's queue too.
                self._cancel_futures = cancel_futures or never_started
                self._unregister_at_exit()
                to_cancel = [work.future for work in self._timers.drain()]
                if cancel_futures and not never_started:
                    # From a snapshot (list() of a deque is one C call), leaving the
                    # deque alone: the loop takes from it without the lock, and skips
                    # what is cancelled. Running continuations stay and finish.
                    to_cancel.extend(
                        work.future for work in list(self._ready) if work.future._state == PENDING
                    )
                handle = self._wake_locked()
            else:
                handle = None
        try:
            # Every Result ends even if a done-callback raises a BaseException.
            end_each(to_cancel, Result.cancel)
        finally:
            if never_started:
                self._ready_never_run()
            elif handle is not None:
                handle.wake()
        if wait and self._scheduler.current_actor() is not self._loop:
            self._stopped.wait()
            if self._handle is not None:
                self._handle.join()
            if self._owns_pool:
                self._pool.shutdown(wait=True)

    def _ready_never_run(self) -> None:
        # Shut down before start: nothing queued can ever run.
        with self._lock:
            self._state = _STOPPED
            leftovers = self._take_all_ready()
        try:
            self._end_unrun(leftovers)
        finally:
            self._finish_stopping()

    def _take_all_ready(self) -> list[Work]:
        # Pop one by one, never clear(): a producer may be appending without the lock.
        ready = self._ready
        taken = []
        while ready:
            taken.append(ready.popleft())
        return taken

    def _end_unrun(self, works: list[Work]) -> None:
        """End work that will never run: new calls are cancelled, continuations fail.
        Every one ends even if a done-callback raises a BaseException."""
        end_each([work.future for work in works], self._end_unrun_result)

    def _end_unrun_result(self, result: Result[Any]) -> None:
        if result._state == PENDING:
            result.cancel()
        elif result._state == RUNNING:
            result._settle(None, RuntimeError(f"{self._name} has shut down"))

    def _has_stopped(self) -> bool:
        return self._state is _STOPPED

    def _end_if_orphaned(self, work: Work) -> None:
        # A producer queued `work` as the loop stopped: whoever removes it ends it.
        with self._lock:
            try:
                self._ready.remove(work)
            except ValueError:
                return  # the loop took it, and ends it
        self._end_unrun([work])

    def _finish_stopping(self) -> None:
        try:
            if self._owns_pool:
                self._pool.shutdown(wait=False, cancel_futures=self._cancel_futures)
        finally:
            self._stopped._settle(None, None)

    def _shutdown_at_exit(self) -> None:
        self.shutdown(wait=True)

    def _stop_after_fork(self) -> None:
        # In the child of a fork the loop did not survive: the reactor is stopped there.
        # Its calls and timers end as end_copies_after_fork says, with no callbacks.
        with self._lock:
            if self._state is _STOPPED:
                return
            self._state = _STOPPED
            works = [*self._timers.drain(), *self._take_all_ready()]
            end_copies_after_fork(work.future for work in works)
            self._stopped._settle(None, None)  # the reactor's own: no callbacks

    # -- the loop -------------------------------------------------------------------------

    def _next_work(self, now: float) -> Work | float | Stop | None:
        # Calls are taken without the lock (deque.popleft is atomic, and this loop is the
        # only consumer), so producers and the reactor never contend for it. The lock is
        # taken for the timers, and before going to sleep or stopping.
        ready = self._ready
        deadlines = self._timers._deadlines
        if deadlines and deadlines[0] <= now:  # a racy peek: the next poll sees a newer head
            with self._lock:
                # Woken by its deadline, the loop is no longer asleep: producers need not
                # wake it (it looks at its queue and timers again before it sleeps).
                self._asleep = False
                self._timers.pop_due(now, ready)
        while True:
            while ready:
                work = ready.popleft()
                if work.future._state != CANCELLED:
                    return work
            with self._lock:
                if self._state is not _STOPPING:
                    deadline = self._timers.next_deadline()
                    self._sleep_until = deadline
                    # Set before looking at the queue once more: a producer appends, then
                    # reads the flag, so either it wakes us or we see its call here.
                    self._asleep = True
                    if not ready:
                        return deadline
                    self._asleep = False
                    continue
                if ready:
                    continue  # drain what was queued before the shutdown
                self._state = _STOPPED
                leftovers = self._take_all_ready()  # queued as we stopped
                break
        # Ending the leftovers runs their done-callbacks: guarded, so that whatever they
        # raise, the reactor still finishes stopping and its waiters are released.
        try:
            self._end_unrun(leftovers)
        except BaseException:
            logger.exception("%s: ending calls queued as it stopped", self._name)
        finally:
            self._finish_stopping()
        return STOP

    def _wake_locked(self) -> ActorHandle | None:
        """Under the lock: the handle to wake if the loop is asleep, else None."""
        if self._asleep:
            self._asleep = False
            return self._handle
        return None

    # -- queueing -------------------------------------------------------------------------

    def _check_open(self, verb: str) -> None:
        if self._state is not _NEW and self._state is not _RUNNING:
            raise RuntimeError(f"cannot {verb}: {self._name} is {self._state.value}")

    def _enqueue(self, task: Task[Any]) -> None:
        """Put a task on the reactor queue, without the lock (see _next_work); the callers
        have checked the reactor may take it. The flag is read after the append."""
        task._actor = self._loop
        self._ready.append(task)
        if self._asleep:
            self._asleep = False
            handle = self._handle
            if handle is not None:
                handle.wake()
        if self._has_stopped():  # shut down between the caller's check and the append
            self._end_if_orphaned(task)

    def _enqueue_if_running(self, work: Work) -> bool:
        """Queue accepted work (a foreign executor's completion) while the loop runs or
        drains; False, queueing nothing, before start and once stopped. The check and
        the append are one step under the lock, so the loop, which stops only under it
        and with an empty queue, never leaves the work behind."""
        with self._lock:
            if self._state is not _RUNNING and self._state is not _STOPPING:
                return False
            self._ready.append(work)
            handle = self._wake_locked()
        if handle is not None:
            handle.wake()
        return True

    def _schedule(self, deadline: float, work: Work, future: Result[Any]) -> None:
        # `future` is work.future, passed in because this is every timer's path.
        with self._lock:
            state = self._state
            if state is not _RUNNING and state is not _NEW:
                raise RuntimeError(f"cannot schedule a call: {self._name} is {state.value}")
            future._actor = self._loop
            self._timers.push(deadline, work, future)
            # Wake the loop only if it sleeps past the new deadline.
            if self._asleep and (self._sleep_until is None or deadline < self._sleep_until):
                self._asleep = False
                handle = self._handle
            else:
                handle = None
        if handle is not None:
            handle.wake()

    def _wake_for_timer_locked(self, deadline: float) -> ActorHandle | None:
        # Wake the loop only if it sleeps past the new deadline.
        if self._asleep and (self._sleep_until is None or deadline < self._sleep_until):
            return self._wake_locked()
        return None

    @overload
    def call(
        self,
        func: Callable[..., Deferral[T]],
        /,
        *args: Any,
        callback: Callable[[T], object] | None = ...,
        result_q: Any = ...,
        **kwargs: Any,
    ) -> Result[T]: ...

    @overload
    def call(
        self,
        func: Callable[..., T],
        /,
        *args: Any,
        callback: Callable[[T], object] | None = ...,
        result_q: Any = ...,
        **kwargs: Any,
    ) -> Result[T]: ...

    def call(
        self,
        func: Callable[..., Any],
        /,
        *args: Any,
        callback: Callable[[Any], object] | None = None,
        result_q: Any = None,
        **kwargs: Any,
    ) -> Result[Any]:
        """Run ``func(*args, **kwargs)`` on the reactor thread, after calls queued before.

        ``callback(value)`` runs after ``func`` returns, on the same thread, before the
        Result finishes; if it raises, the Result fails with that exception.
        ``result_q`` (anything with ``put``) receives the Result once it has ended.
        """
        if not callable(func):
            check_callable(func, "func")
        task: Task[Any] = Task(self._scheduler, self, func, args, kwargs, callback, result_q)
        state = self._state
        if state is not _RUNNING and state is not _NEW:
            raise RuntimeError(f"cannot queue a call: {self._name} is {state.value}")
        self._enqueue(task)
        return task.future

    @overload
    def call_later(
        self,
        delay: float,
        func: Callable[..., Deferral[T]],
        /,
        *args: Any,
        callback: Callable[[T], object] | None = ...,
        result_q: Any = ...,
        **kwargs: Any,
    ) -> Result[T]: ...

    @overload
    def call_later(
        self,
        delay: float,
        func: Callable[..., T],
        /,
        *args: Any,
        callback: Callable[[T], object] | None = ...,
        result_q: Any = ...,
        **kwargs: Any,
    ) -> Result[T]: ...

    def call_later(
        self,
        delay: float,
        func: Callable[..., Any],
        /,
        *args: Any,
        callback: Callable[[Any], object] | None = None,
        result_q: Any = None,
        **kwargs: Any,
    ) -> Result[Any]:
        """Run ``func`` on the reactor thread ``delay`` seconds from now (never earlier)."""
        if delay.__class__ is not float or not 0.0 <= delay < _INFINITY:
            delay = check_delay(delay)  # the full check, for anything but a usual delay
        if not callable(func):
            check_callable(func, "func")
        task: Task[Any] = Task(self._scheduler, self, func, args, kwargs, callback, result_q)
        self._schedule(self._clock.now() + delay, task, task)
        return task.future

    @overload
    def call_at(
        self,
        when: float,
        func: Callable[..., Deferral[T]],
        /,
        *args: Any,
        callback: Callable[[T], object] | None = ...,
        result_q: Any = ...,
        **kwargs: Any,
    ) -> Result[T]: ...

    @overload
    def call_at(
        self,
        when: float,
        func: Callable[..., T],
        /,
        *args: Any,
        callback: Callable[[T], object] | None = ...,
        result_q: Any = ...,
        **kwargs: Any,
    ) -> Result[T]: ...

    def call_at(
        self,
        when: float,
        func: Callable[..., Any],
        /,
        *args: Any,
        callback: Callable[[Any], object] | None = None,
        result_q: Any = None,
        **kwargs: Any,
    ) -> Result[Any]:
        """Run ``func`` on the reactor thread at clock time ``when`` (``clock.now()`` units)."""
        deadline = check_deadline(when)
        if not callable(func):
            check_callable(func, "func")
        task: Task[Any] = Task(self._scheduler, self, func, args, kwargs, callback, result_q)
        self._schedule(deadline, task, task)
        return task.future

    @overload
    def call_in_thread(
        self,
        func: Callable[..., Deferral[T]],
        /,
        *args: Any,
        callback: Callable[[T], object] | None = ...,
        result_q: Any = ...,
        **kwargs: Any,
    ) -> Result[T]: ...

    @overload
    def call_in_thread(
        self,
        func: Callable[..., T],
        /,
        *args: Any,
        callback: Callable[[T], object] | None = ...,
        result_q: Any = ...,
        **kwargs: Any,
    ) -> Result[T]: ...

    def call_in_thread(
        self,
        func: Callable[..., Any],
        /,
        *args: Any,
        callback: Callable[[Any], object] | None = None,
        result_q: Any = None,
        **kwargs: Any,
    ) -> Result[Any]:
        """Run ``func`` in a pool thread now. Raises ``QueueFull`` if the pool's queue is full.

        The function may return ``defer(...)`` to finish on the reactor thread.
        """
        if not callable(func):
            check_callable(func, "func")
        task = self._thread_task(self._scheduler, self, func, args, kwargs, callback, result_q)
        self._check_open("queue a call")
        return self._pool._submit_new(task)

    @overload
    def call_in_thread_later(
        self,
        delay: float,
        func: Callable[..., Deferral[T]],
        /,
        *args: Any,
        callback: Callable[[T], object] | None = ...,
        result_q: Any = ...,
        **kwargs: Any,
    ) -> Result[T]: ...

    @overload
    def call_in_thread_later(
        self,
        delay: float,
        func: Callable[..., T],
        /,
        *args: Any,
        callback: Callable[[T], object] | None = ...,
        result_q: Any = ...,
        **kwargs: Any,
    ) -> Result[T]: ...

    def call_in_thread_later(
        self,
        delay: float,
        func: Callable[..., Any],
        /,
        *args: Any,
        callback: Callable[[Any], object] | None = None,
        result_q: Any = None,
        **kwargs: Any,
    ) -> Result[Any]:
        """Run ``func`` in a pool thread ``delay`` seconds from now (never earlier)."""
        delay = check_delay(delay)
        if not callable(func):
            check_callable(func, "func")
        task = self._thread_task(self._scheduler, self, func, args, kwargs, callback, result_q)
        self._schedule(self._clock.now() + delay, _ToPool(task, self._pool), task)
        return task.future

    call_later_in_thread = call_in_thread_later

    def call_every(
        self,
        interval: float,
        func: Callable[..., object],
        /,
        *args: Any,
        in_thread: bool = False,
        **kwargs: Any,
    ) -> Result[None]:
        """Run ``func`` every ``interval`` seconds, first one interval from now, until
        cancelled; on the reactor thread, or in the pool with ``in_thread=True``.

        The Result ends only when the task stops: cancelled (by ``cancel()``,
        ``cancel_scheduled`` or shutdown) or failed with the exception a run raised. Late
        ticks are skipped, runs never overlap: see :mod:`asyncthreads.periodic`.
        """
        interval = check_interval(interval)
        check_callable(func, "func")
        if not isinstance(in_thread, bool):
            raise TypeError(f"in_thread must be a bool, got {in_thread!r}")
        result: Result[None] = Result(self._scheduler, self)
        periodic = PeriodicTask(
            func,
            args,
            kwargs,
            result,
            interval=interval,
            start=self._clock.now(),
            in_thread=in_thread,
            reactor=self,
        )
        self._schedule(periodic.deadline, self._periodic_timer(periodic), result)
        return result

    def _periodic_timer(self, periodic: PeriodicTask) -> Work:
        return _ToPool(periodic, self._pool) if periodic.in_thread else periodic

    def _reschedule(self, periodic: PeriodicTask) -> None:
        """After a periodic run: schedule the next, unless cancelled or shutting down."""
        # Inlined: this is the path of every periodic run.
        result = periodic.future
        now = self._clock.now()
        with self._lock:
            if result._state != PENDING:
                return
            # Runs happen only once the loop has started: not running is shutting down.
            running = self._state is _RUNNING
            if running:
                deadline = periodic.advance(now)
                if periodic.in_thread:
                    result._actor = self._loop  # the pool cleared it for the run
                    self._timers.push(deadline, _ToPool(periodic, self._pool), result)
                else:
                    self._timers.push(deadline, periodic, result)
                # Usually this runs on the loop itself, which is awake: no call to check.
                handle = self._wake_for_timer_locked(deadline) if self._asleep else None
        if not running:
            result.cancel()
        elif handle is not None:
            handle.wake()

    def _route(self, task: Task[Any], to_thread: bool) -> None:
        """Where a deferral goes: the pool, or back onto this reactor's queue."""
        if to_thread:
            self._pool._accept(task)
            return
        if self._state is _STOPPED:
            raise RuntimeError(f"{self._name} has shut down; {task.name} cannot run")
        self._enqueue(task)  # accepted work: allowed while the reactor drains

    # -- cancellation ---------------------------------------------------------------------

    def cancel_scheduled(self, result: Result[Any]) -> bool:
        """Cancel a call of this reactor that has not started.

        True if the function had not started and now never will (for a periodic task:
        no further run will start). False if it already started or finished, was already
        cancelled, or is not a call of this reactor. Never blocks; any thread.
        """
        if not isinstance(result, Result):
            raise TypeError(f"cancel_scheduled takes a Result, got {result!r}")
        if result._owner is not self:
            return False
        return result._cancel_if_pending()
