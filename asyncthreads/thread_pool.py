"""ThreadPool: a resizable pool of reusable workers with an optional bounded queue.

The pool is a thread-free core: a FIFO task queue and the bookkeeping of its workers.
Each worker is an *actor* (see :mod:`asyncthreads.scheduler`) that its scheduler runs: an
OS thread named ``<pool name>-<n>`` under the default ``ThreadScheduler``, a stepped actor
under ``asyncthreads.testing``.

What a caller may rely on:

* Tasks start in the order queued. With N workers up to N run at once, so they may
  *finish* in any order.
* ``max_queue_size > 0`` bounds the tasks waiting to start that callers queue
  (``queue_task``, ``submit``, ``Reactor.call_in_thread``): one more raises
  :class:`QueueFull` at once and queues nothing. A cancelled task frees its place at
  once. Work the reactor hands over later (a timer that fires, a periodic run, a
  deferral) is never refused, since it was accepted when it was scheduled; while it
  waits it counts towards the bound like any queued task. Cancelled tasks are dropped
  from the queue, bounded or not, once they are more than half of it (and at least 65),
  so schedule-and-cancel churn holds no more dead entries than that.
* Zero workers is legal: tasks wait until ``resize_pool`` adds some. At most
  :data:`MAX_THREADS` workers (``ValueError`` beyond). Without ``num_threads``, the pool
  has ``ThreadPoolExecutor``'s default size, ``min(32, os.cpu_count() + 4)``.
* ``initializer(*initargs)``, if given, runs in each worker before its first task. If
  it raises, the pool is broken, as ``ThreadPoolExecutor`` is: the exception is logged,
  the tasks waiting to start fail with ``concurrent.futures.thread.BrokenThreadPool``,
  the pool shuts down, and queueing raises ``BrokenThreadPool``.
* Workers are named ``<name>-1``, ``<name>-2``, ...; with ``thread_name_prefix``,
  ``<prefix>_0``, ``<prefix>_1``, ... as ``ThreadPoolExecutor`` names its threads.
* ``resize_pool(n)`` grows at once. Shrinking retires idle workers at once and busy ones
  as they finish their current task; a running task is never interrupted. If a thread
  cannot be started, ``resize_pool`` (or the constructor) raises that error and the pool
  is as if the workers it could not start had never been asked for (``thread_count``
  says how many there are); a constructor that raises leaves nothing behind.
* ``shutdown(wait=True, cancel_futures=False)`` has ``concurrent.futures.Executor``
  semantics: no new tasks; queued tasks still run unless ``cancel_futures``; with
  ``wait`` it returns once every worker has exited. ``join(timeout)`` waits for that
  and says whether it happened. A pool with no workers cancels its queued tasks at
  shutdown, since nothing could ever run them.
* At interpreter exit (production scheduler), a pool never shut down is shut down, and
  the work queued in every pool, even one shut down with ``wait=False``, runs before the
  interpreter exits (``cancel_futures=True`` cancels it instead), as with
  ``concurrent.futures``. A pool nothing references any more (its Results included) is
  collected and its workers exit once its queue is empty.

Concurrency rules
-----------------

1. **One lock.** All the pool's state is read and written under its scheduler's lock
   (``_lock``): the queue and its count of cancelled entries, the idle stack, the worker
   set, each worker's ``handle`` and ``gone``, ``_size``, ``_retiring``, ``_closed``.
   The same lock guards every Result's state, so ``Result.cancel`` counts a cancelled
   queue entry (``result.CancelCounting``) atomically with the cancellation.
   Only the introspection properties read without it (one attribute or ``len`` each: a
   snapshot, stale at once, never torn).
2. **No lock-free writes.** Every change to the queue (submit, a worker's take, prune,
   shutdown) holds the lock, so pruning may rebuild the queue and nothing pops it
   meanwhile. (The lock-free submit and take that came before raced the prune and the
   shutdown drain: ``IndexError``, tasks out of order, a drifting count, stranded
   Results. The lock costs about 1 us a task in ``python -m benchmarks --only pool``,
   two runs side by side on a loaded machine: 5.0 and 5.1 us against 4.1 and 3.8 us
   before, 4.1x and 3.8x ThreadPoolExecutor against 4.9x and 5.3x.)
   No user code runs under the lock: done-callbacks run after it is released.
3. **Invariants**, whenever the lock is free:

   a. ``_cancelled`` is the number of queue entries whose Result is cancelled.
   b. While open, ``_size == len(_workers) - _retiring``; once closed, both are 0.
   c. A worker is on the idle stack only if it has a handle and its last look found
      nothing to take; it is asleep, or was woken and has yet to look again (then it
      takes itself off the stack if it finds a task, and stays on it if not).
   d. No lost wake-up: if live work is queued and a worker is idle, a worker was woken
      after that work was queued (or is running and will ask again).

4. **Wake, then unlist, then queue.** A producer, holding the lock, wakes the top idle
   worker, then pops it off the stack, then appends its task; the woken thread needs the
   lock to look, so it sees the task. A spare wake-up is harmless (one more look).
5. **Exceptions.** CPython runs a signal handler (``KeyboardInterrupt``) only in the
   main thread, where it checks for pending calls: after a call into C returns, at the
   start of a Python function and on a loop's back edge; never between an attribute
   store and the call that follows it, nor between a Python function's return and the
   store of its value. Each step below leaves the state consistent whichever of its
   points an exception leaves from; statements written on one line have no such point
   between them.

   * *submit*: before the append nothing is queued (the caller sees the exception and
     no task); a worker may have been woken, or woken and unlisted, for nothing. After
     the append the task is queued with a worker awake for it: it runs, as a task whose
     ``concurrent.futures`` submit was interrupted after its ``put``.
   * *the worker's take* runs on a worker thread, which never receives signals; a fault
     there is a bug, logged by the scheduler.
   * *cancel/prune*: the count is reset and the queue replaced in one C call
     (``deque.__init__`` of a list of its live entries), with no point between.
   * *resize*: the counts are stored, then the new workers added in one call; each new
     thread's handle is stored straight from ``Scheduler.start``; a start that raises
     (or is interrupted) is undone under the lock. A shrink interrupted before it woke
     every idle worker it retires leaves them listed: the next producer wakes one, and
     a retiring worker passes a wake-up on while work is queued.
   * *shutdown*: ``_closed`` is set first; an interrupted shutdown leaves the exit hook
     registered, and calling ``shutdown`` again (as the exit hook does) finishes it.

6. **No call in the hot sections.** A thread gives up the GIL at the same points where a
   signal handler runs (rule 5). If that happens while it holds the lock, every other
   thread that wants the lock blocks in the OS, and from then on each handoff costs a
   context switch: a lock convoy. So the sections every task passes (submit, the
   worker's take) make no call where they can help it: the queue is appended to as
   ``queue += (task,)`` and taken from as ``queue[0]`` then ``del queue[0]``
   (operators, not calls), a Task is its own Result (no ``future`` property call), and
   an idle worker is unlisted with ``del idle[-1]``. Waking a worker is the one call
   left (rule 4), on the path where a worker is idle. Measured with
   ``python -m benchmarks --only pool`` and ``getrusage``: with ``append``/``popleft``
   calls, 9 to 14 us a task and about 100,000 context switches per 100,000 tasks; with
   operators, 3.2 to 3.6 us and about 550.
"""

