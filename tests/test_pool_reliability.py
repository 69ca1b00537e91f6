"""ThreadPool under faults and races on real threads: a shutdown, prune or resize racing
the workers, a thread that cannot start, a broken clock, interrupts at every statement
of the main-thread paths, dropped pools, the thread-count bound and ``join``.

Races are forced with hooks (a Work whose ``future`` pauses the thread reading it, a
patched ``Thread.start``) and interrupts with ``sys.settrace``; nothing sleeps for order.
"""

from __future__ import annotations

import gc
import itertools
import linecache
import logging
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import pytest

from asyncthreads import Result, ThreadPool, thread_pool, thread_scheduler
from asyncthreads.clock import SystemClock
from asyncthreads.scheduler import STOP, Stop, Work
from asyncthreads.thread_pool import MAX_THREADS
from asyncthreads.thread_scheduler import ThreadScheduler

pytestmark = pytest.mark.timeout(60)

_names = itertools.count()
_real_thread_start = threading.Thread.start


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}-"


def live_threads(prefix: str) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(prefix)]


def wait_until(predicate: Callable[[], bool], timeout: float = 5) -> bool:
    """Poll for a state no event announces (a thread ending, a queue shrinking)."""
    ticker = threading.Event()
    for _ in range(int(timeout / 0.002)):
        if predicate():
            return True
        ticker.wait(0.002)
    return predicate()


def returns_within(seconds: float, action: Callable[[], object]) -> bool:
    """Run ``action`` on a daemon thread; True if it returned in time (a hang fails)."""
    done = threading.Event()

    def run() -> None:
        action()
        done.set()

    _real_thread_start(threading.Thread(target=run, daemon=True))  # even if patched
    return done.wait(seconds)


@pytest.fixture
def pools() -> Iterator[list[ThreadPool]]:
    """Pools to shut down after the test, whatever it did to them."""
    made: list[ThreadPool] = []
    yield made
    for pool in made:
        pool.shutdown(wait=False, cancel_futures=True)


def busy_pool(
    made: list[ThreadPool], max_queue_size: int = 0
) -> tuple[ThreadPool, threading.Event]:
    """A one-worker pool whose worker is held until the returned gate opens."""
    pool = ThreadPool(1, max_queue_size, name=unique("rel"))
    made.append(pool)
    gate = threading.Event()
    started = threading.Event()

    def hold() -> None:
        started.set()
        gate.wait(10)

    pool.submit(hold)
    assert started.wait(5)
    return pool, gate


class PausingWork:
    """Work (as a Reactor hands over) whose ``future``, read on the armed thread, first
    calls ``on_read``: a hook between two statements of whoever reads it."""

    def __init__(self, pool: ThreadPool, on_read: Callable[[], object], log: list[str]) -> None:
        self._future: Result[None] = Result(pool.scheduler)
        self._on_read = on_read
        self._log = log
        self.armed_thread: threading.Thread | None = None

    @property
    def future(self) -> Result[None]:
        if self.armed_thread is threading.current_thread():
            self.armed_thread = None
            self._on_read()
        return self._future

    def run(self) -> None:
        if self._future._begin():
            self._log.append("pausing work")
            self._future._settle(None, None)


def worker_pausing_between_tasks(
    made: list[ThreadPool], max_queue_size: int = 0
) -> tuple[ThreadPool, threading.Event, threading.Event, threading.Event]:
    """A one-worker pool whose worker holds a task until ``gate`` opens, then (the task's
    Result ended, before it looks at the queue again) sets ``between`` and pauses until
    ``go_on`` is set or 2 seconds pass. Returns (pool, gate, between, go_on)."""
    pool = ThreadPool(1, max_queue_size, name=unique("rel"))
    made.append(pool)
    gate, between, go_on, started = (threading.Event() for _ in range(4))

    def hold() -> None:
        started.set()
        gate.wait(10)

    def pause(_: object) -> None:  # a done-callback: it runs on the worker, unlocked
        between.set()
        go_on.wait(2)

    pool.submit(hold).add_done_callback(pause)
    assert started.wait(5)
    return pool, gate, between, go_on


