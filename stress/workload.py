"""The mixed workload: producers x operations x cancels x resizes x faults x shutdowns.

Producer threads drive one Reactor (with its own pool), one separate ThreadPool and one
standard ``ThreadPoolExecutor`` with a seeded random mix of every way to queue work
(``call``, ``call_later``, ``call_in_thread``, ``call_in_thread_later``, ``call_every``,
a ``defer_to_thread`` continuation, a ``defer`` continuation back to the reactor,
``queue_task``, ``submit`` to either pool), random cancels (``Result.cancel`` and
``cancel_scheduled``) and resizes of both pools. Some bodies raise, some ``callback=``
callbacks raise, some done-callbacks raise. Once a random share of the operations has
been issued, a stopper thread shuts the reactor and the pool down (random ``wait`` and
``cancel_futures``) while the producers go on (the last twentieth of each producer's
operations waits for the shutdown, so some certainly come after it; those are refused
at the call site with ``RuntimeError``).

Optional parts, each a knob so that one failure does not hide another:

* ``mixed_waits``: waiter threads call ``concurrent.futures.wait`` and
  ``as_completed`` over random mixes of the Results of both systems and plain Futures;
* ``introspect``: a thread reads every introspection property and ``repr`` meanwhile.

The run ends with ``shutdown(wait=True)`` of everything (time-limited: a hang fails),
then :meth:`Ledger.audit` and :class:`EscapeWatch` check the accounting. The mix is
drawn from ``random.Random(seed)``, so the operations repeat; the interleaving does not.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import queue
import random
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asyncthreads import Deferral, Reactor, ThreadPool, defer, defer_to_thread

from .escapes import EscapeWatch, StressFailure
from .ledger import Boom, CallbackBoom, DoneCallbackBoom, Entry, Ledger
from .time_limit import finishes, join_all

__all__ = ["Workload", "run_workload"]

MAX_DELAY = 0.005  # seconds, for timers and periodic intervals
MAX_POOL_THREADS = 6
KINDS = (
    "call",
    "call_later",
    "call_in_thread",
    "call_in_thread_later",
    "call_every",
    "defer_to_thread",
    "defer",
    "queue_task",
    "submit",
    "submit_reactor_pool",
    "executor",
)


@dataclass(frozen=True)
class Workload:
    """One run's shape. ``seed`` decides everything random but the interleaving."""

    seed: int
    operations: int = 2000
    producers: int = 4
    switch_interval: float = 0.005
    mixed_waits: bool = False
    introspect: bool = False

    def __str__(self) -> str:
        knobs = [k for k in ("mixed_waits", "introspect") if getattr(self, k)]
        return (
            f"workload seed={self.seed} operations={self.operations} "
            f"switch_interval={self.switch_interval} {' '.join(knobs)}".rstrip()
        )


class _Systems:
    """What the producers drive, and the functions their calls run."""

    def __init__(self, name: str, ledger: Ledger) -> None:
        self.ledger = ledger
        self.reactor = Reactor(name=f"{name}-reactor")
        self.pool = ThreadPool(2, name=f"{name}-pool")
        self.executor = cf.ThreadPoolExecutor(2, thread_name_prefix=f"{name}-executor")
        self.reactor.start()

    def body(self, key: int, raises: bool) -> int:
        self.ledger.ran(key)
        if raises:
            raise Boom(key)
        return key

    def to_thread(self, key: int, raises: bool) -> Deferral[int]:
        return defer_to_thread(self.body, key, raises)

    def to_reactor(self, key: int, raises: bool) -> Deferral[int]:
        return defer(self.body, key, raises)

    def periodic_body(self, key: int, raises_after: int) -> None:
        if self.ledger.ran(key) > raises_after:
            raise Boom(key)

    def callback(self, key: int, raises: bool) -> Callable[[int], None]:
        def callback(value: int) -> None:
            if value != key:
                self.ledger.fail(f"#{key}: callback got {value!r}")
            with self.ledger.lock:
                self.ledger.callbacks[key] += 1
            if raises:
                raise CallbackBoom(key)

        return callback

    def done_callback(self, key: int, raises: bool) -> Callable[[Any], None]:
        def done_callback(result: Any) -> None:
            if not result.done():
                self.ledger.fail(f"#{key}: done-callback ran before it was done")
            with self.ledger.lock:
                self.ledger.done_callbacks[key] += 1
            if raises:
                raise DoneCallbackBoom(key)

        return done_callback