from __future__ import annotations

import itertools
import logging
import os
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from concurrent.futures.thread import BrokenThreadPool
from typing import Any, ParamSpec, TypeVar, overload

from .arguments import (
    check_callable,
    check_clock,
    check_count,
    check_optional_callable,
    check_scheduler,
)
from .clock import Clock, SystemClock
from .deferral import Deferral
from .errors import QueueFull
from .result import CANCELLED, FINISHED, PENDING, RUNNING, Result, end_each
from .scheduler import STOP, ActorHandle, Scheduler, Stop, Work
from .task import Task

__all__ = ["MAX_THREADS", "ThreadPool", "default_thread_count"]

logger = logging.getLogger("asyncthreads")

P = ParamSpec("P")
T = TypeVar("T")

MAX_THREADS = 4096
"""The most workers a pool may have: far more than any workload needs (each thread
reserves its stack), few enough that a mistyped size fails at once instead of
allocating until ``MemoryError``."""

# The queue is pruned of cancelled tasks only past this many, so it never churns.
_MIN_CANCELLED_TO_PRUNE = 65


class _Worker:
    """One worker actor. The pool decides what it does; its scheduler runs it.

    It holds its pool weakly, as ``concurrent.futures`` workers hold their executor, and
    the queue strongly: queued work keeps the pool alive (each task references it), and
    a pool nothing references is collected and its workers told to stop.
    """

    __slots__ = ("gone", "handle", "name", "pool_ref", "queue")

    def __init__(self, name: str, pool_ref: weakref.ref[ThreadPool], queue: deque[Work]) -> None:
        self.name = name
        self.pool_ref = pool_ref
        self.queue = queue
        self.handle: ActorHandle | None = None
        self.gone = False  # retired, or never started: it must stop if it asks again

    def next_work(self, now: float) -> Work | float | Stop | None:
        pool = self.pool_ref()
        if pool is None:  # collected: nothing references it, so nothing is queued
            return STOP
        return pool._next_for(self)

    def after_fork_in_child(self) -> None:
        """In the child of a fork this worker's thread is gone: so is its pool's."""
        pool = self.pool_ref()
        if pool is not None:
            pool._forget_workers_after_fork()

    def __repr__(self) -> str:
        return f"<worker {self.name}>"


