"""Workload 5, ``lateness``: how long after its deadline a timer runs, on real threads.

A chain of timers on the serial thread: each one, when it runs, notes how late it is
(``time.monotonic()`` against the deadline taken just before it was scheduled) and
schedules the next, with a delay drawn from 1-3 ms (one seeded sequence for everyone).
Both contenders schedule from their own serial thread, the only place asyncio allows:

* asyncthreads ``Reactor.call_later`` on a started Reactor with a pool of 4 threads;
* asyncio ``loop.call_later`` on a loop running in another thread, with a
  ``ThreadPoolExecutor(4)``.

Twice: with the pool idle, and with the pool busy, its 4 threads spinning on pure-Python
work, so the serial thread must win the GIL back to run its timer. Each run reports its
p50 and p99; the tables show the median and min-max of those over runs.
"""

from __future__ import annotations

import asyncio
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from asyncthreads import Reactor, ThreadPool

from .config import Config
from .harness import Group, Row, Table, interleave, percentile

NAME = "lateness"
POOL = 4


def _delays(n: int) -> list[float]:
    rnd = random.Random(5)
    return [0.001 + 0.002 * rnd.random() for _ in range(n)]


def _spin(stop: threading.Event) -> None:
    """CPU-bound Python until told to stop."""
    x = 0
    while not stop.is_set():
        for _ in range(100):
            x += 1


def _chain(
    delays: list[float], call_later: Callable[[float, Callable[[], None]], object]
) -> tuple[Callable[[], None], list[float], threading.Event]:
    """The first link of a timer chain, the lateness list it fills, and its end."""
    late: list[float] = []
    done = threading.Event()
    remaining: Iterator[float] = iter(delays)
    deadline = 0.0
    now = time.monotonic

    def fire() -> None:
        late.append(now() - deadline)
        schedule_next()

    def schedule_next() -> None:
        nonlocal deadline
        delay = next(remaining, None)
        if delay is None:
            done.set()
            return
        deadline = now() + delay
        call_later(delay, fire)

    return schedule_next, late, done


def _stats(late: list[float]) -> tuple[float, float]:
    """(p50, p99) in microseconds."""
    return percentile(late, 0.5) * 1e6, percentile(late, 0.99) * 1e6


def asyncthreads_lateness(delays: list[float], busy: bool) -> tuple[float, float]:
    pool = ThreadPool(POOL, name="bench-lateness-pool")
    reactor = Reactor(pool, name="bench-lateness")
    reactor.start()
    stop = threading.Event()
    try:
        if busy:
            for _ in range(POOL):
                reactor.call_in_thread(_spin, stop)
        first, late, done = _chain(delays, reactor.call_later)
        reactor.call(first)
        done.wait()
        return _stats(late)
    finally:
        stop.set()
        reactor.shutdown(wait=True)
        pool.shutdown(wait=True)


def asyncio_lateness(delays: list[float], busy: bool) -> tuple[float, float]:
    loop = asyncio.new_event_loop()
    executor = ThreadPoolExecutor(POOL)
    loop.set_default_executor(executor)
    thread = threading.Thread(target=loop.run_forever, name="bench-asyncio")
    thread.start()
    stop = threading.Event()
    try:
        if busy:
            for _ in range(POOL):
                executor.submit(_spin, stop)
        first, late, done = _chain(delays, loop.call_later)
        loop.call_soon_threadsafe(first)
        done.wait()
        return _stats(late)
    finally:
        stop.set()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
        executor.shutdown(wait=True)


def run(config: Config) -> list[Table]:
    # A busy pool makes each timer tens of milliseconds late: fewer timers keep it short.
    n_idle, n_busy = config.size(200, 20), config.size(100, 10)
    idle, busy = _delays(n_idle), _delays(n_busy)
    samples = interleave(
        [
            ("asyncthreads idle", partial(asyncthreads_lateness, idle, False)),
            ("asyncio idle", partial(asyncio_lateness, idle, False)),
            ("asyncthreads busy", partial(asyncthreads_lateness, busy, True)),
            ("asyncio busy", partial(asyncio_lateness, busy, True)),
        ],
        config.runs_or(4),
    )
    groups = []
    for condition, title in (
        ("idle", f"idle pool, {n_idle} timers a run"),
        ("busy", f"busy pool ({POOL} threads spinning), {n_busy} timers a run"),
    ):
        for index, quantile in ((0, "p50"), (1, "p99")):
            rows = [
                Row(
                    "asyncthreads Reactor.call_later",
                    [s[index] for s in samples[f"asyncthreads {condition}"]],
                    role="asyncthreads",
                ),
                Row("asyncio loop.call_later", [s[index] for s in samples[f"asyncio {condition}"]]),
            ]
            groups.append(Group(f"{title}: {quantile}", "us late", rows))
    return [
        Table(
            "5. lateness: a chain of timers (1-3 ms each) on real threads",
            groups,
            [
                "lateness: when the timer ran minus its deadline; each run's p50 and p99 "
                "(nearest rank)",
                "asyncio rounds its selector timeout up to whole milliseconds (epoll)",
                "busy: the serial thread competes with 4 spinning threads for the GIL "
                f"(switch interval {sys.getswitchinterval() * 1e3:g} ms)",
            ],
        )
    ]