def let_the_worker_take_one(pool: ThreadPool, go_on: threading.Event) -> Callable[[], None]:
    def hook() -> None:
        before = len(pool._queue)
        go_on.set()
        wait_until(lambda: len(pool._queue) < before, timeout=0.5)  # if it can

    return hook


# -- item 2: shutdown(cancel_futures=True) racing the workers --------------------------------


def test_shutdown_cancelling_futures_while_a_worker_takes_tasks_ends_every_result(
    pools: list[ThreadPool],
) -> None:
    pool, gate, between, go_on = worker_pausing_between_tasks(pools)
    ran: list[str] = []
    paused = PausingWork(pool, let_the_worker_take_one(pool, go_on), ran)
    pool._accept(paused)
    tasks = [pool.submit(ran.append, f"task {n}") for n in range(3)]
    gate.set()
    assert between.wait(5)
    paused.armed_thread = threading.current_thread()

    pool.shutdown(wait=True, cancel_futures=True)

    assert all(task.done() for task in tasks)
    assert paused.future.done()


# -- item 5: the prune of a bounded queue racing the workers --------------------------------


def test_a_prune_racing_a_worker_keeps_the_queue_in_order_and_its_count_exact(
    pools: list[ThreadPool],
) -> None:
    pool, gate, between, go_on = worker_pausing_between_tasks(pools, max_queue_size=200)
    ran: list[str] = []
    paused = PausingWork(pool, let_the_worker_take_one(pool, go_on), ran)
    cancelled = pool.submit(ran.append, "cancelled first")
    pool._accept(paused)
    tasks = [pool.submit(ran.append, f"task {n}") for n in range(100)]
    cancelled.cancel()
    gate.set()
    assert between.wait(5)
    paused.armed_thread = threading.current_thread()
    for n in range(96):  # the 65th cancel prunes (65 of 102), reading paused.future
        if n % 3:
            tasks[n].cancel()
    kept = [f"task {n}" for n in range(100) if n % 3 == 0 or n >= 96]

    pool.shutdown(wait=True)

    assert ran == ["pausing work", *kept]
    assert pool.queued_count == 0


# -- item 10: resize_pool racing producers ----------------------------------------------------


class PausingList(list[Any]):
    """The idle stack, with a hook at its first removal (``pop`` or ``del``) on the
    armed thread."""

    armed_thread: threading.Thread | None = None
    on_pop: Callable[[], object] = staticmethod(lambda: None)

    def _hook(self) -> None:
        if self.armed_thread is threading.current_thread():
            self.armed_thread = None
            self.on_pop()

    def pop(self, index: Any = -1) -> Any:
        self._hook()
        return super().pop(index)

    def __delitem__(self, index: Any) -> None:
        self._hook()
        super().__delitem__(index)


def test_shrinking_while_producers_take_the_idle_workers_raises_nothing(
    pools: list[ThreadPool],
) -> None:
    pool = ThreadPool(2, name=unique("rel"))
    pools.append(pool)
    assert wait_until(lambda: pool.idle_count == 2)
    idle = PausingList(pool._idle)
    pool._idle = idle
    results: list[Result[int]] = []

    def producers_take_every_idle_worker() -> None:
        producer = threading.Thread(target=lambda: results.extend(pool.submit(int) for _ in "ab"))
        producer.start()
        producer.join(0.5)  # it cannot finish while the resize holds the lock

    idle.on_pop = producers_take_every_idle_worker
    idle.armed_thread = threading.current_thread()

    pool.resize_pool(1)

    assert wait_until(lambda: len(results) == 2)
    assert [r.result(timeout=5) for r in results] == [0, 0]
    assert pool.thread_count == 1


# -- item 3: a thread that cannot start -------------------------------------------------------