class _InitializingWorker(_Worker):
    """A worker of a pool with an initializer: its first work is to run it."""

    __slots__ = ("initialized",)

    def __init__(self, name: str, pool_ref: weakref.ref[ThreadPool], queue: deque[Work]) -> None:
        super().__init__(name, pool_ref, queue)
        self.initialized = False

    def next_work(self, now: float) -> Work | float | Stop | None:
        pool = self.pool_ref()
        if pool is None:
            return STOP
        if not self.initialized:
            self.initialized = True
            return _Initializer(pool)
        return pool._next_for(self)


class _Initializer:
    """One worker's run of the pool's initializer."""

    __slots__ = ("future", "pool")

    name = "initializer"

    def __init__(self, pool: ThreadPool) -> None:
        self.pool = pool
        self.future: Result[None] = Result(pool.scheduler, pool)

    def run(self) -> None:
        pool = self.pool
        assert pool._initializer is not None
        try:
            pool._initializer(*pool._initargs)
        except BaseException as exc:  # a task must never kill its thread
            self.future._settle(None, exc)
            pool._initializer_failed(exc)
        else:
            self.future._settle(None, None)


def default_thread_count() -> int:
    """``ThreadPoolExecutor``'s default size: ``min(32, os.cpu_count() + 4)``."""
    return min(32, (os.cpu_count() or 1) + 4)


def _wake_workers_of_collected_pool(workers: set[_Worker]) -> Callable[[object], None]:
    def wake_all(_: object) -> None:
        for worker in list(workers):
            if worker.handle is not None:
                worker.handle.wake()

    return wake_all


def _nothing() -> None:
    pass


def _check_thread_count(num_threads: Any) -> None:
    check_count(num_threads, "num_threads")
    if num_threads > MAX_THREADS:
        raise ValueError(
            f"num_threads must be at most {MAX_THREADS} (asyncthreads.thread_pool."
            f"MAX_THREADS), got {num_threads}"
        )


