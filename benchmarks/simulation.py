"""Workload 4, ``simulation``: periodic tasks on a virtual clock, in firings per second.

1,000 periodic tasks run over a span of virtual time; each firing bumps a counter. Timed
from the first advance of the clock to the last firing; building the tasks is not timed.
Two shapes of the same workload:

* **shared instants**: every task every 1 s, so each second 1,000 firings fall due at one
  instant. This is the shape the issue's peer figures were measured on: on it the peers
  stand to one another as in the issue's table (``sched`` about 80x Twisted's Clock and
  13x trio's MockClock).
* **distinct instants**: task ``i`` every ``1 + i/1000`` seconds and a hair, so that no
  two firings ever share an instant. Each clock then pays its cost of moving time once
  per firing, whatever span it covers: the harder shape for every contender.

Contenders:

* asyncthreads: the production ``Reactor`` on ``asyncthreads.testing.Simulation``
  (``sim.reactor()``, ``call_every``, ``sim.advance``), trace and all;
* floor: a bare ``sched.scheduler`` heap on a fake clock, each action re-entering itself
  at its next grid point: no Results, no cancellation, no trace;
* Twisted (if installed): ``task.Clock`` with a ``LoopingCall`` per task, the clock
  advanced to each next call in turn;
* trio (if installed): ``trio.testing.MockClock(autojump_threshold=0)``, one task per
  periodic task looping on ``trio.sleep_until``.

Twisted's and trio's clocks are far slower, so they cover a shorter span: the rate
(firings per second of real time) is what is compared.

Table 4c times what blocking costs a simulated thread: a pool task that calls
``sim.sleep(0)`` over and over is suspended (its carrier greenlet is left to it) and
resumed each time, a suspend/resume pair per call. Beside it: a bare greenlet switch
pair (the floor) and, if installed, trio's ``await trio.sleep(0)`` (a task suspended and
resumed by trio's loop).
"""

from __future__ import annotations

import sched
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from asyncthreads.testing import Simulation

from .config import Config, optional_module
from .harness import Group, Role, Row, Table, Target, interleave

# The goal for a blocking wait plus resume in a simulation, in microseconds.
SUSPEND_RESUME_TARGET_US = 5.0

NAME = "simulation"


# A shape: the intervals of the tasks, from how many tasks there are.
Shape = Callable[[int], list[float]]

# What sets apart the intervals of distinct_instants: irrational in spirit, so that no
# two tasks' grids ever meet.
_HAIR = 1.4142135623730951e-7


def shared_instants(tasks: int) -> list[float]:
    """Every task every second: each second, all of them fall due at one instant."""
    return [1.0] * tasks


def distinct_instants(tasks: int) -> list[float]:
    """Task ``i`` every ``1 + i/tasks`` seconds and a hair (``i * 1.41e-7``): the hair
    keeps the multiples of two intervals from ever meeting, so every firing falls due at
    an instant of its own, however long the span (without it, about a third of them
    would share an instant, more the longer the span)."""
    return [1.0 + i / tasks + i * _HAIR for i in range(tasks)]


def asyncthreads_rate(shape: Shape, tasks: int, seconds: int) -> tuple[float, int]:
    """(firings per second, firings)."""
    fired = [0]

    def tick() -> None:
        fired[0] += 1

    with Simulation() as sim:
        reactor = sim.reactor()
        for interval in shape(tasks):
            reactor.call_every(interval, tick)
        start = time.perf_counter()
        sim.advance(seconds)
        elapsed = time.perf_counter() - start
    return fired[0] / elapsed, fired[0]


class _FakeClock:
    __slots__ = ("now",)

    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def sched_rate(shape: Shape, tasks: int, seconds: int) -> tuple[float, int]:
    clock = _FakeClock()
    scheduler = sched.scheduler(clock.time, clock.sleep)
    enterabs = scheduler.enterabs
    fired = [0]

    def periodic(interval: float) -> Callable[[], None]:
        n = 1

        def tick() -> None:
            nonlocal n
            fired[0] += 1
            n += 1
            when = n * interval
            if when <= seconds:
                enterabs(when, 0, tick)

        return tick

    for interval in shape(tasks):
        enterabs(interval, 0, periodic(interval))
    start = time.perf_counter()
    scheduler.run()
    elapsed = time.perf_counter() - start
    return fired[0] / elapsed, fired[0]


def twisted_rate(shape: Shape, tasks: int, seconds: int) -> tuple[float, int]:
    task: Any = optional_module("twisted.internet.task")
    clock = task.Clock()
    fired = [0]

    def tick() -> None:
        fired[0] += 1

    loops = []
    for interval in shape(tasks):
        loop = task.LoopingCall(tick)
        loop.clock = clock
        loop.start(interval, now=False)
        loops.append(loop)
    calls = clock.getDelayedCalls  # the clock keeps them sorted, earliest first
    start = time.perf_counter()
    while True:
        pending = calls()
        if not pending:
            break
        when: float = pending[0].getTime()
        if when > seconds:
            break
        clock.advance(when - clock.seconds())
    elapsed = time.perf_counter() - start
    for loop in loops:
        loop.stop()
    return fired[0] / elapsed, fired[0]


