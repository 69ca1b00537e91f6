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
  function from ever starting (for a periodic task: no run is under way and none will
  start).
* A call queued while another thread shuts the reactor down either raises
  ``RuntimeError`` or returns a Result that ends (it runs, or is cancelled); never one
  that is lost.
* An exception raised into a caller's thread in the middle of a call (a signal
  handler's ``KeyboardInterrupt``) reaches that caller, and the call may or may not run;
  the reactor goes on running later calls, and shutdown and exit still finish.
* Each call runs in a copy of the ``contextvars`` context of the code that queued it.
* ``shutdown(wait=True, cancel_futures=False)``: no new calls; timers that have not fired
  are cancelled (periodic tasks too); calls already queued still run unless
  ``cancel_futures``. A reactor that made its own pool shuts it down after its queue is
  drained. A reactor never started (or whose thread could not start) cancels everything
  at shutdown. ``join(timeout)`` waits for all that to finish.
* A reactor that is never shut down is shut down when the program exits, finishing the
  calls already queued (also after ``shutdown(wait=False)``); one that nothing refers to
  any more, with no call or timer pending, is collected and its thread ends.

The concurrency discipline
--------------------------

Which state the scheduler lock (``scheduler.lock``, shared with the pool and every
Result) guards here:

* ``_state``, ``_ready`` (the queue of calls), ``_timers`` (the heap), ``_sleeps``,
  ``_sleep_until`` and ``_handle`` are written only under the lock, and read under it
  but for two reads of one reference each (atomic in CPython): ``is_running`` reads
  ``_state``, and the loop peeks at the heap's earliest deadline (only the loop removes
  deadlines from that list in place; others push, or replace the list, under the lock).
* ``_taken`` is the loop's own: calls it moved from ``_ready``, in order, under the lock,
  all that were queued at once, and takes one by one without it. Other threads only copy
  it (``list()`` of a deque is one C call, which no other thread can interleave with).
  Calls cancelled once moved stay there until the loop skips them; they were queued
  before the move, so churn that follows it lands in ``_ready``, which sheds it.
* **No call under the lock on the paths every call takes** (queueing a call, the loop's
  take): on CPython a thread gives up the GIL only after a call returns, on entering a
  function or at a loop's back edge, never inside a section without one, so no thread
  waits on the lock while its holder is descheduled. The appends and takes are written
  as operators (``ready += (task,)``, ``taken += ready``, ``ready *= 0``,
  ``taken[0]`` then ``del taken[0]``) for that reason: as method calls they let a
  lock convoy start, one context switch per call (``python -m benchmarks --only call``:
  7.3 us a call and about 20,000 switches per 100,000 calls, against 3 to 4 us and a
  few hundred without them).
* ``_woken`` is the one field written without the lock (see the wake protocol).

A producer appends under the lock and the loop moves calls out under the lock, so the
queue can be rebuilt without its cancelled calls (see :mod:`asyncthreads.ready_queue`)
and copied whole by introspection. (The queue used to be appended to and taken from
without the lock; that could not be made safe against the rebuild, nor against
iteration.)

The wake protocol. The loop goes to sleep under the lock, after finding the queue empty,
by adding one to ``_sleeps`` (a sleep number). A producer, under the lock, appends and
reads ``_sleeps``; if ``_woken`` differs, it wakes the loop *after* releasing the lock
and only then writes ``_woken = <the sleep number it read>``. ``_woken == _sleeps``
therefore means: a wake-up was sent after the loop's current sleep began (or the loop is
awake), so later producers need not send another. The write comes after the wake-up, so
an exception between the two only makes a later producer send a spare wake-up (harmless:
one more poll); a stale write (an older number) does the same. Nothing is ever cleared
before the wake-up it promises: an exception anywhere leaves the loop wakeable. (The
protocol it replaces cleared an "asleep" flag, then woke: an exception between the two
left the loop asleep for ever, with every later producer believing it awake.)

What an exception raised into a thread (a signal handler's ``KeyboardInterrupt``; on
CPython only the main thread runs signal handlers, at a call or a loop's back edge) does
at each point:

* ``call`` / ``call_later`` / ``call_at`` / ``call_in_thread_later`` / ``call_every``:
  before the append (or the timer push), nothing was queued; after it, the call is
  queued and runs, but perhaps only once the loop is next woken (by a later call, a
  timer, or the shutdown) if the exception came before the wake-up. Inside the locked
  section the lock is released by ``with``. A timer push stores its work last, so at
  worst it leaves a deadline with no work, which the heap's readers skip (see
  :class:`asyncthreads.timer_heap.TimerHeap`).
