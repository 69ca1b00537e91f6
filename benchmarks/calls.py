"""Workload 2, ``call``: many calls into one serial thread from another.

The caller queues ``n`` trivial calls as fast as it can and then waits until the last has
run; the serial thread is already running when the clock starts.

* asyncthreads ``Reactor.call``, waiting on the last call's Result;
* asyncio ``loop.call_soon_threadsafe`` onto a loop running in another thread; the last
  call sets a ``threading.Event`` the caller waits on (a Handle cannot be waited on);
* floor: a bare thread taking ``(fn, arg)`` from a ``SimpleQueue``; the last sets an Event.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from functools import partial

from asyncthreads import Reactor, ThreadPool

from .config import Config
from .harness import Group, Row, Table, Target, interleave

NAME = "call"


def _trivial(x: int) -> int:
    return x


def asyncthreads_call(n: int) -> float:
    reactor = Reactor(ThreadPool(0, name="bench-call-pool"), name="bench-call")
    reactor.start()
    try:
        call = reactor.call
        start = time.perf_counter()
        for i in range(n - 1):
            call(_trivial, i)
        call(_trivial, n).result()
        return time.perf_counter() - start
    finally:
        reactor.shutdown(wait=True)
        reactor.thread_pool.shutdown(wait=True)


def asyncio_call(n: int) -> float:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="bench-asyncio")
    thread.start()
    try:
        done = threading.Event()
        call = loop.call_soon_threadsafe
        start = time.perf_counter()
        for i in range(n - 1):
            call(_trivial, i)
        call(done.set)
        done.wait()
        return time.perf_counter() - start
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def floor_call(n: int) -> float:
    calls: queue.SimpleQueue[tuple[Callable[..., object], int] | None] = queue.SimpleQueue()

    def serial() -> None:
        get = calls.get
        while (item := get()) is not None:
            fn, arg = item
            fn(arg)

    thread = threading.Thread(target=serial, name="bench-floor")
    thread.start()
    try:
        done = threading.Event()

        def last(_: int) -> None:
            done.set()

        put = calls.put
        start = time.perf_counter()
        for i in range(n - 1):
            put((_trivial, i))
        put((last, n))
        done.wait()
        return time.perf_counter() - start
    finally:
        calls.put(None)
        thread.join()


def run(config: Config) -> list[Table]:
    n = config.size(100_000, 2_000)
    contenders = [
        ("asyncthreads Reactor.call", asyncthreads_call),
        ("asyncio loop.call_soon_threadsafe", asyncio_call),
        ("1 thread on a SimpleQueue, no futures", floor_call),
    ]
    samples = interleave(
        [(label, partial(fn, n)) for label, fn in contenders],
        config.runs_or(7),
        warmup=[] if config.quick else [partial(fn, n // 10) for _, fn in contenders],
    )
    per_call = {label: [t / n * 1e6 for t in times] for label, times in samples.items()}
    (ours, _), (asyncio_label, _), (floor, _) = contenders
    rows = [
        Row(ours, per_call[ours], role="asyncthreads"),
        Row(asyncio_label, per_call[asyncio_label], target=Target(2.0)),
        Row(floor, per_call[floor], role="floor"),
    ]
    return [
        Table(
            f"2. call: {n:,} calls into one serial thread from another, waiting for the last",
            [Group("time per call, first queued to last run", "us", rows)],
            [
                "timed from the first call queued until the caller sees the last one done",
                "asyncio's last call sets a threading.Event (a Handle cannot be waited on)",
                "asyncio wakes its loop through a self-pipe; how often it wakes depends on the "
                "OS scheduler, so its time can shift between runs more than the others'",
            ],
        )
    ]
