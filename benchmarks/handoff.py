"""Workload 6, ``handoff``: a lock handed back and forth between two threads.

Two threads take turns through a pair of locks used as signals: thread A waits on
``ping`` and releases ``pong``; thread B waits on ``pong`` and releases ``ping``. Each
turn is one handoff: the running thread releases the lock its partner blocks on, then
blocks itself until the partner hands control back. Timed from the first handoff to
the last; building the threads is not timed.

Contenders:

* asyncthreads: two tasks on a 2-worker ``sim.thread_pool`` inside ``sim.patched()``,
  so ``threading.Lock()`` makes simulated locks and each handoff is a suspend of one
  simulated thread and a resume of the other, on one OS thread;
* real threads: the same two functions on two ``threading.Thread``s with real locks:
  each handoff wakes an OS thread (the issue's target: the simulation at least 10x
  faster).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial

# Bound at import: inside sim.patched(), time.perf_counter reads virtual time.
from time import perf_counter

from asyncthreads.testing import Simulation

from .config import Config
from .harness import Group, Row, Table, Target, interleave

NAME = "handoff"


def _pair(
    handoffs: int, make_lock: Callable[[], threading.Lock]
) -> tuple[Callable[[], None], Callable[[], None]]:
    """The two turn-taking loops, on locks from ``make_lock``; A goes first."""
    ping, pong = make_lock(), make_lock()
    ping.acquire()
    pong.acquire()
    turns = handoffs // 2

    def a() -> None:
        for _ in range(turns):
            pong.release()
            ping.acquire()

    def b() -> None:
        for _ in range(turns):
            pong.acquire()
            ping.release()

    return a, b


def simulated_rate(handoffs: int) -> float:
    """Handoffs per second between two simulated threads."""
    # Every handoff is a step at one instant: lift the livelock guard above their number.
    limit = 4 * handoffs + 1_000
    with Simulation(max_steps=limit, max_steps_per_instant=limit) as sim, sim.patched():
        pool = sim.thread_pool(2)
        a, b = _pair(handoffs, threading.Lock)
        start = perf_counter()
        done = [pool.submit(a), pool.submit(b)]
        for result in done:
            result.result()
        elapsed = perf_counter() - start
    return handoffs / elapsed


def real_rate(handoffs: int) -> float:
    """Handoffs per second between two OS threads."""
    a, b = _pair(handoffs, threading.Lock)
    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    start = perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return handoffs / (perf_counter() - start)


def run(config: Config) -> list[Table]:
    handoffs = config.size(200_000, 2_000)
    samples = interleave(
        [
            ("simulated", partial(simulated_rate, handoffs)),
            ("real", partial(real_rate, handoffs)),
        ],
        config.runs_or(5),
    )
    rows = [
        Row(
            "two simulated threads, sim.patched() locks", samples["simulated"], role="asyncthreads"
        ),
        Row("two OS threads, threading.Lock", samples["real"], role="peer", target=Target(10)),
    ]
    return [
        Table(
            f"6. handoff: a lock handed between two threads, {handoffs:,} times",
            [Group("handoff rate", "handoffs/s", rows, higher_is_better=True)],
            ["ratios here are simulated / real (rates: higher = the simulation better)"],
        )
    ]