* ``cancel_scheduled`` / ``Result.cancel``: the state change happens under the lock, in
  one step; the callbacks run after it.
* ``shutdown``: the state change to stopping is one step under the lock; the wake-up
  comes after it and is sent again by every later ``shutdown``, ``join`` and the exit
  hook, so an interrupted shutdown is finished by the next. Timers and (with
  ``cancel_futures``) queued calls are cancelled from a snapshot, in place: what an
  exception leaves uncancelled is swept by the loop as it stops.
* the loop's take (``_next_work``) runs on the reactor thread, which under the
  ``ThreadScheduler`` never runs signal handlers; under the simulation it runs in the
  test's thread, and an exception there is the test's own.
"""

from __future__ import annotations

import enum
import logging
import weakref
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
from .periodic import PeriodicResult, PeriodicTask
from .ready_queue import ReadyQueue
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
    """The reactor's actor. It holds its reactor weakly, as CPython's
    ``concurrent.futures.thread`` workers hold their executor, so that a reactor nobody
    refers to can be collected and its thread end; and it holds the queue and the heap,
    so that work still pending (each call refers to its reactor) keeps the reactor alive
    until it has run."""

    __slots__ = ("handle", "name", "pool", "reactor", "ready", "taken", "timers")

    def __init__(
        self, name: str, reactor: Reactor, pool: ThreadPool | ExecutorBridge | None
    ) -> None:
        self.name = name
        self.reactor = weakref.ref(reactor)
        self.ready = reactor._ready
        self.taken = reactor._taken
        self.timers = reactor._timers
        self.pool = pool  # the pool the reactor made, to shut down if it is collected
        self.handle: ActorHandle | None = None

    def next_work(self, now: float) -> Work | float | Stop | None:
        reactor = self.reactor()
        if reactor is None:  # collected: nothing was pending (see the class docstring)
            return STOP
        return reactor._next_work(now)

    def reactor_collected(self) -> None:
        """The reactor was collected: let the thread end, and the pool it made."""
        handle, pool = self.handle, self.pool
        self.pool = None
        try:
            if handle is not None:
                handle.wake()
            if pool is not None:
                pool.shutdown(wait=False)
        except Exception:  # a finalizer must not raise
            logger.exception("%s: stopping after it was collected", self.name)

    def after_fork_in_child(self) -> None:
        """In the child of a fork the loop's thread is gone (see ThreadScheduler)."""
        reactor = self.reactor()
        if reactor is not None:
            reactor._stop_after_fork()

    def __repr__(self) -> str:
        return f"<reactor loop {self.name}>"


