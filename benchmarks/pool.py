"""Workload 1, ``pool``: many trivial tasks through 4 workers, each Result waited on.

Every contender gets 4 worker threads that already exist when the clock starts (thread
start-up is not measured), then is timed from the first submit to the last result:

* asyncthreads ``ThreadPool(4).submit`` (the ``Executor`` API), then ``result()`` on each;
* ``concurrent.futures.ThreadPoolExecutor(4)``, the same way;
* Twisted's ``ThreadPool(4, 4).callInThreadWithCallback`` (if installed): Twisted has no
  per-task future, so each outcome is put on a ``SimpleQueue`` that the caller reads;
* floor: 4 bare threads reading ``(fn, arg)`` from one ``SimpleQueue`` and putting the
  return value on another: no futures, no locks of our own.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from asyncthreads import ThreadPool

from .config import Config, optional_module
from .harness import Group, Row, Table, Target, interleave

NAME = "pool"
WORKERS = 4


def _trivial(x: int) -> int:
    return x


def _start_all(submit: Callable[[Callable[[], object]], object]) -> None:
    """Make a lazily growing pool start all its workers: give each one a task that waits."""
    barrier = threading.Barrier(WORKERS + 1)
    for _ in range(WORKERS):
        submit(barrier.wait)
    barrier.wait()


def asyncthreads_pool(n: int) -> float:
    pool = ThreadPool(WORKERS, name="bench-pool")
    try:
        submit = pool.submit
        start = time.perf_counter()
        results = [submit(_trivial, i) for i in range(n)]
        for result in results:
            result.result()
        return time.perf_counter() - start
    finally:
        pool.shutdown(wait=True)


def executor_pool(n: int) -> float:
    with ThreadPoolExecutor(WORKERS) as executor:
        _start_all(executor.submit)
        submit = executor.submit
        start = time.perf_counter()
        futures = [submit(_trivial, i) for i in range(n)]
        for future in futures:
            future.result()
        return time.perf_counter() - start


def twisted_pool(n: int) -> float:
    threadpool: Any = optional_module("twisted.python.threadpool")
    pool = threadpool.ThreadPool(WORKERS, WORKERS)
    pool.start()
    try:
        _start_all(pool.callInThread)
        outcomes: queue.SimpleQueue[object] = queue.SimpleQueue()
        put = outcomes.put

        def on_result(success: bool, value: object) -> None:
            put(value)

        call = pool.callInThreadWithCallback
        get = outcomes.get
        start = time.perf_counter()
        for i in range(n):
            call(on_result, _trivial, i)
        for _ in range(n):
            get()
        return time.perf_counter() - start
    finally:
        pool.stop()


def floor_pool(n: int) -> float:
    tasks: queue.SimpleQueue[tuple[Callable[[int], int], int] | None] = queue.SimpleQueue()
    done: queue.SimpleQueue[int] = queue.SimpleQueue()

    def worker() -> None:
        get, put = tasks.get, done.put
        while (item := get()) is not None:
            fn, arg = item
            put(fn(arg))

    threads = [threading.Thread(target=worker, name=f"floor-{i}") for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    try:
        put, get = tasks.put, done.get
        start = time.perf_counter()
        for i in range(n):
            put((_trivial, i))
        for _ in range(n):
            get()
        return time.perf_counter() - start
    finally:
        for _ in threads:
            tasks.put(None)
        for thread in threads:
            thread.join()


def run(config: Config) -> list[Table]:
    n = config.size(100_000, 2_000)
    contenders: list[tuple[str, Callable[[int], float]]] = [
        ("asyncthreads ThreadPool(4).submit", asyncthreads_pool),
        ("concurrent.futures.ThreadPoolExecutor(4)", executor_pool),
    ]
    twisted = optional_module("twisted")
    if twisted is not None:
        contenders.append(("twisted ThreadPool(4) callInThreadWithCallback", twisted_pool))
    contenders.append(("4 threads, 2 SimpleQueues, no futures", floor_pool))

    samples = interleave(
        [(label, partial(fn, n)) for label, fn in contenders],
        config.runs_or(5),
        warmup=[] if config.quick else [partial(fn, n // 10) for _, fn in contenders],
    )
    per_task = {label: [t / n * 1e6 for t in times] for label, times in samples.items()}
    labels = [label for label, _ in contenders]
    rows = [
        Row(labels[0], per_task[labels[0]], role="asyncthreads"),
        Row(labels[1], per_task[labels[1]], target=Target(2.0)),
        *(Row(label, per_task[label]) for label in labels[2:-1]),
        Row(labels[-1], per_task[labels[-1]], role="floor"),
    ]
    notes = ["timed from the first submit to the last result; the workers already exist"]
    if twisted is not None:
        notes.append("twisted has no per-task future: each outcome goes to a SimpleQueue")
    return [
        Table(
            f"1. pool: {n:,} trivial tasks through {WORKERS} workers, each Result waited on",
            [Group("time per task, submit to result", "us", rows)],
            notes,
        )
    ]