class _Producer:
    def __init__(self, systems: _Systems, rng: random.Random, keys: Callable[[], int]) -> None:
        self.systems = systems
        self.ledger = systems.ledger
        self.rng = rng
        self.keys = keys
        self.mine: list[Entry] = []

    def run(self, count: int, stopping: threading.Event) -> None:
        try:
            for n in range(count):
                if n == count - count // 20 and not stopping.wait(timeout=30):
                    self.ledger.fail("the shutdown never began")
                self.one(self.keys())
        except BaseException as exc:  # anything else from the library is a failure
            self.ledger.fail(f"producer raised {exc!r}")
            raise

    def one(self, key: int) -> None:
        rng = self.rng
        roll = rng.random()
        try:
            if roll < 0.10:
                self.cancel_one()
            elif roll < 0.14:
                pool = rng.choice([self.systems.pool, self.systems.reactor.thread_pool])
                pool.resize_pool(rng.randint(0, MAX_POOL_THREADS))
            else:
                self.queue_one(key, rng.choice(KINDS))
        except RuntimeError as exc:  # shut down: refused before anything was queued
            if "shut" not in str(exc) and "stopp" not in str(exc):
                raise
            with self.ledger.lock:
                self.ledger.refused["after shutdown"] += 1

    def queue_one(self, key: int, kind: str) -> None:
        rng, systems = self.rng, self.systems
        reactor, pool = systems.reactor, systems.pool
        entry = Entry(key, kind, cf.Future())
        entry.raises = rng.random() < 0.15
        if kind not in ("call_every", "executor", "submit", "submit_reactor_pool"):
            # The asyncthreads calls that take callback= and result_q=.
            entry.has_callback = not entry.raises and rng.random() < 0.5
            entry.callback_raises = entry.has_callback and rng.random() < 0.3
            entry.result_q = queue.SimpleQueue() if rng.random() < 0.3 else None
        callback = systems.callback(key, entry.callback_raises) if entry.has_callback else None
        args = (key, entry.raises)
        options: dict[str, Any] = {"callback": callback, "result_q": entry.result_q}
        delay = rng.uniform(0, MAX_DELAY)
        body = systems.body
        result: cf.Future[Any]
        if kind == "call":
            result = reactor.call(body, *args, **options)
        elif kind == "call_later":
            result = reactor.call_later(delay, body, *args, **options)
        elif kind == "call_in_thread":
            result = reactor.call_in_thread(body, *args, **options)
        elif kind == "call_in_thread_later":
            result = reactor.call_in_thread_later(delay, body, *args, **options)
            entry.may_be_stranded = True
        elif kind == "defer_to_thread":
            result = reactor.call(systems.to_thread, *args, **options)
            entry.may_be_stranded = True
        elif kind == "defer":
            result = reactor.call_in_thread(systems.to_reactor, *args, **options)
            entry.may_be_stranded = True
        elif kind == "queue_task":
            result = pool.queue_task(body, *args, **options)
        elif kind == "submit":
            result = pool.submit(body, *args)
        elif kind == "submit_reactor_pool":
            result = reactor.thread_pool.submit(body, *args)
        elif kind == "executor":
            result = systems.executor.submit(body, *args)
        else:
            entry.raises_after = rng.randint(1, 5) if entry.raises else 1_000_000
            result = reactor.call_every(
                max(delay, 0.001),
                systems.periodic_body,
                key,
                entry.raises_after,
                in_thread=rng.random() < 0.5,
            )
        entry.result = result
        self.mine.append(entry)
        self.ledger.add(entry)
        # (The standard executor's raising done-callbacks are left out: it logs them on
        # a logger of its own.)
        raising = kind != "executor" and rng.random() < 0.1
        result.add_done_callback(systems.done_callback(key, raising))

    def cancel_one(self) -> None:
        if not self.mine:
            return
        entry = self.rng.choice(self.mine)
        if self.rng.random() < 0.5 or entry.kind in ("executor", "queue_task", "submit"):
            answer = entry.result.cancel()
        else:
            answer = self.systems.reactor.cancel_scheduled(entry.result)  # type: ignore[arg-type]
        self.ledger.cancelled(entry, answer)


def _wait_on_mixes(ledger: Ledger, rng: random.Random, until: threading.Event) -> None:
    """Wait on random mixes of Results of both systems and plain Futures, briefly."""
    modes = [cf.FIRST_COMPLETED, cf.FIRST_EXCEPTION, cf.ALL_COMPLETED]
    try:
        while not until.is_set():
            entries = ledger.entries
            if len(entries) < 4:
                continue
            sample = [entries[rng.randrange(len(entries))].result for _ in range(rng.randint(2, 5))]
            if rng.random() < 0.5:
                done, _ = cf.wait(sample, timeout=0.002, return_when=rng.choice(modes))
                if any(not f.done() for f in done):
                    ledger.fail("concurrent.futures.wait answered a pending Result as done")
            else:
                try:
                    for future in cf.as_completed(sample, timeout=0.002):
                        if not future.done():
                            ledger.fail("as_completed yielded a pending Result")
                except cf.TimeoutError:
                    pass
    except BaseException as exc:
        ledger.fail(f"a waiter raised {exc!r}")