class _ExitHook:
    """What the scheduler calls at exit: the reactor's shutdown, if it still exists.

    It holds the reactor weakly (an exit registry holding it would keep every reactor
    alive). ``__self__`` names the reactor as a bound method's would: the simulation's
    reports find the components registered with it that way."""

    __slots__ = ("_reactor",)

    def __init__(self, reactor: Reactor) -> None:
        self._reactor = weakref.ref(reactor)

    @property
    def __self__(self) -> Reactor | None:
        return self._reactor()

    def __call__(self) -> None:
        reactor = self._reactor()
        if reactor is not None:
            reactor.shutdown(wait=True)


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
        self._ready = ReadyQueue()
        self._taken: deque[Work] = deque()  # the loop's: see the discipline above
        self._timers = TimerHeap()
        self._state = _NEW
        self._loop = _Loop(name, self, self._pool if owns_pool else None)
        self._handle: ActorHandle | None = None
        # The wake protocol (see the module docstring): the loop's sleeps, numbered, and
        # the number of the last one a wake-up was sent for.
        self._sleeps = 0
        self._woken = 0
        self._sleep_until: float | None = None  # the current sleep's deadline (None: none)
        self._cancel_futures = False
        self._stopped: Result[None] = Result(scheduler, self)
        self._unregister_at_exit = _once(scheduler.at_exit(_ExitHook(self)))
        # When collected: let the loop's thread end (and the pool it made), and forget the
        # exit hook. The finalizer refers to the loop, never to the reactor.
        finalizer = weakref.finalize(self, _collected, self._loop, self._unregister_at_exit)
        finalizer.atexit = False

    # -- introspection (never raises, from any thread) -------------------------------------

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
        return sum(1 for work in self._queued_calls() if work.future._state != CANCELLED)

    def _queued_calls(self) -> list[Work]:
        """A copy of the queue, in order, cancelled calls included."""
        with self._lock:
            return list(self._taken) + list(self._ready)

    @property
    def timer_count(self) -> int:
        """Timers that have not fired, periodic tasks included."""
        with self._lock:
            return len(self._timers)

    def pending_timers(self) -> list[tuple[float, Work]]:
        """Timers that have not fired, as (deadline, work), earliest first."""
        with self._lock:
            return self._timers.pending()

    def __repr__(self) -> str:
        with self._lock:
            state, timers = self._state, len(self._timers)
            queued = len(self._taken) + len(self._ready)
        return f"<Reactor {self._name!r} {state.value} queued={queued} timers={timers}>"

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the reactor loop. Raises RuntimeError if started before or shut down.

        If its thread cannot start, this raises that error and the reactor is shut down
        as one never started (its calls and timers are cancelled): it cannot be started
        again.
        """
        with self._lock:
            if self._state is not _NEW:
                raise RuntimeError(f"cannot start {self._name}: it is {self._state.value}")
            self._state = _RUNNING
            try:
                self._handle = self._loop.handle = self._scheduler.start(self._loop, self._clock)
            except BaseException as exc:
                # Not started (or, after an interrupt, started without a handle: its loop
                # finds the reactor stopped and ends). Shut down below, as never started.
                self._state = _NEW
                error: BaseException | None = exc
            else:
                error = None
        if error is not None:
            self.shutdown(wait=False)
            raise error

    def __enter__(self) -> Reactor:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown(wait=True)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the reactor; see the module docstring. Idempotent.

        With ``wait``, return once the queue is drained and (if the reactor made its own
        pool) the pool has finished, as ``join()``; called on the reactor thread it does
        not wait.
        """
        with self._lock:
            state = self._state
            if state is _NEW or state is _RUNNING:
                # A reactor that never ran cancels everything, its own pool's queue too.
                self._cancel_futures = cancel_futures or state is _NEW
                self._state = _STOPPING if state is _RUNNING else _STOPPED
            stopping = self._state is _STOPPING
            handle = self._handle
            to_cancel = [work.future for _, work in self._timers.pending()] if stopping else []
            if stopping and cancel_futures:
                # Running continuations stay, and finish.
                to_cancel.extend(
                    w.future for w in self._queued_calls() if w.future._state == PENDING
                )
        if not stopping and handle is None:
            # Never started: no loop will sweep up. Every shutdown sweeps again what an
            # interrupted one left.
            try:
                self._sweep()
            finally:
                self._finish_stopping()
        else:
            try:
                # Every Result ends even if a done-callback raises a BaseException.
                end_each(to_cancel, Result.cancel)
            finally:
                if stopping and handle is not None:
                    handle.wake()  # every time: this may finish an interrupted shutdown
        if wait and self._scheduler.current_actor() is not self._loop:
            self.join()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the reactor has stopped: its loop has ended and, if it made its own
        pool, that pool has finished. True if so; False if ``timeout`` seconds passed
        first. It does not shut the reactor down. Raises RuntimeError on the reactor
        thread, which cannot wait for itself.
        """
        if timeout is not None:
            timeout = check_delay(timeout, "timeout")
        if self._scheduler.current_actor() is self._loop:
            raise RuntimeError(f"cannot join {self._name} from its own thread")
        clock = self._clock
        deadline = None if timeout is None else clock.now() + timeout
        if self._state is _STOPPING and self._handle is not None:
            self._handle.wake()  # finishes a shutdown an exception interrupted
        if not self._stopped.wait(timeout):
            return False
        if self._handle is not None:
            self._handle.join()  # the thread ends as soon as its loop has stopped
        if self._owns_pool:
            pool = self._pool
            # A worker of that pool (a thread call shutting the reactor down) cannot wait
            # for its own pool; pool.shutdown knows not to.
            if (
                isinstance(pool, ThreadPool)
                and self._scheduler.current_actor() not in pool._workers
            ):
                remaining = None if deadline is None else max(0.0, deadline - clock.now())
                if not pool._stopped.wait(remaining):
                    return False
            pool.shutdown(wait=True)  # joins its threads (or waits for work in flight)
        self._unregister_at_exit()
        return True

    def _sweep(self) -> None:
        """End what is left queued or timed: new calls are cancelled, continuations
        fail. Only once the reactor is stopped (nothing can be added any more)."""
        with self._lock:
            leftovers = list(self._taken) + list(self._ready)
            self._taken.clear()
            self._ready.clear()
            leftovers.extend(self._timers.drain())
        # Ending the leftovers runs their done-callbacks: guarded, so that whatever they
        # raise, the reactor still finishes stopping and its waiters are released.
        # Every one ends even if a done-callback raises a BaseException (then raised).
        end_each([work.future for work in leftovers], self._end_unrun)

    def _end_unrun(self, result: Result[Any]) -> None:
        if result._state == PENDING:
            result.cancel()
        elif result._state == RUNNING:
            result._settle(None, RuntimeError(f"{self._name} has shut down"))

    def _finish_stopping(self) -> None:
        try:
            if self._owns_pool:
                self._pool.shutdown(wait=False, cancel_futures=self._cancel_futures)
        finally:
            self._stopped._settle(None, None)

    def _stop_after_fork(self) -> None:
        # In the child of a fork the loop did not survive: the reactor is stopped there.
        # Its calls and timers end as end_copies_after_fork says, with no callbacks.
        with self._lock:
            if self._state is _STOPPED:
                return
            self._state = _STOPPED
            works = [*self._taken, *self._ready, *self._timers.drain()]
            self._taken.clear()
            self._ready.clear()
            end_copies_after_fork(work.future for work in works)
            self._stopped._settle(None, None)  # the reactor's own: no callbacks

    # -- the loop -------------------------------------------------------------------------

    def _next_work(self, now: float) -> Work | float | Stop | None:
        # See the discipline in the module docstring.
        taken = self._taken
        timers = self._timers
        if taken:
            deadlines = timers._deadlines
            if not deadlines or deadlines[0] > now:  # no timer due: the usual case
                while taken:
                    work = taken.popleft()
                    if work.future._state != CANCELLED:
                        return work
        ready = self._ready
        with self._lock:
            deadlines = timers._deadlines
            if deadlines and deadlines[0] <= now:
                # Woken by its deadline, the loop is awake: producers need not wake it.
                self._woken = self._sleeps
                timers.pop_due(now, ready)  # behind the calls already queued
            while taken or ready:
                if not taken:
                    # Move every queued call: two C operations and no call, so the
                    # thread cannot lose the GIL holding the lock (see the module
                    # docstring); a deque times 0 is emptied.
                    taken += ready
                    ready *= 0
                work = taken[0]  # popleft, with no call (rule 6 of thread_pool.py)
                del taken[0]
                # A Task is its own Result; its future property would be a call.
                if (work if work.__class__ is Task else work.future)._state != CANCELLED:
                    return work
            state = self._state
            if state is _RUNNING:
                # No timers: no call, as on the paths above.
                deadline = timers.next_deadline() if timers._deadlines else None
                self._sleep_until = deadline
                self._sleeps += 1  # asleep: a producer must now wake it
                return deadline
            if state is _STOPPED:  # a thread whose start() failed, or stopped already
                return STOP
            self._state = _STOPPED  # stopping, and the queue is drained
        # Guarded, so that whatever a done-callback raises, the reactor still finishes
        # stopping and its waiters are released.
        try:
            self._sweep()  # timers an interrupted shutdown did not cancel
        except BaseException:
            logger.exception("%s: ending calls left as it stopped", self._name)
        finally:
            self._finish_stopping()
        return STOP

    def _wake(self, sleep: int) -> None:
        """Wake the loop from sleep number ``sleep``; then record it (in that order: see
        the wake protocol in the module docstring)."""
        handle = self._handle
        if handle is not None:
            handle.wake()
            self._woken = sleep

    # -- queueing -------------------------------------------------------------------------

    def _check_open(self, verb: str) -> None:
        if self._state is not _NEW and self._state is not _RUNNING:
            raise RuntimeError(f"cannot {verb}: {self._name} is {self._state.value}")

    def _enqueue(self, task: Task[Any], verb: str, stopping_too: bool) -> None:
        """Put a task on the reactor queue, if the reactor takes it: open, or (for
        ``stopping_too``, a continuation) still draining."""
        task._actor = self._loop
        ready = self._ready
        with self._lock:
            state = self._state
            if not (state is _RUNNING or state is _NEW or (stopping_too and state is _STOPPING)):
                raise RuntimeError(f"cannot {verb}: {self._name} is {state.value}")
            task._on_cancel = ready
            ready += (task,)  # append, with no call: see rule 6 of thread_pool.py
            sleep = self._sleeps
            if self._woken == sleep:
                return
        self._wake(sleep)

    def _enqueue_if_running(self, work: Work) -> bool:
        """Queue accepted work (a foreign executor's completion) while the loop runs or
        drains; False, queueing nothing, before start and once stopped. The check and
        the append are one step under the lock, so the loop, which stops only under it
        and with an empty queue, never leaves the work behind."""
        with self._lock:
            if self._state is not _RUNNING and self._state is not _STOPPING:
                return False
            self._ready.append(work)
            sleep = self._sleeps
            if self._woken == sleep:
                return True
        self._wake(sleep)
        return True

    def _schedule(self, deadline: float, work: Work, future: Result[Any]) -> None:
        # `future` is work.future, passed in because this is every timer's path.
        future._actor = self._loop
        with self._lock:
            state = self._state
            if state is not _RUNNING and state is not _NEW:
                raise RuntimeError(f"cannot schedule a call: {self._name} is {state.value}")
            self._timers.push(deadline, work, future)
            sleep = self._sleeps
            # Wake the loop only if it sleeps, and past the new deadline.
            if self._woken == sleep:
                return
            until = self._sleep_until
            if until is not None and deadline >= until:
                return
        self._wake(sleep)

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
        task._actor = self._loop
        ready = self._ready
        # self._enqueue(task, ...), inlined: this is every call's path.
        with self._lock:
            state = self._state
            if state is not _RUNNING and state is not _NEW:
                raise RuntimeError(f"cannot queue a call: {self._name} is {state.value}")
            task._on_cancel = ready
            ready += (task,)  # append, with no call: see rule 6 of thread_pool.py
            sleep = self._sleeps
            if self._woken == sleep:  # awake, or already woken: the usual case when busy
                return task
        self._wake(sleep)
        return task

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
        ticks are skipped, runs never overlap: see :mod:`asyncthreads.periodic`. Raises
        ValueError for an interval so small that, at the clock's reading now, adding it
        does not move the deadline.
        """
        interval = check_interval(interval)
        check_callable(func, "func")
        if not isinstance(in_thread, bool):
            raise TypeError(f"in_thread must be a bool, got {in_thread!r}")
        now = self._clock.now()
        if now + interval <= now:
            raise ValueError(
                f"interval {interval!r} is too small: at clock time {now!r} adding it does "
                "not move the deadline"
            )
        result = PeriodicResult(self._scheduler, self)
        periodic = PeriodicTask(
            func,
            args,
            kwargs,
            result,
            interval=interval,
            start=now,
            in_thread=in_thread,
            reactor=self,
        )
        self._schedule(periodic.deadline, self._periodic_timer(periodic), result)
        return result

    def _periodic_timer(self, periodic: PeriodicTask) -> Work:
        return _ToPool(periodic, self._pool) if periodic.in_thread else periodic

    def _reschedule(self, periodic: PeriodicTask) -> None:
        """After a periodic run that returned: schedule the next, unless a cancel came
        during the run or the reactor is shutting down (then end the task cancelled).
        Raises only what the clock or the grid raise; the caller fails the task with it."""
        result = periodic.future
        now = self._clock.now()
        with self._lock:
            state = result._state
            # Running: PeriodicTask.run started it. Pending: a run on a foreign executor,
            # which calls the function itself.
            if state != RUNNING and state != PENDING:  # ended meanwhile
                return
            stop = result.stop_requested or self._state is not _RUNNING
            wake = False
            if not stop:
                deadline = periodic.advance(now)
                if periodic.in_thread:
                    result._actor = self._loop  # the pool cleared it for the run
                    self._timers.push(deadline, _ToPool(periodic, self._pool), result)
                else:
                    self._timers.push(deadline, periodic, result)
                sleep = self._sleeps
                # Usually this runs on the loop itself, which is awake: no call to wake it.
                wake = self._woken != sleep and (
                    self._sleep_until is None or deadline < self._sleep_until
                )
            result._state = PENDING  # between runs (and for the cancel below to end it)
        if stop:
            result.cancel()
        elif wake:
            self._wake(sleep)

    def _end_cancelled(self, result: PeriodicResult) -> None:
        """End a periodic task cancelled during its run, which is over."""
        with self._lock:
            if result._state == RUNNING:
                result._state = PENDING  # for the cancel below to end it
        result.cancel()

    def _route(self, task: Task[Any], to_thread: bool) -> None:
        """Where a deferral goes: the pool, or back onto this reactor's queue."""
        if to_thread:
            self._pool._accept(task)
            return
        # Accepted work: allowed while the reactor drains, refused once it has stopped.
        self._enqueue(task, f"run {task.name}", stopping_too=True)

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


def _collected(loop: _Loop, unregister_at_exit: Callable[[], None]) -> None:
    # The reactor's finalizer (see Reactor.__init__): it must not refer to the reactor.
    try:
        unregister_at_exit()
    finally:
        loop.reactor_collected()


def _once(function: Callable[[], None]) -> Callable[[], None]:
    """``function``, callable any number of times, called the first time only."""
    called = False

    def once() -> None:
        nonlocal called
        if not called:
            called = True
            function()

    return once