class ThreadPool(Executor):
    """A resizable pool of worker threads. See the module docstring."""

    def __init__(
        self,
        num_threads: int | None = None,
        max_queue_size: int = 0,
        *,
        clock: Clock | None = None,
        scheduler: Scheduler | None = None,
        name: str | None = None,
        thread_name_prefix: str = "",
        initializer: Callable[..., object] | None = None,
        initargs: Iterable[Any] = (),
    ) -> None:
        if num_threads is None:
            num_threads = default_thread_count()
        _check_thread_count(num_threads)
        if not isinstance(thread_name_prefix, str):
            raise TypeError(f"thread_name_prefix must be a str, got {thread_name_prefix!r}")
        check_optional_callable(initializer, "initializer")
        if isinstance(initargs, (str, bytes)) or not isinstance(initargs, Iterable):
            raise TypeError(f"initargs must be a tuple, got {initargs!r}")
        if isinstance(max_queue_size, bool) or not isinstance(max_queue_size, int):
            raise TypeError(f"max_queue_size must be an int, got {max_queue_size!r}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str, got {name!r}")
        check_scheduler(scheduler)
        check_clock(clock, scheduler)
        if scheduler is None:
            from .thread_scheduler import ThreadScheduler

            scheduler = ThreadScheduler()
        self._clock = clock if clock is not None else SystemClock()
        self._scheduler = scheduler
        self._lock = scheduler.lock
        self._name = name or thread_name_prefix or "ThreadPool"
        self._thread_name_prefix = thread_name_prefix
        self._initializer = initializer
        self._initargs = tuple(initargs)
        self._worker_type = _Worker if initializer is None else _InitializingWorker
        self._broken: str | None = None  # why the pool is broken, once it is
        self._max_queued = max(0, max_queue_size)
        self._queue: deque[Work] = deque()
        # Queued tasks since cancelled, counted by their Results (CancelCounting).
        self._cancelled = 0
        self._prune_at = _MIN_CANCELLED_TO_PRUNE
        self._workers: set[_Worker] = set()
        self._idle: list[_Worker] = []  # a stack: the most recently busy worker goes first
        self._size = 0  # workers, less those told to retire
        self._retiring = 0  # workers that must exit when they next ask for work
        self._worker_numbers = itertools.count(1)
        self._closed = False
        self._to_join: list[ActorHandle] = []  # the workers' handles, once closed
        # No owner: a Result owned by the pool would make a cycle, and a dropped pool
        # should go with its last reference, not wait for the cycle collector.
        self._stopped: Result[None] = Result(scheduler)
        self._ref = weakref.ref(self, _wake_workers_of_collected_pool(self._workers))
        self._unregister_at_exit = scheduler.at_exit(self._shutdown_at_exit)
        try:
            self.resize_pool(num_threads)
        except BaseException:
            # Leave nothing behind: the workers that did start exit, the hook goes.
            self.shutdown(wait=False)
            raise

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
    def thread_count(self) -> int:
        """The pool's size: workers, not counting those retiring after their current task
        (0 once shut down)."""
        return self._size

    @property
    def idle_count(self) -> int:
        """Workers waiting for a task."""
        return len(self._idle)

    @property
    def queued_count(self) -> int:
        """Tasks waiting to start (cancelled ones not counted)."""
        return max(0, len(self._queue) - self._cancelled)  # read without the lock

    @property
    def max_queue_size(self) -> int:
        """The bound on queued tasks; 0 means unbounded."""
        return self._max_queued

    @property
    def is_shutdown(self) -> bool:
        return self._closed

    def __repr__(self) -> str:
        state = "shut down" if self._closed else "open"
        return (
            f"<ThreadPool {self._name!r} {state} threads={self._size} "
            f"idle={self.idle_count} queued={self.queued_count}>"
        )

    # -- queueing -------------------------------------------------------------------------

    @overload
    def queue_task(
        self,
        func: Callable[..., Deferral[T]],
        /,
        *args: Any,
        callback: Callable[[T], object] | None = ...,
        result_q: Any = ...,
        **kwargs: Any,
    ) -> Result[T]: ...

    @overload
    def queue_task(
        self,
        func: Callable[..., T],
        /,
        *args: Any,
        callback: Callable[[T], object] | None = ...,
        result_q: Any = ...,
        **kwargs: Any,
    ) -> Result[T]: ...

    def queue_task(
        self,
        func: Callable[..., Any],
        /,
        *args: Any,
        callback: Callable[[Any], object] | None = None,
        result_q: Any = None,
        **kwargs: Any,
    ) -> Result[Any]:
        """Run ``func(*args, **kwargs)`` in a worker; return its Result.

        ``callback(value)`` runs after ``func`` returns, in the same thread, before the
        Result finishes; if it raises, the Result fails with that exception. ``result_q``
        (anything with ``put``) receives the Result once it has ended, however it ended.
        Raises ``QueueFull`` if the bounded queue is full and ``RuntimeError`` after
        shutdown; then nothing was queued.
        """
        if not callable(func):
            check_callable(func, "func")
        return self._submit_new(Task(self._scheduler, self, func, args, kwargs, callback, result_q))

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Result[T]:
        """``concurrent.futures.Executor.submit``: every keyword goes to ``fn``."""
        if not callable(fn):
            check_callable(fn, "fn")
        return self._submit_new(Task(self._scheduler, self, fn, args, kwargs))

    def _submit_new(self, result: Task[T]) -> Result[T]:
        """Queue a new task (its owner, this pool or a Reactor, has checked it may)."""
        with self._lock:
            if self._closed:
                raise self._refusal()
            max_queued = self._max_queued
            if max_queued and len(self._queue) - self._cancelled >= max_queued:
                raise QueueFull(f"{self._name} already has {max_queued} queued tasks")
            if self._idle:  # rule 4: wake, unlist, queue
                self._wake_idle_locked()
            result._on_cancel = self
            self._queue += (result,)  # append, with no call: rule 6
        return result

    def _refusal(self) -> RuntimeError:
        if self._broken is not None:
            return BrokenThreadPool(self._broken)
        return RuntimeError(f"cannot queue a task: {self._name} is shut down")

    def _accept(self, work: Work) -> None:
        """Queue work accepted earlier (a fired timer, a periodic run, a deferral).

        Never refused for a full queue; refused with RuntimeError only when no worker is
        left to run it. Work whose Result was cancelled meanwhile is dropped.
        """
        result = work.future
        with self._lock:
            if self._closed and not self._workers:
                if self._broken is not None:
                    raise BrokenThreadPool(self._broken)
                raise RuntimeError(f"{self._name} has shut down; {work!r} cannot run")
            if result._state == CANCELLED:
                return
            if self._idle:  # rule 4
                self._wake_idle_locked()
            result._actor = None
            if result._state == PENDING:
                result._on_cancel = self
            self._queue.append(work)

    def _wake_idle_locked(self) -> None:
        """Under the lock, with a worker idle: wake the top one, then unlist it."""
        idle = self._idle
        idle[-1].handle.wake()  # type: ignore[union-attr]  # listed => has a handle
        del idle[-1]  # pop, with no call: see rule 6

    def _route(self, task: Task[Any], to_thread: bool) -> None:
        """Where a deferral from a task queued directly on this pool goes."""
        if not to_thread:
            raise RuntimeError(
                f"defer() needs a Reactor: {task.name} was queued on {self._name} directly"
            )
        self._accept(task)

    def _prune(self) -> None:
        # Under the lock, once _prune_at queued tasks were cancelled (see CancelCounting):
        # drop them if they are over half the queue.
        queue = self._queue
        if 2 * self._cancelled > len(queue):
            live = [work for work in queue if work.future._state != CANCELLED]
            # One line, the store first: no point between them (rule 5).
            self._cancelled = 0; queue.__init__(live)  # type: ignore[misc]  # noqa: E702  # fmt: skip
        self._prune_at = max(_MIN_CANCELLED_TO_PRUNE, len(queue) // 2 + 1)

    # -- workers --------------------------------------------------------------------------

    def _next_for(self, worker: _Worker) -> Work | Stop | None:
        """A worker asks for work: a task, STOP to exit, or None to wait to be woken."""
        with self._lock:
            if worker.gone:  # its start was undone (see resize_pool)
                return STOP
            if self._retiring:
                self._retiring -= 1
                self._retire(worker)
                return STOP
            queue = self._queue
            while queue:
                work = queue[0]  # popleft, with no call: see rule 6
                del queue[0]
                # A Task is its own Result; its future property would be a call.
                result = work if work.__class__ is Task else work.future
                if result._state == CANCELLED:
                    self._cancelled -= 1
                    continue
                result._on_cancel = None
                if self._idle and worker in self._idle:  # woken while listed (rule 5)
                    self._idle.remove(worker)
                return work
            if self._closed:
                self._retire(worker)
                return STOP
            if worker.handle is not None and worker not in self._idle:
                self._idle.append(worker)
            return None

    def _retire(self, worker: _Worker) -> None:
        # Under the lock.
        worker.gone = True
        self._workers.discard(worker)
        if worker in self._idle:
            self._idle.remove(worker)
        elif self._queue and self._idle:
            # Perhaps woken for a task it now leaves: pass the wake-up on (rule 3d).
            self._wake_idle_locked()
        if self._closed and not self._workers:
            self._stopped._settle(None, None)

    def _worker_name(self) -> str:
        number = next(self._worker_numbers)
        if self._thread_name_prefix:
            return f"{self._thread_name_prefix}_{number - 1}"
        return f"{self._name}-{number}"

    def _initializer_failed(self, exc: BaseException) -> None:
        """A worker's initializer raised: the pool is broken (as ThreadPoolExecutor's
        ``_initializer_failed``): what waits fails, the pool shuts down."""
        logger.error("%s: the initializer raised %r", self._name, exc, exc_info=exc)
        with self._lock:
            if self._broken is None:
                self._broken = (
                    f"a thread initializer of {self._name} failed: the pool is not usable"
                )
            message = self._broken
            taken = list(self._queue)
            for work in taken:
                work.future._on_cancel = None
            # On a worker thread (no signals): the count and the queue go together.
            self._cancelled = 0
            self._queue.clear()
        self.shutdown(wait=False)
        for work in taken:
            work.future._settle(None, BrokenThreadPool(message))

    def resize_pool(self, num_threads: int) -> None:
        """Grow or shrink the pool to ``num_threads`` workers. Callable from any thread.

        Raises ``ValueError`` beyond :data:`MAX_THREADS` and ``RuntimeError`` after
        shutdown. If a thread cannot be started, raises that error; the workers started
        before it stay, and ``thread_count`` counts only them.
        """
        _check_thread_count(num_threads)
        new_workers: list[_Worker] = []
        started = 0
        try:
            with self._lock:
                if self._closed:
                    raise RuntimeError(f"cannot resize {self._name}: it is shut down")
                change = num_threads - self._size
                if change > 0:
                    kept = min(change, self._retiring)  # workers not yet gone need not go
                    new_workers = [
                        self._worker_type(self._worker_name(), self._ref, self._queue)
                        for _ in range(change - kept)
                    ]
                    self._retiring -= kept
                    self._size = num_threads
                    self._workers.update(new_workers)
                elif change < 0:
                    self._retiring -= change
                    self._size = num_threads
                    for _ in range(min(-change, len(self._idle))):
                        self._wake_idle_locked()
            # Started after the lock is released: a thread starting while this one held
            # it would wait for it at once, and a thread blocked on the lock seeds a
            # convoy (see Scheduler.lock). Until it has its handle, a worker does not
            # list itself idle; the wake-up below makes it look again.
            for worker in new_workers:
                # One statement: the handle is stored as start() returns (rule 5).
                worker.handle = self._scheduler.start(worker, self._clock)
                with self._lock:
                    if self._closed:
                        self._to_join.append(worker.handle)
                worker.handle.wake()
                started += 1
        except BaseException:
            self._undo_start(new_workers[started:])
            raise

    def _undo_start(self, unstarted: list[_Worker]) -> None:
        """After an exception in resize_pool: forget the workers whose threads did not
        start (or whose start it interrupted; one that did start is woken, to stop),
        and make the counts agree with the workers there are (rule 3b)."""
        with self._lock:
            for worker in unstarted:
                worker.gone = True
                if worker in self._idle:
                    self._idle.remove(worker)
                if worker.handle is not None:
                    worker.handle.wake()
            self._workers.difference_update(unstarted)
            if self._closed:
                if not self._workers:
                    self._stopped._settle(None, None)
                return
            self._retiring = min(self._retiring, len(self._workers))
            self._size = len(self._workers) - self._retiring

    # -- shutdown -------------------------------------------------------------------------

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting tasks; see the module docstring. Idempotent; calling it again
        finishes a shutdown an exception interrupted."""
        with self._lock:
            self._closed = True
            self._size = 0
            self._retiring = 0
            nobody = not self._workers
            # Every worker now drains the queue, then exits. Wake them all (the idle ones
            # unlist themselves as they look; to a busy one it is a spare wake-up).
            self._to_join = [w.handle for w in self._workers if w.handle is not None]
            for handle in self._to_join:
                handle.wake()
            queued = list(self._queue) if cancel_futures or nobody else []
        # Ended outside the lock (their callbacks run), by Result.cancel: a worker may
        # take one meanwhile, and then it runs. Every one ends even if a done-callback
        # raises a BaseException (end_each re-raises it after).
        end_each([work.future for work in queued if work.future._state == PENDING], Result.cancel)
        if nobody:
            end_each(
                [work.future for work in queued if work.future._state == RUNNING],
                self._fail_unrun,
            )
        if nobody:
            with self._lock:
                if not self._workers:
                    self._cancelled = 0
                    self._queue.clear()  # every entry has ended
            self._stopped._settle(None, None)
        # Last: until here, exit calls shutdown again. Once only (not every scheduler's
        # unregister may be called twice).
        unregister, self._unregister_at_exit = self._unregister_at_exit, _nothing
        unregister()
        if wait and self._scheduler.current_actor() not in self._workers:
            self.join()

    def _fail_unrun(self, result: Result[Any]) -> None:  # a deferral's continuation
        result._settle(None, RuntimeError(f"{self._name} shut down with no workers"))

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the pool has shut down and every worker has exited; True if so,
        False if ``timeout`` seconds passed first (None: no limit).

        Does not shut the pool down: call ``shutdown(wait=False)`` first, or this waits
        until somebody does. Raises ``RuntimeError`` on one of the pool's own workers,
        which would wait for itself.
        """
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
                raise TypeError(f"timeout must be a number or None, got {timeout!r}")
            if timeout != timeout:
                raise ValueError("timeout must not be NaN")
        if self._scheduler.current_actor() in self._workers:
            raise RuntimeError(f"a worker of {self._name} cannot wait for it to shut down")
        if not self._stopped.wait(timeout):
            return False
        # Every worker has answered STOP: their threads are ending now.
        for handle in self._to_join:
            handle.join()
        return True

    def _shutdown_at_exit(self) -> None:
        self.shutdown(wait=True)

    def _forget_workers_after_fork(self) -> None:
        """In the child of a fork: the workers' threads did not survive it. The pool is
        shut down with no workers; its queue is dropped (see end_copies_after_fork)."""
        with self._lock:
            if not self._workers:
                return
            for worker in self._workers:
                worker.gone = True
            self._workers.clear()
            self._idle.clear()
            self._to_join = []
            self._closed = True
            self._size = 0
            self._retiring = 0
            queued = list(self._queue)
            self._cancelled = 0
            self._queue.clear()
            end_copies_after_fork(work.future for work in queued)
            self._stopped._settle(None, None)  # nobody's callbacks: it is the pool's own


def end_copies_after_fork(results: Iterable[Result[Any]]) -> None:
    """In the child of a fork, under the lock: end the child's copies of Results whose
    work will never run there (the parent's still will), so nothing in the child waits
    for them for ever. Without running their done-callbacks or filling their result
    queues: those are the parent's, and in the child (say, a ``multiprocessing``
    worker) they could act on what the parent shares with it."""
    for result in results:
        if result._state == PENDING:
            result._state = CANCELLED
        elif result._state == RUNNING:  # a deferral's continuation
            result._result = None
            result._exception = RuntimeError("its thread did not survive a fork")
            result._state = FINISHED
        else:
            continue
        result._on_cancel = None
        result._watchers = None
