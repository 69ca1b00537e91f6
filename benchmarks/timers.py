"""Workload 3, ``timers``: the cost of a pending timer, in time and in memory.

Timers here never fire: asyncthreads schedules them on a Reactor that is not started
(with a pool of no threads), asyncio on an event loop that is not running, so each
measurement is the bookkeeping alone. Deadlines are 1,000-2,000 s away, in a seeded
random order shared by every contender.

* **call_later, then cancel half**: ``n`` ``call_later`` (each returns a Result, a
  TimerHandle, a ``sched`` Event), then every other one is cancelled: asyncthreads
  ``Result.cancel()`` (and, in runs of its own, ``Reactor.cancel_scheduled(result)``),
  asyncio ``TimerHandle.cancel()``, and ``sched.scheduler`` at a smaller ``n``, since its
  ``cancel`` is O(n) (a list remove and a heapify). asyncio's cancel is for its loop's
  thread only; ``concurrent.futures.Future.cancel()`` on pending Futures (no timer) shows
  what the standard library's thread-safe cancellation costs.
* **Flatness**: the cost per ``call_later`` and per cancel with 1,000 to 1,000,000 timers
  already pending, in rounds (schedule a batch, cancel it). asyncthreads prunes cancelled
  timers itself; an asyncio loop prunes only when it runs, so between rounds (untimed) the
  loop runs one iteration, as a live loop would. The pending timers are frozen out of the
  garbage collector (``gc.freeze``) so that a collection of a million objects does not
  land on whichever contender happens to be running.
* **Memory**: bytes that stay allocated per pending timer, everything included (the
  Result, the task, the heap entry, the copied context), by ``tracemalloc``.
"""

from __future__ import annotations

import asyncio
import gc
import random
import sched
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import Any

from asyncthreads import Reactor, ThreadPool
from asyncthreads.testing.null_lock import NullLock

from .config import Config
from .harness import Group, Matrix, Row, Table, Target, interleave

NAME = "timers"


def _noop() -> None:
    pass


def _delays(n: int, seed: int = 1) -> list[float]:
    rnd = random.Random(seed)
    return [1000.0 + 1000.0 * rnd.random() for _ in range(n)]


def _idle_reactor() -> Reactor:
    """A Reactor that is never started, so its timers just sit; its pool has no threads."""
    return Reactor(ThreadPool(0, name="bench-timers-pool"), name="bench-timers")


def _close(reactor: Reactor) -> None:
    reactor.shutdown(wait=True)  # never started: it cancels its timers
    reactor.thread_pool.shutdown(wait=True)


# -- call_later, then cancel half --------------------------------------------------------


def asyncthreads_schedule_cancel(
    delays: list[float], by_reactor: bool = False, unlocked: bool = False
) -> tuple[float, float]:
    """(us per call_later, us per cancel): ``Result.cancel()``, or with ``by_reactor``
    ``Reactor.cancel_scheduled(result)``. With ``unlocked``, the scheduler's lock is
    swapped for the simulation's no-op lock while cancelling: what the cancel costs
    without its thread safety (a floor, not something to use)."""
    reactor = _idle_reactor()
    scheduler: Any = reactor.scheduler
    lock = scheduler.lock
    try:
        call_later = reactor.call_later
        start = time.perf_counter()
        results = [call_later(delay, _noop) for delay in delays]
        scheduled = time.perf_counter() - start
        half = results[::2]
        if unlocked:
            scheduler.lock = NullLock()
        if by_reactor:
            cancel_scheduled = reactor.cancel_scheduled
            start = time.perf_counter()
            for result in half:
                cancel_scheduled(result)
        else:
            start = time.perf_counter()
            for result in half:
                result.cancel()
        cancelled = time.perf_counter() - start
        return scheduled / len(delays) * 1e6, cancelled / len(half) * 1e6
    finally:
        scheduler.lock = lock
        _close(reactor)


def asyncio_schedule_cancel(delays: list[float]) -> tuple[float, float]:
    loop = asyncio.new_event_loop()
    try:
        call_later = loop.call_later
        start = time.perf_counter()
        handles = [call_later(delay, _noop) for delay in delays]
        scheduled = time.perf_counter() - start
        half = handles[::2]
        start = time.perf_counter()
        for handle in half:
            handle.cancel()
        cancelled = time.perf_counter() - start
        return scheduled / len(delays) * 1e6, cancelled / len(half) * 1e6
    finally:
        loop.close()


def future_cancel(n: int) -> tuple[float, float]:
    """(0, us per cancel) for ``concurrent.futures.Future.cancel()`` on half of ``n``
    pending Futures: the standard library's thread-safe cancellation, with no timer."""
    futures: list[Future[None]] = [Future() for _ in range(n)]
    half = futures[::2]
    start = time.perf_counter()
    for future in half:
        future.cancel()
    cancelled = time.perf_counter() - start
    return 0.0, cancelled / len(half) * 1e6