@pytest.fixture
def failing_thread_start(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Make every thread start after the first ``n`` fail as at the system's limit."""

    def fail_after(n: int) -> None:
        real_start = threading.Thread.start
        starts = itertools.count()

        def start(self: threading.Thread) -> None:
            if next(starts) >= n:
                raise RuntimeError("can't start new thread")
            real_start(self)

        monkeypatch.setattr(threading.Thread, "start", start)

    return fail_after


def test_a_constructor_whose_thread_cannot_start_raises_and_leaves_no_thread(
    failing_thread_start: Callable[[int], None],
) -> None:
    name = unique("nostart")
    failing_thread_start(2)

    with pytest.raises(RuntimeError, match="can't start new thread"):
        ThreadPool(4, name=name)

    assert wait_until(lambda: not live_threads(name))


def test_resize_pool_whose_thread_cannot_start_raises_and_counts_the_workers_it_has(
    pools: list[ThreadPool], failing_thread_start: Callable[[int], None]
) -> None:
    pool = ThreadPool(1, name=unique("rel"))
    pools.append(pool)
    failing_thread_start(1)

    with pytest.raises(RuntimeError, match="can't start new thread"):
        pool.resize_pool(4)

    assert pool.thread_count == 2
    assert pool.submit(int, "5").result(timeout=5) == 5


def test_shutdown_after_a_failed_resize_returns(
    pools: list[ThreadPool], failing_thread_start: Callable[[int], None]
) -> None:
    pool = ThreadPool(1, name=unique("rel"))
    pools.append(pool)
    failing_thread_start(0)
    with pytest.raises(RuntimeError):
        pool.resize_pool(3)

    assert returns_within(5, pool.shutdown)


class IdleActor:
    """An actor with nothing to do, counting how often it is asked."""

    name = "idle-actor"

    def __init__(self) -> None:
        self.asked = 0

    def next_work(self, now: float) -> Work | float | Stop | None:
        self.asked += 1
        return None


def test_a_thread_start_interrupted_after_the_thread_began_leaves_no_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_start = threading.Thread.start
    started: list[threading.Thread] = []

    def start(self: threading.Thread) -> None:
        real_start(self)
        started.append(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(threading.Thread, "start", start)

    with pytest.raises(KeyboardInterrupt):
        ThreadScheduler().start(IdleActor(), SystemClock())

    started[0].join(5)
    assert not started[0].is_alive()


def test_the_scheduler_names_the_actor_whose_thread_cannot_start(
    failing_thread_start: Callable[[int], None],
) -> None:
    failing_thread_start(0)

    with pytest.raises(RuntimeError, match="idle-actor"):
        ThreadScheduler().start(IdleActor(), SystemClock())


# -- item 9: a broken clock or actor ----------------------------------------------------------


class BrokenClock:
    """A clock whose ``now()`` always raises."""

    def now(self) -> float:
        raise OSError("clock source gone")


def test_a_pool_whose_clock_raises_still_runs_tasks_and_logs_it_once(
    pools: list[ThreadPool], caplog: pytest.LogCaptureFixture
) -> None:
    pool = ThreadPool(1, clock=BrokenClock(), name=unique("rel"))
    pools.append(pool)

    assert [pool.submit(int, str(n)).result(timeout=5) for n in range(3)] == [0, 1, 2]
    assert returns_within(5, pool.shutdown)
    clock_errors = [r for r in caplog.records if "now() raised" in r.getMessage()]
    assert len(clock_errors) == 1
    assert clock_errors[0].levelno == logging.ERROR


class FailingOnceActor:
    """An actor whose first ``next_work`` raises; then it stops."""

    name = "failing-actor"

    def __init__(self) -> None:
        self.asked = 0

    def next_work(self, now: float) -> Work | float | Stop | None:
        self.asked += 1
        if self.asked == 1:
            raise ValueError("bookkeeping bug")
        return STOP


def test_an_actor_whose_next_work_raises_is_logged_and_asked_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    actor = FailingOnceActor()

    thread = ThreadScheduler().start(actor, SystemClock())

    thread.join(5)
    assert not thread.is_alive()
    assert actor.asked == 2
    assert any("next_work raised" in r.getMessage() for r in caplog.records)


# -- item 11: a bound on the thread count -----------------------------------------------------


def test_a_pool_larger_than_max_threads_is_refused_naming_the_bound() -> None:
    with pytest.raises(ValueError, match=f"num_threads must be at most {MAX_THREADS}"):
        ThreadPool(10**9)


def test_resizing_beyond_max_threads_is_refused_and_changes_nothing(
    pools: list[ThreadPool],
) -> None:
    pool = ThreadPool(0, name=unique("rel"))
    pools.append(pool)

    with pytest.raises(ValueError, match="MAX_THREADS"):
        pool.resize_pool(MAX_THREADS + 1)

    assert pool.thread_count == 0


# -- item 12: dropped pools are collected -----------------------------------------------------


def test_dropped_pools_are_collected_and_their_threads_end() -> None:
    name = unique("dropped")
    for n in range(20):
        ThreadPool(4, name=f"{name}{n}")
    gc.collect()

    assert wait_until(lambda: not live_threads(name))


def test_a_dropped_pool_runs_its_queued_tasks_before_its_threads_end() -> None:
    name = unique("dropped")
    finished: queue.SimpleQueue[Result[Any]] = queue.SimpleQueue()
    gate = threading.Event()
    pool = ThreadPool(2, name=name)
    for _ in range(6):
        pool.queue_task(gate.wait, 10, result_q=finished)
    del pool
    gc.collect()
    gate.set()

    assert [finished.get(timeout=5).result() for _ in range(6)] == [True] * 6
    assert wait_until(lambda: not live_threads(name))


# -- item 14: cancelled entries do not pile up in an unbounded queue ---------------------------


def test_schedule_and_cancel_churn_keeps_the_unbounded_queue_small(
    pools: list[ThreadPool],
) -> None:
    pool, _ = busy_pool(pools)
    longest = 0

    for _ in range(20_000):
        pool.submit(int).cancel()
        longest = max(longest, len(pool._queue))

    assert longest <= 2 * 65
    assert pool.queued_count == 0


# -- lifecycle: join(timeout) -----------------------------------------------------------------


def test_join_says_false_while_a_task_still_runs_and_true_once_the_pool_has_ended(
    pools: list[ThreadPool],
) -> None:
    pool, gate = busy_pool(pools)
    pool.shutdown(wait=False)

    assert pool.join(timeout=0.05) is False
    gate.set()
    assert pool.join(timeout=5) is True
    assert not live_threads(pool.name)


def test_join_on_an_open_pool_times_out(pools: list[ThreadPool]) -> None:
    pool = ThreadPool(1, name=unique("rel"))
    pools.append(pool)

    assert pool.join(timeout=0.01) is False


def test_join_refuses_a_timeout_that_is_not_a_number(pools: list[ThreadPool]) -> None:
    pool = ThreadPool(0, name=unique("rel"))
    pools.append(pool)

    with pytest.raises(TypeError, match="timeout"):
        pool.join(timeout="5")  # type: ignore[arg-type]


# -- interrupts at every statement of the main-thread paths -----------------------------------


class Interrupted(BaseException):
    """Raised by the tracer as a signal handler's KeyboardInterrupt would be."""


# The pool's own code and its production scheduler's: each line the calling thread runs
# there is a point where an interrupt is injected.
POOL_FILES = {thread_pool.__file__, thread_scheduler.__file__}


def interrupting_at(nth: int, files: set[str] = POOL_FILES) -> Callable[[], int]:
    """Trace the calling thread: raise Interrupted at its ``nth`` line in ``files``.

    Returns a function that stops tracing and says how many such lines it saw."""
    seen = 0
    with_lines: dict[tuple[int, int], int] = {}

    def leaves_a_with_block(frame: FrameType) -> bool:
        # A with statement's line is reported on entering its block and again on
        # leaving it, before __exit__ is called and outside the block's cleanup: raising
        # there would leak the lock, which no signal can do (CPython checks for signals
        # only after the __exit__ call returns). Every second report is a leaving.
        line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).lstrip()
        if not line.startswith("with "):
            return False
        key = (id(frame), frame.f_lineno)
        with_lines[key] = with_lines.get(key, 0) + 1
        return with_lines[key] % 2 == 0

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal seen
        if event == "line" and not leaves_a_with_block(frame):
            seen += 1
            if seen == nth:
                raise Interrupted
        return local

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename in files else None

    sys.settrace(tracer)

    def stop() -> int:
        sys.settrace(None)
        return seen

    return stop


def every_line_interrupted(scenario: Callable[[int], int]) -> int:
    """Run ``scenario(nth)`` (which returns the lines it saw) for nth = 1, 2, ... until
    one sees fewer than nth lines; return how many points were tried."""
    for nth in itertools.count(1):
        if scenario(nth) < nth:
            return nth - 1
    raise AssertionError("unreachable")


def check_pool_works_and_ends(pool: ThreadPool, results: list[Result[Any]]) -> None:
    """After an interrupt: a new task runs, shutdown returns, every Result has ended."""
    assert pool.submit(int, "7").result(timeout=5) == 7
    assert returns_within(5, pool.shutdown)
    assert all(r.done() for r in results)
    assert wait_until(lambda: not live_threads(pool.name))


@pytest.mark.parametrize("workers", [1, 3])
def test_an_interrupt_at_any_line_of_submit_loses_no_worker_and_no_task(workers: int) -> None:
    def scenario(nth: int) -> int:
        pool = ThreadPool(workers, name=unique("intr"))
        assert wait_until(lambda: pool.idle_count == workers)
        results = [pool.submit(int) for _ in range(2)]
        assert wait_until(lambda: pool.idle_count == workers)
        stop = interrupting_at(nth)
        try:
            results.append(pool.submit(int))
        except Interrupted:
            pass
        finally:
            seen = stop()
        check_pool_works_and_ends(pool, results)
        return seen

    assert every_line_interrupted(scenario) > 5


def test_an_interrupt_at_any_line_of_a_prune_loses_no_task() -> None:
    def scenario(nth: int) -> int:
        pool = ThreadPool(0, 100, name=unique("intr"))
        ran: list[int] = []
        tasks = [pool.submit(ran.append, n) for n in range(99)]
        for task in tasks[1:65]:
            task.cancel()
        stop = interrupting_at(nth)
        try:
            tasks[65].cancel()  # the 65th cancel prunes: 65 of 99 are over half
        except Interrupted:
            pass
        finally:
            seen = stop()
        live = [n for n, task in enumerate(tasks) if not task.cancelled()]
        assert pool.queued_count == len(live)
        pool.resize_pool(1)
        pool.shutdown(wait=True)
        assert ran == live
        return seen

    assert every_line_interrupted(scenario) > 2


def test_an_interrupt_at_any_line_of_shutdown_is_finished_by_shutting_down_again() -> None:
    def scenario(nth: int) -> int:
        pool, gate = busy_pool([])
        results = [pool.submit(int) for _ in range(5)]
        stop = interrupting_at(nth)
        try:
            pool.shutdown(wait=False, cancel_futures=True)
        except Interrupted:
            pass
        finally:
            seen = stop()
        gate.set()
        assert returns_within(5, lambda: pool.shutdown(wait=True, cancel_futures=True))
        assert all(r.done() for r in results)
        assert wait_until(lambda: not live_threads(pool.name))
        return seen

    assert every_line_interrupted(scenario) > 5


@pytest.mark.parametrize("change", [+2, -2])
def test_an_interrupt_at_any_line_of_resize_pool_leaves_a_working_pool(change: int) -> None:
    def scenario(nth: int) -> int:
        pool = ThreadPool(3, name=unique("intr"))
        assert wait_until(lambda: pool.idle_count == 3)
        stop = interrupting_at(nth)
        try:
            pool.resize_pool(3 + change)
        except Interrupted:
            pass
        finally:
            seen = stop()
        # Interrupted growth keeps the workers already started; shrinking is all or none.
        assert min(3, 3 + change) <= pool.thread_count <= max(3, 3 + change)
        assert pool.thread_count == len(pool._workers) - pool._retiring
        results = [pool.submit(int) for _ in range(10)]
        check_pool_works_and_ends(pool, results)
        return seen

    assert every_line_interrupted(scenario) > 5
