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
  waits it counts towards the bound like any queued task.
* Zero workers is legal: tasks wait until ``resize_pool`` adds some. Without
  ``num_threads``, the pool has ``ThreadPoolExecutor``'s default size,
  ``min(32, os.cpu_count() + 4)``.
* ``initializer(*initargs)``, if given, runs in each worker before its first task. If
  it raises, the pool is broken, as ``ThreadPoolExecutor`` is: the exception is logged,
  the tasks waiting to start fail with ``concurrent.futures.thread.BrokenThreadPool``,
  the pool shuts down, and queueing raises ``BrokenThreadPool``.
* Workers are named ``<name>-1``, ``<name>-2``, ...; with ``thread_name_prefix``,
  ``<prefix>_0``, ``<prefix>_1``, ... as ``ThreadPoolExecutor`` names its threads.
* ``resize_pool(n)`` grows at once. Shrinking retires idle workers at once and busy ones
  as they finish their current task; a running task is never interrupted.
* ``shutdown(wait=True, cancel_futures=False)`` has ``concurrent.futures.Executor``
  semantics: no new tasks; queued tasks still run unless ``cancel_futures``; with
  ``wait`` it returns once every worker has exited. A pool with no workers cancels its
  queued tasks at shutdown, since nothing could ever run them. A pool that is never shut
  down is shut down (waiting for its queued tasks) when the program exits.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from concurrent.futures.thread import BrokenThreadPool
from contextlib import suppress
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
from .result import CANCELLED, PENDING, Result, end_each
from .scheduler import STOP, ActorHandle, Scheduler, Stop, Work
from .task import Task

__all__ = ["ThreadPool", "default_thread_count"]

logger = logging.getLogger("asyncthreads")

P = ParamSpec("P")
T = TypeVar("T")

# A bounded queue is pruned of cancelled tasks only past this many, so it never churns.
_MIN_CANCELLED_TO_PRUNE = 65


class _Worker:
    """One worker actor. The pool decides what it does; its scheduler runs it."""

    __slots__ = ("handle", "name", "pool")

    def __init__(self, name: str, pool: ThreadPool) -> None:
        self.name = name
        self.pool = pool
        self.handle: ActorHandle | None = None

    def next_work(self, now: float) -> Work | float | Stop | None:
        return self.pool._next_for(self)

    def __repr__(self) -> str:
        return f"<worker {self.name}>"