def sched_schedule_cancel(delays: list[float]) -> tuple[float, float]:
    scheduler = sched.scheduler()
    enter = scheduler.enter
    start = time.perf_counter()
    events = [enter(delay, 0, _noop) for delay in delays]
    scheduled = time.perf_counter() - start
    half = events[::2]
    cancel = scheduler.cancel
    start = time.perf_counter()
    for event in half:
        cancel(event)
    cancelled = time.perf_counter() - start
    return scheduled / len(delays) * 1e6, cancelled / len(half) * 1e6


# -- flatness ----------------------------------------------------------------------------


class _PendingReactor:
    """asyncthreads with ``pending`` timers waiting; ``measure`` runs rounds on top."""

    def __init__(self, pending: int) -> None:
        self.reactor = _idle_reactor()
        call_later = self.reactor.call_later
        self.keep = [call_later(delay, _noop) for delay in _delays(pending, seed=2)]

    def measure(self, delays: list[float], batch: int) -> tuple[float, float]:
        call_later = self.reactor.call_later
        scheduling = cancelling = 0.0
        for i in range(0, len(delays), batch):
            chunk = delays[i : i + batch]
            t0 = time.perf_counter()
            results = [call_later(delay, _noop) for delay in chunk]
            t1 = time.perf_counter()
            for result in results:
                result.cancel()
            t2 = time.perf_counter()
            scheduling += t1 - t0
            cancelling += t2 - t1
        return scheduling / len(delays) * 1e6, cancelling / len(delays) * 1e6

    def close(self) -> None:
        _close(self.reactor)


class _PendingLoop:
    """asyncio with ``pending`` timers waiting on a loop that runs only between rounds."""

    def __init__(self, pending: int) -> None:
        self.loop = asyncio.new_event_loop()
        call_later = self.loop.call_later
        self.keep = [call_later(delay, _noop) for delay in _delays(pending, seed=2)]

    def measure(self, delays: list[float], batch: int) -> tuple[float, float]:
        loop = self.loop
        call_later = loop.call_later
        scheduling = cancelling = 0.0
        for i in range(0, len(delays), batch):
            chunk = delays[i : i + batch]
            t0 = time.perf_counter()
            handles = [call_later(delay, _noop) for delay in chunk]
            t1 = time.perf_counter()
            for handle in handles:
                handle.cancel()
            t2 = time.perf_counter()
            scheduling += t1 - t0
            cancelling += t2 - t1
            # One iteration of the loop, untimed: a running loop prunes its cancelled
            # timers there (once they are more than half of its heap).
            loop.run_until_complete(asyncio.sleep(0))
        return scheduling / len(delays) * 1e6, cancelling / len(delays) * 1e6

    def close(self) -> None:
        self.loop.close()


