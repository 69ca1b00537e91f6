"""Interrupts at every statement boundary of the hot paths, in the calling thread.

For each operation below, and each of ``KeyboardInterrupt`` and :class:`InjectedFault`
(a BaseException that is neither it nor ``SystemExit``), a sweep first counts the
library statements the operation passes (:class:`FaultInjector` with ``at=None``), then,
for every N from 1 to that count, sets up a fresh stage (a started Reactor on a pool of
one worker, an unbounded and a bounded ThreadPool of one worker each), runs the
operation with the exception injected at its N-th statement, and checks that, whether
or not the operation raised:

* later calls still run: ``call``, ``call_later``, ``call_in_thread`` and ``submit`` to
  both pools each complete within a time limit (skipped after a shutdown operation);
* shutdown completes within a time limit;
* nothing is left pending: every Future the stage made, and every one the injector saw
  in the interrupted call's frames, has ended once everything has shut down; each done
  callback the stage added ran exactly once;
* no thread is left and nothing escaped into a worker (:class:`EscapeWatch`).

Operations that wake a sleeping thread run on a *quiet* stage (the reactor loop asleep,
the workers idle); cancellations and shutdowns run on a *held* stage (the loop and the
workers blocked in a task, with calls, timers, periodic tasks and pool tasks queued
behind them), which is released after the operation.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from types import FrameType
from typing import Any

from asyncthreads import Reactor, ThreadPool

from .escapes import EscapeWatch, StressFailure
from .fault_injector import FaultInjector, InjectedFault
from .time_limit import finishes

__all__ = ["EXCEPTIONS", "OPERATIONS", "run_interrupt_sweep"]

LATER_TIMEOUT = 1.0  # seconds for a call made after the interrupt to complete
SHUTDOWN_TIMEOUT = 3.0
EXCEPTIONS: dict[str, type[BaseException]] = {
    "KeyboardInterrupt": KeyboardInterrupt,
    "InjectedFault": InjectedFault,
}


def _noop() -> None:
    pass


class Stage:
    """A Reactor and two pools, each with one worker, and every Future made for them."""

    def __init__(self, name: str) -> None:
        self.pool = ThreadPool(1, name=f"{name}-pool")
        self.bounded = ThreadPool(1, 64, name=f"{name}-bounded")
        self.reactor_pool = ThreadPool(1, name=f"{name}-reactor-pool")
        self.reactor = Reactor(self.reactor_pool, name=f"{name}-reactor")
        self.reactor.start()
        self.gate = threading.Event()
        self.futures: list[Future[Any]] = []
        self.done_callbacks: Counter[int] = Counter()
        self.held: dict[str, Future[Any]] = {}

    def track(self, future: Future[Any]) -> Future[Any]:
        self.futures.append(future)
        key = len(self.futures)

        def done(_: object) -> None:
            self.done_callbacks[key] += 1

        future.add_done_callback(done)
        return future

    def quiet(self) -> None:
        """Wait until the loop is asleep and every worker idle (so a call must wake one)."""
        for future in [
            self.reactor.call(_noop),
            self.reactor.call_in_thread(_noop),
            self.pool.submit(_noop),
            self.bounded.submit(_noop),
        ]:
            future.result(timeout=5)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            # (The loop's sleeping flag is private; a library without it is taken as asleep.)
            asleep = getattr(self.reactor, "_asleep", True)
            pools = [self.pool, self.bounded, self.reactor_pool]
            if asleep and all(pool.idle_count == 1 for pool in pools):
                return
            time.sleep(0.0005)  # polling a state nothing signals; not for ordering
        raise StressFailure("the stage never went quiet")

    def hold(self) -> None:
        """Block the loop and each worker in a task, and queue work behind them."""
        r, gate = self.reactor, self.gate
        for future in [
            r.call(gate.wait),
            r.call_in_thread(gate.wait),
            self.pool.submit(gate.wait),
            self.bounded.submit(gate.wait),
        ]:
            self.track(future)
        self.held = {
            "call": r.call(_noop),
            "timer": r.call_later(3600, _noop),
            "due timer": r.call_later(0, _noop),
            "thread timer": r.call_in_thread_later(3600, _noop),
            "periodic": r.call_every(3600, _noop),
            "fast periodic": r.call_every(0.001, _noop, in_thread=True),
            "reactor pool task": r.call_in_thread(_noop),
            "pool task": self.pool.submit(_noop),
            "bounded task": self.bounded.submit(_noop),
        }
        for held in self.held.values():
            self.track(held)

    def later_calls_run(self) -> list[str]:
        """Problems with calls made now: each must complete within LATER_TIMEOUT."""
        r = self.reactor
        later: dict[str, Callable[[], Future[Any]]] = {
            "call": lambda: r.call(_noop),
            "call_later": lambda: r.call_later(0, _noop),
            "call_in_thread": lambda: r.call_in_thread(_noop),
            "pool.submit": lambda: self.pool.submit(_noop),
            "bounded.submit": lambda: self.bounded.submit(_noop),
        }
        problems = []
        for what, make in later.items():
            future = self.track(make())
            try:
                future.result(timeout=LATER_TIMEOUT)
            except TimeoutError:
                problems.append(f"a later {what} did not run within {LATER_TIMEOUT} s")
        return problems

    def shut_down(self) -> list[str]:
        problems = []
        owners: list[Reactor | ThreadPool] = [self.reactor, self.reactor_pool, self.pool]
        for owner in [*owners, self.bounded]:
            try:
                finishes(partial(owner.shutdown, wait=True), SHUTDOWN_TIMEOUT, f"{owner!r}")
            except StressFailure as exc:
                problems.append(str(exc).split("\n")[0])
        return problems


@dataclass(frozen=True)
class Operation:
    """An operation to interrupt: run on a held stage (else a quiet one). What it returns,
    if a Future, is tracked once the interruptible part is over: an interrupt inside the
    test's own ``add_done_callback`` would only say that the test's registration failed."""

    run: Callable[[Stage], object]
    held: bool = False
    shuts_down: bool = False


def _cancel(what: str) -> Operation:
    return Operation(lambda s: s.held[what].cancel(), held=True)


def _cancel_scheduled(what: str) -> Operation:
    return Operation(lambda s: s.reactor.cancel_scheduled(s.held[what]), held=True)  # type: ignore[arg-type]


OPERATIONS: dict[str, Operation] = {
    "call": Operation(lambda s: s.reactor.call(_noop)),
    "call_later": Operation(lambda s: s.reactor.call_later(0, _noop)),
    "call_in_thread": Operation(lambda s: s.reactor.call_in_thread(_noop)),
    "call_in_thread_later": Operation(lambda s: s.reactor.call_in_thread_later(0, _noop)),
    "call_every": Operation(lambda s: s.reactor.call_every(0.001, _noop)),
    "submit": Operation(lambda s: s.pool.submit(_noop)),
    "queue_task bounded": Operation(lambda s: s.bounded.queue_task(_noop)),
    "cancel call": _cancel("call"),
    "cancel timer": _cancel("timer"),
    "cancel periodic": _cancel("periodic"),
    "cancel pool task": _cancel("pool task"),
    "cancel bounded task": _cancel("bounded task"),
    "cancel_scheduled call": _cancel_scheduled("call"),
    "cancel_scheduled timer": _cancel_scheduled("timer"),
    "cancel_scheduled thread timer": _cancel_scheduled("thread timer"),
    "cancel_scheduled periodic": _cancel_scheduled("fast periodic"),
    "reactor.shutdown(wait=False)": Operation(
        lambda s: s.reactor.shutdown(wait=False), held=True, shuts_down=True
    ),
    "reactor.shutdown(wait=False, cancel_futures=True)": Operation(
        lambda s: s.reactor.shutdown(wait=False, cancel_futures=True), held=True, shuts_down=True
    ),
    "reactor.shutdown(wait=True)": Operation(
        lambda s: s.reactor.shutdown(wait=True), shuts_down=True
    ),
    "pool.shutdown(wait=False, cancel_futures=True)": Operation(
        lambda s: s.pool.shutdown(wait=False, cancel_futures=True), held=True, shuts_down=True
    ),
    "bounded.shutdown(wait=False, cancel_futures=True)": Operation(
        lambda s: s.bounded.shutdown(wait=False, cancel_futures=True), held=True, shuts_down=True
    ),
    "pool.shutdown(wait=True)": Operation(lambda s: s.pool.shutdown(wait=True), shuts_down=True),
}


def _handed_to_library(injector: FaultInjector, stage: Stage) -> list[Future[Any]]:
    """The Futures the interrupted call made that something still holds: a queue, a timer
    heap, a waiter. (One that only the interrupted frames held, say a Result whose
    constructor was interrupted, is garbage: nobody can wait for it.)"""
    ignored = {id(injector.seen), id(stage.futures)}
    handed = []
    for future in injector.seen.values():
        holders = [
            holder
            for holder in gc.get_referrers(future)
            if id(holder) not in ignored and not isinstance(holder, FrameType)
        ]
        if holders:
            handed.append(future)
    return handed


def _one(name: str, operation: Operation, injector: FaultInjector) -> list[str]:
    """Run ``operation`` once on a fresh stage under ``injector``; the problems after."""
    with EscapeWatch() as watch:
        stage = Stage(f"interrupt-{injector.at}")
        if operation.held:
            stage.hold()
        else:
            stage.quiet()
        made: object = None
        try:
            with injector:
                made = operation.run(stage)
        except injector.exception:
            pass
        if isinstance(made, Future):
            stage.track(made)
        handed = _handed_to_library(injector, stage)
        stage.gate.set()
        problems = [] if operation.shuts_down else stage.later_calls_run()
        problems += stage.shut_down()
        for future in [*stage.futures, *handed]:
            if not future.done():
                problems.append(f"left pending: {future!r}")
        for key in range(1, len(stage.futures) + 1):
            if stage.done_callbacks[key] != 1:
                problems.append(
                    f"done-callback of {stage.futures[key - 1]!r} ran "
                    f"{stage.done_callbacks[key]} times"
                )
        problems += watch.problems(thread_timeout=1.0)
    return problems


def run_interrupt_sweep(name: str, exception: str, max_failures: int = 1) -> str:
    """Sweep one operation (a key of OPERATIONS) with one exception (a key of EXCEPTIONS)
    over every statement; :class:`StressFailure` listing where it broke."""
    operation = OPERATIONS[name]
    counter = FaultInjector(None, EXCEPTIONS[exception])
    problems = _one(name, operation, counter)
    if problems:
        raise StressFailure(f"{name} without an interrupt: " + "; ".join(problems))
    failures = []
    for at in range(1, counter.lines + 1):
        injector = FaultInjector(at, EXCEPTIONS[exception])
        problems = _one(name, operation, injector)
        if problems:
            failures.append(f"{exception} at statement {at} ({injector.fired_at}): {problems}")
            if len(failures) >= max_failures:
                break
    if failures:
        raise StressFailure(f"{name}, interrupted:\n" + "\n".join(failures))
    return f"{name}: {exception} at each of {counter.lines} statements"