def _introspect(systems: _Systems, until: threading.Event) -> None:
    """Read every introspection property meanwhile: none may raise."""
    reactor, pool = systems.reactor, systems.pool
    readers: list[Callable[[], object]] = [
        lambda: reactor.queued_count,
        lambda: reactor.timer_count,
        lambda: repr(reactor),
        lambda: reactor.pending_timers(),
        lambda: reactor.thread_pool.queued_count,
        lambda: repr(reactor.thread_pool),
        lambda: pool.queued_count,
        lambda: pool.idle_count,
        lambda: pool.thread_count,
        lambda: repr(pool),
    ]
    while not until.is_set():
        for read in readers:
            try:
                read()
            except Exception as exc:
                systems.ledger.fail(f"introspection raised {exc!r}")
                return


def run_workload(workload: Workload) -> str:
    """Run one workload; a summary of what it did. Raises :class:`StressFailure`."""
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(workload.switch_interval)
    try:
        with EscapeWatch(expected=[Boom, CallbackBoom, DoneCallbackBoom]) as watch:
            ledger, summary = _run(workload)
            problems, outcomes = ledger.audit()
            problems += watch.problems()
    finally:
        sys.setswitchinterval(old_interval)
    if problems:
        shown = "\n".join(problems[:20])
        raise StressFailure(f"{workload}: {len(problems)} problems, first:\n{shown}")
    return f"{summary}; outcomes {dict(outcomes)}; refused {dict(ledger.refused)}"


def _run(workload: Workload) -> tuple[Ledger, str]:
    ledger = Ledger()
    master = random.Random(workload.seed)
    systems = _Systems(f"stress{workload.seed}", ledger)
    count = workload.operations // workload.producers
    shutdown_after = master.randint(workload.operations // 2, workload.operations * 9 // 10)
    halfway, stopping, done = threading.Event(), threading.Event(), threading.Event()
    counter = itertools.count(1)

    def next_key() -> int:
        key = next(counter)
        if key >= shutdown_after:
            halfway.set()
        return key

    reactor_shutdown = {"wait": master.random() < 0.5, "cancel_futures": master.random() < 0.5}
    pool_shutdown = {"wait": master.random() < 0.5, "cancel_futures": master.random() < 0.5}
    pool_first = master.random() < 0.5

    def stop() -> None:
        try:
            if not halfway.wait(timeout=30):
                ledger.fail("the producers never got halfway")
            if pool_first:
                systems.pool.shutdown(**pool_shutdown)
            systems.reactor.shutdown(**reactor_shutdown)
            if not pool_first:
                systems.pool.shutdown(**pool_shutdown)
        except BaseException as exc:
            ledger.fail(f"a mid-stream shutdown raised {exc!r}")
        finally:
            stopping.set()

    producers = [
        _Producer(systems, random.Random(master.getrandbits(64)), next_key)
        for _ in range(workload.producers)
    ]
    threads = [
        threading.Thread(target=p.run, args=(count, stopping), name=f"producer-{n}", daemon=True)
        for n, p in enumerate(producers)
    ]
    threads.append(threading.Thread(target=stop, name="stopper", daemon=True))
    helpers = []
    if workload.mixed_waits:
        helpers += [
            threading.Thread(
                target=_wait_on_mixes,
                args=(ledger, random.Random(master.getrandbits(64)), done),
                name=f"waiter-{n}",
                daemon=True,
            )
            for n in range(2)
        ]
    if workload.introspect:
        helpers.append(
            threading.Thread(target=_introspect, args=(systems, done), name="introspector")
        )
    for thread in [*helpers, *threads]:
        thread.start()
    try:
        join_all(threads, 20, "producers and stopper")
    finally:
        done.set()
    join_all(helpers, 10, "waiters")
    finishes(lambda: systems.reactor.shutdown(wait=True), 20, "reactor.shutdown(wait=True)")
    finishes(lambda: systems.pool.shutdown(wait=True), 20, "pool.shutdown(wait=True)")
    systems.executor.shutdown(wait=True)
    shut = f"pool first {pool_first}, reactor {reactor_shutdown}, pool {pool_shutdown}"
    return ledger, f"{len(ledger.entries)} calls, shutdown: {shut}"