def trio_rate(shape: Shape, tasks: int, seconds: int) -> tuple[float, int]:
    trio: Any = optional_module("trio")
    testing: Any = optional_module("trio.testing")
    fired = [0]

    async def periodic(interval: float) -> None:
        n = 1
        while (when := n * interval) <= seconds:
            await trio.sleep_until(when)
            fired[0] += 1
            n += 1

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for interval in shape(tasks):
                nursery.start_soon(periodic, interval)

    start = time.perf_counter()
    trio.run(main, clock=testing.MockClock(autojump_threshold=0))
    elapsed = time.perf_counter() - start
    return fired[0] / elapsed, fired[0]


def suspend_resume_us(pairs: int) -> float:
    """Microseconds per suspend/resume pair: a pool task in ``sim.sleep(0)``."""
    with Simulation() as sim:
        pool = sim.thread_pool(1)
        sleep = sim.sleep

        def task() -> float:
            start = time.perf_counter()
            for _ in range(pairs):
                sleep(0)
            return time.perf_counter() - start

        elapsed = pool.submit(task).result()
    return elapsed / pairs * 1e6


def greenlet_switch_us(pairs: int) -> float:
    """Microseconds per switch pair between two bare greenlets: the floor."""
    import greenlet

    main = greenlet.getcurrent()

    def body() -> None:
        while True:
            main.switch()

    other = greenlet.greenlet(body)
    switch = other.switch
    start = time.perf_counter()
    for _ in range(pairs):
        switch()
    elapsed = time.perf_counter() - start
    other.throw(greenlet.GreenletExit)
    return elapsed / pairs * 1e6


def trio_sleep_zero_us(pairs: int) -> float:
    trio: Any = optional_module("trio")
    testing: Any = optional_module("trio.testing")
    elapsed = [0.0]

    async def main() -> None:
        sleep = trio.sleep
        start = time.perf_counter()
        for _ in range(pairs):
            await sleep(0)
        elapsed[0] = time.perf_counter() - start

    trio.run(main, clock=testing.MockClock(autojump_threshold=0))
    return elapsed[0] / pairs * 1e6


def run(config: Config) -> list[Table]:
    return [
        _table("4", "shared instants", "every 1 s, 1,000 due at once", shared_instants, config),
        _table("4b", "distinct instants", "each firing alone", distinct_instants, config),
        _blocking_table(config),
    ]


def _blocking_table(config: Config) -> Table:
    pairs = config.size(100_000, 100)
    contenders: list[tuple[str, Callable[[int], float], Role, Target | None]] = [
        (
            "asyncthreads: sim.sleep(0) in a pool task",
            suspend_resume_us,
            "asyncthreads",
            Target(SUSPEND_RESUME_TARGET_US, "at most"),
        ),
        ("greenlet switch pair", greenlet_switch_us, "floor", None),
    ]
    if optional_module("trio") is not None:
        contenders.append(
            ("trio: await trio.sleep(0), MockClock", trio_sleep_zero_us, "peer", None)
        )
    samples = interleave(
        [(label, partial(fn, pairs)) for label, fn, _, _ in contenders], config.runs_or(5)
    )
    rows = [
        Row(label, samples[label], role=role, target=target)
        for label, _, role, target in contenders
    ]
    # A lock handed between two simulated threads: workload 6 (benchmarks/handoff.py).
    groups = [Group("suspend + resume", "us per pair", rows)]
    return Table(
        "4c. simulation: a blocked simulated thread suspended and resumed",
        groups,
        [
            f"{pairs:,} suspend/resume pairs a run",
            "ratios here are peer / asyncthreads (costs: higher = asyncthreads better)",
        ],
    )


def _table(number: str, name: str, detail: str, shape: Shape, config: Config) -> Table:
    tasks = 1_000
    seconds = config.size(300, 3)
    # (label, function, virtual seconds, role, target)
    contenders: list[
        tuple[str, Callable[[Shape, int, int], tuple[float, int]], int, Role, Target | None]
    ]
    contenders = [
        (f"asyncthreads on Simulation, {name}", asyncthreads_rate, seconds, "asyncthreads", None),
        ("sched heap on a fake clock", sched_rate, seconds, "floor", Target(0.7)),
    ]
    if optional_module("twisted") is not None:
        span = config.size(10, 3)
        label = "twisted task.Clock + LoopingCall"
        contenders.append((label, twisted_rate, span, "peer", Target(50)))
    if optional_module("trio") is not None:
        span = config.size(60, 3)
        label = "trio MockClock, sleep_until"
        contenders.append((label, trio_rate, span, "peer", Target(10)))
    samples = interleave(
        [(label, partial(fn, shape, tasks, span)) for label, fn, span, _, _ in contenders],
        config.runs_or(5),
    )
    rows = []
    notes = []
    for label, _, span, role, target in contenders:
        rows.append(Row(label, [rate for rate, _ in samples[label]], role=role, target=target))
        firings = samples[label][0][1]
        notes.append(f"{label}: {span:,} virtual s, {firings:,} firings a run")
    return Table(
        f"{number}. simulation: {tasks:,} periodic tasks at {name} ({detail})",
        [Group("firing rate", "firings/s", rows, higher_is_better=True)],
        [
            *notes,
            "ratios here are asyncthreads / peer (rates: higher = asyncthreads better)",
        ],
    )