def flatness(
    sizes: list[int], ops: int, runs: int
) -> dict[str, dict[int, list[tuple[float, float]]]]:
    """Per contender, per size: (us per call_later, us per cancel) for each run."""
    found: dict[str, dict[int, list[tuple[float, float]]]] = {
        "asyncthreads": {},
        "asyncio": {},
    }
    for pending in sizes:
        batch = max(100, min(pending // 10, 1_000))
        delays = _delays(ops, seed=3)
        ours, theirs = _PendingReactor(pending), _PendingLoop(pending)
        gc.collect()
        gc.freeze()
        try:
            samples = interleave(
                [
                    ("asyncthreads", partial(ours.measure, delays, batch)),
                    ("asyncio", partial(theirs.measure, delays, batch)),
                ],
                runs,
                warmup=[partial(ours.measure, delays[:batch], batch)],
            )
        finally:
            gc.unfreeze()
            ours.close()
            theirs.close()
        for label, values in samples.items():
            found[label][pending] = values
    return found


# -- memory ------------------------------------------------------------------------------


def _retained(n: int, schedule: Callable[[float], object]) -> float:
    """Bytes still allocated per timer after ``n`` calls of ``schedule``, results kept."""
    delays = _delays(n)
    keep: list[object] = [None] * n
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i, delay in enumerate(delays):
            keep[i] = schedule(delay)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del keep
    return (after - before) / n


def asyncthreads_bytes(n: int) -> float:
    reactor = _idle_reactor()
    try:
        call_later = reactor.call_later
        return _retained(n, lambda delay: call_later(delay, _noop))
    finally:
        _close(reactor)


def asyncio_bytes(n: int) -> float:
    loop = asyncio.new_event_loop()
    try:
        call_later = loop.call_later
        return _retained(n, lambda delay: call_later(delay, _noop))
    finally:
        loop.close()


def sched_bytes(n: int) -> float:
    enter = sched.scheduler().enter
    return _retained(n, lambda delay: enter(delay, 0, _noop))


# -- the tables --------------------------------------------------------------------------


def run(config: Config) -> list[Table | Matrix]:
    n = config.size(200_000, 2_000)
    n_sched = config.size(2_000, 200)
    delays = _delays(n)
    runs = config.runs_or(5)
    ours, theirs, sched_label = "asyncthreads", "asyncio", f"sched (n={n_sched:,})"
    by_reactor = "asyncthreads, cancel_scheduled"
    futures = "concurrent.futures"
    unlocked = "asyncthreads, no-op lock"
    unlocked_by_reactor = "asyncthreads, cancel_scheduled, no-op lock"
    timed = interleave(
        [
            (ours, partial(asyncthreads_schedule_cancel, delays)),
            (unlocked, partial(asyncthreads_schedule_cancel, delays, unlocked=True)),
            (
                unlocked_by_reactor,
                partial(asyncthreads_schedule_cancel, delays, by_reactor=True, unlocked=True),
            ),
            (by_reactor, partial(asyncthreads_schedule_cancel, delays, by_reactor=True)),
            (futures, partial(future_cancel, n)),
            (theirs, partial(asyncio_schedule_cancel, delays)),
            (sched_label, partial(sched_schedule_cancel, delays[:n_sched])),
        ],
        runs,
    )

    def scheduling(label: str) -> list[float]:
        return [s[0] for s in timed[label]]

    def cancels(label: str) -> list[float]:
        return [s[1] for s in timed[label]]

    def cancel_group(what: str, call: str, label: str, floor: str, *more: Row) -> Group:
        """asyncthreads' ``call`` against asyncio's cancel, the standard library's
        thread-safe cancel and the same call with a no-op lock (with ``more`` rows)."""
        return Group(
            f"{what}, {n // 2:,} of them",
            "us per cancel",
            [
                Row(f"asyncthreads {call}", cancels(label), role="asyncthreads"),
                Row("asyncio TimerHandle.cancel()", cancels(theirs), target=Target(1.0)),
                *more,
                Row("concurrent.futures Future.cancel() (no timer)", cancels(futures)),
                Row(f"asyncthreads {call}, its lock a no-op", cancels(floor), role="floor"),
            ],
        )

    n_bytes = config.size(10_000, 1_000)
    memory = interleave(
        [
            ("asyncthreads Result + timer", partial(asyncthreads_bytes, n_bytes)),
            ("asyncio TimerHandle", partial(asyncio_bytes, n_bytes)),
            ("sched Event", partial(sched_bytes, n_bytes)),
        ],
        config.runs_or(3),
    )
    main = Table(
        f"3. timers: {n:,} call_later, then cancel every other one; memory per timer",
        [
            Group(
                f"call_later, {n:,} timers",
                "us per call",
                [
                    Row("asyncthreads Reactor.call_later", scheduling(ours), role="asyncthreads"),
                    Row("asyncio loop.call_later", scheduling(theirs), target=Target(1.0)),
                    Row(f"sched.scheduler.enter (n={n_sched:,})", scheduling(sched_label)),
                ],
            ),
            cancel_group(
                "cancel",
                "Result.cancel()",
                ours,
                unlocked,
                Row(f"sched.scheduler.cancel (n={n_sched:,})", cancels(sched_label)),
            ),
            cancel_group(
                "cancel_scheduled",
                "Reactor.cancel_scheduled(result)",
                by_reactor,
                unlocked_by_reactor,
            ),
            Group(
                f"memory per pending timer, {n_bytes:,} timers (tracemalloc)",
                "B",
                [
                    Row(
                        "asyncthreads Result + timer",
                        memory["asyncthreads Result + timer"],
                        role="asyncthreads",
                        target=Target(400, "at most"),
                    ),
                    Row("asyncio TimerHandle", memory["asyncio TimerHandle"]),
                    Row("sched Event", memory["sched Event"]),
                ],
            ),
        ],
        [
            "asyncthreads on a Reactor that is not started; asyncio on a loop not running",
            "the garbage collector is on: call_later's cost includes its passes over the "
            "new timers",
            f"sched at n={n_sched:,}: its cancel is O(n) (list.remove + heapify)",
            "asyncthreads' cancel and concurrent.futures' are thread-safe (a lock); "
            "asyncio's TimerHandle.cancel is for the loop's own thread only",
            "floor: the same cancel with the scheduler's lock swapped for the simulation's "
            "no-op lock (not thread-safe): what the lock costs",
            "memory: everything a pending timer keeps allocated, its Result or handle included",
        ],
    )

    sizes = [100, 1_000] if config.quick else [1_000, 10_000, 100_000, 1_000_000]
    ops = config.size(10_000, 500)
    found = flatness(sizes, ops, config.runs_or(9))
    matrix_rows: list[tuple[str, dict[int, list[float]]]] = []
    for index, op in ((0, "call_later"), (1, "cancel")):
        for label, by_size in found.items():
            matrix_rows.append(
                (
                    f"{label} {op}",
                    {size: [s[index] for s in values] for size, values in by_size.items()},
                )
            )
    flat = Matrix(
        f"3b. timers: cost per op with N timers already pending ({ops:,} ops per run)",
        "us per op",
        sizes,
        "pending timers N",
        matrix_rows,
        [
            "rounds of: schedule a batch of min(N/10, 1,000) (at least 100), cancel it",
            "growth: the cost at the largest N over the cost at the smallest (1.00x = flat)",
            "asyncthreads' cancel includes its own pruning (within a run only for N <= "
            "10,000); asyncio prunes in its loop: between rounds, untimed",
        ],
    )
    return [main, flat]