class _InitializingWorker(_Worker):
    """A worker of a pool with an initializer: its first work is to run it."""

    __slots__ = ("initialized",)

    def __init__(self, name: str, pool: ThreadPool) -> None:
        super().__init__(name, pool)
        self.initialized = False

    def next_work(self, now: float) -> Work | float | Stop | None:
        if not self.initialized:
            self.initialized = True
            return _Initializer(self.pool)
        return self.pool._next_for(self)


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
        check_count(num_threads, "num_threads")
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
        # Queued tasks since cancelled, counted by their Results (CancelCounting). Only a
        # bounded queue is pruned: an unbounded one is appended to without the lock, so it
        # is left to the workers, which skip cancelled entries.
        self._cancelled = 0
        self._prune_at = _MIN_CANCELLED_TO_PRUNE if self._max_queued else sys.maxsize
        self._workers: set[_Worker] = set()
        self._idle: list[_Worker] = []  # a stack: the most recently busy worker goes first
        self._size = 0  # workers, less those told to retire
        self._retiring = 0  # workers that must exit when they next ask for work
        self._worker_numbers = itertools.count(1)
        self._closed = False
        self._stopped: Result[None] = Result(scheduler, self)
        self._unregister_at_exit = scheduler.at_exit(self._shutdown_at_exit)
        self.resize_pool(num_threads)

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
        max_queued = self._max_queued
        if max_queued:  # the bound needs the check and the append to be one step
            with self._lock:
                if self._closed:
                    raise self._refusal()
                if len(self._queue) - self._cancelled >= max_queued:
                    raise QueueFull(f"{self._name} already has {max_queued} queued tasks")
                result._on_cancel = self
                self._queue.append(result)
                handle = self._pop_idle()
        else:
            # Unbounded: no lock, so callers never contend with the workers for it
            # (deque.append and list.pop are atomic). The append comes before the look
            # for an idle worker; a worker going idle lists itself before its last look
            # at the queue (see _next_for): one of the two always sees the other.
            if self._closed:
                raise self._refusal()
            result._on_cancel = self  # before the append: see _next_for
            self._queue.append(result)
            handle = self._pop_idle()
            if self._closed:  # shut down between the check and the append
                self._end_if_orphaned(result)
        if handle is not None:
            handle.wake()
        return result

    def _refusal(self) -> RuntimeError:
        if self._broken is not None:
            return BrokenThreadPool(self._broken)
        return RuntimeError(f"cannot queue a task: {self._name} is shut down")

    def _end_if_orphaned(self, work: Work) -> None:
        # A task queued as the pool shut down: it runs if any worker is left to drain the
        # queue (workers exit only when they find it empty); otherwise it is cancelled.
        with self._lock:
            if self._workers:
                return
            try:
                self._queue.remove(work)
            except ValueError:
                return
            work.future._on_cancel = None
        work.future.cancel()

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
            result._actor = None
            if result._state == PENDING:
                result._on_cancel = self
            self._queue.append(work)
            handle = self._pop_idle()
        if handle is not None:
            handle.wake()

    def _pop_idle(self) -> ActorHandle | None:
        """Take an idle worker off the stack, with or without the lock (list.pop is
        atomic); its handle to wake, or None. Only the pop changes anything here, so a
        caller paused after it cannot undo what the worker did since (see _next_for)."""
        if not self._idle:  # the usual case when the pool is busy; an exception costs
            return None
        try:
            return self._idle.pop().handle
        except IndexError:  # popped meanwhile by another caller
            return None

    def _route(self, task: Task[Any], to_thread: bool) -> None:
        """Where a deferral from a task queued directly on this pool goes."""
        if not to_thread:
            raise RuntimeError(
                f"defer() needs a Reactor: {task.name} was queued on {self._name} directly"
            )
        self._accept(task)

    def _prune(self) -> None:
        # Under the lock, once _prune_at queued tasks were cancelled (see CancelCounting):
        # drop them from a bounded queue if they are over half of it.
        queue = self._queue
        if 2 * self._cancelled > len(queue):
            for _ in range(len(queue)):
                work = queue.popleft()
                if work.future._state != CANCELLED:
                    queue.append(work)
            self._cancelled = 0
        self._prune_at = max(_MIN_CANCELLED_TO_PRUNE, len(queue) // 2 + 1)

    # -- workers --------------------------------------------------------------------------

    def _next_for(self, worker: _Worker) -> Work | Stop | None:
        """A worker asks for work: a task, STOP to exit, or None to wait to be woken."""
        # The usual case first: take the next task without holding the lock while popping
        # (deque.popleft is atomic). The lock is held only for a few attribute operations,
        # with no call inside, so a thread never loses the interpreter lock while holding
        # it; workers then never queue up on it (see Scheduler.lock).
        queue = self._queue
        if not self._retiring:
            while queue:
                try:
                    work = queue.popleft()
                except IndexError:  # another worker took the last one
                    break
                result = work.future
                with self._lock:
                    if result._state == CANCELLED:
                        self._cancelled -= 1
                        continue
                    result._on_cancel = None
                return work
        with self._lock:
            if self._retiring:
                self._retiring -= 1
                self._retire(worker)
                return STOP
            taken = self._pop_live_locked()
            if taken is not None:
                return taken
            if self._closed:
                self._retire(worker)
                return STOP
            if worker.handle is None:  # resize_pool is starting it, and will wake it
                return None
            idle = self._idle
            if worker not in idle:  # asked again without being woken: listed once
                idle.append(worker)
            # A caller may have queued a task, without the lock, after the look above and
            # before this worker was listed idle; look once more (see _submit_new).
            taken = self._pop_live_locked()
            if taken is not None:
                # Unless a caller already took it off the stack to wake it (a spare wake-up).
                with suppress(ValueError):
                    idle.remove(worker)
            return taken

    def _pop_live_locked(self) -> Work | None:
        """Under the lock: the next queued work whose Result was not cancelled (cancelled
        ones are dropped on the way), or None if there is none."""
        queue = self._queue
        while queue:
            work = queue.popleft()
            result = work.future
            if result._state == CANCELLED:
                self._cancelled -= 1
                continue
            result._on_cancel = None
            return work
        return None

    def _retire(self, worker: _Worker) -> None:
        # Under the lock.
        self._workers.discard(worker)
        try:
            self._idle.remove(worker)  # woken by a spare wake-up while still listed
        except ValueError:
            # Not listed; or a caller, without the lock, has just popped it to wake it
            # for a task: pass that wake-up on to another idle worker.
            if self._queue:
                handle = self._pop_idle()
                if handle is not None:
                    handle.wake()
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
            queue = self._queue  # in place: callers append without the lock
            taken = [queue.popleft() for _ in range(len(queue))]
            self._cancelled = 0
            for work in taken:
                work.future._on_cancel = None
        self.shutdown(wait=False)
        for work in taken:
            work.future._settle(None, BrokenThreadPool(message))

    def resize_pool(self, num_threads: int) -> None:
        """Grow or shrink the pool to ``num_threads`` workers. Callable from any thread."""
        check_count(num_threads, "num_threads")
        with self._lock:
            if self._closed:
                raise RuntimeError(f"cannot resize {self._name}: it is shut down")
            change = num_threads - self._size
            self._size = num_threads
            to_wake: list[ActorHandle | None] = []
            new_workers: list[_Worker] = []
            if change > 0:
                kept = min(change, self._retiring)  # workers not yet gone need not go
                self._retiring -= kept
                for _ in range(change - kept):
                    worker = self._worker_type(self._worker_name(), self)
                    self._workers.add(worker)
                    new_workers.append(worker)
            elif change < 0:
                self._retiring -= change
                for _ in range(min(-change, len(self._idle))):
                    to_wake.append(self._pop_idle())
        # Started after the lock is released: a thread starting while this one held it
        # would wait for it at once, and a thread blocked on the lock seeds a convoy (see
        # Scheduler.lock). Until it has its handle, a worker does not list itself idle;
        # the wake-up below makes it look again.
        for worker in new_workers:
            started = worker.handle = self._scheduler.start(worker, self._clock)
            started.wake()
        for handle in to_wake:
            assert handle is not None
            handle.wake()

    # -- shutdown -------------------------------------------------------------------------

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting tasks; see the module docstring. Idempotent."""
        to_cancel: list[Result[Any]] = []
        to_fail: list[Result[Any]] = []
        to_wake: list[ActorHandle | None] = []
        with self._lock:
            # (A worker resize_pool is still starting has no handle to join yet.)
            workers = [worker.handle for worker in self._workers if worker.handle is not None]
            if not self._closed:
                self._closed = True
                self._size = 0
                self._retiring = 0  # every worker now drains the queue, then exits
                self._unregister_at_exit()
                nobody = not self._workers
                if cancel_futures or nobody:
                    queue = self._queue  # in place: callers append without the lock
                    for _ in range(len(queue)):
                        work = queue.popleft()
                        result = work.future
                        if result._state == PENDING:
                            result._on_cancel = None
                            to_cancel.append(result)
                        elif result._state != CANCELLED:  # a running continuation
                            if nobody:
                                to_fail.append(result)
                            else:
                                queue.append(work)
                    self._cancelled = 0
                while (handle := self._pop_idle()) is not None:
                    to_wake.append(handle)
                if nobody:
                    self._stopped._settle(None, None)
        try:
            # Every Result ends even if a done-callback raises a BaseException.
            end_each(to_cancel, Result.cancel)
            end_each(to_fail, self._fail_unrun)
        finally:
            for handle in to_wake:
                assert handle is not None
                handle.wake()
        if wait and self._scheduler.current_actor() not in self._workers:
            self._stopped.wait()
            for handle in workers:  # so no worker thread is left when this returns
                assert handle is not None
                handle.join()

    def _fail_unrun(self, result: Result[Any]) -> None:
        result._settle(None, RuntimeError(f"{self._name} shut down with no workers"))

    def _shutdown_at_exit(self) -> None:
        self.shutdown(wait=True)
