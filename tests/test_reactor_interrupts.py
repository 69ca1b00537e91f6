"""An exception raised into a caller in the middle of a Reactor method (a signal handler's
``KeyboardInterrupt``) reaches that caller, and never leaves the reactor deaf: later calls
run, shutdown finishes, every Result ends.

The interrupt is injected with ``sys.settrace`` at each point, in turn, where CPython
could run a signal handler: the entry of every function of the library the call reaches,
and every line of the library's own code. Two exceptions: the simulation's lines (it
stands in for the OS threads, whose wake-up is one C call), and the second event of a
``with`` line, on leaving the block, where no handler can run before ``__exit__`` has
released the lock. On the simulation, the loop is asleep when the call comes, as it is
between bursts of work; on real threads too.
"""

from __future__ import annotations

import gc
import linecache
import sys
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import asyncthreads
from asyncthreads import Reactor, Result, ThreadPool
from asyncthreads.testing import Simulation

LIBRARY = str(Path(asyncthreads.__file__).parent)
SIMULATION = str(Path(asyncthreads.__file__).parent / "testing")

TraceFunction = Callable[[FrameType, str, Any], Any]


def interrupt_at(point: int) -> tuple[TraceFunction, list[int]]:
    """A trace function raising KeyboardInterrupt at the ``point``-th interruptible point
    of the library in this thread; and a list whose one item counts the points passed."""
    passed = [0]

    def reached() -> None:
        passed[0] += 1
        if passed[0] == point:
            raise KeyboardInterrupt(f"injected at point {point}")

    withs_entered: set[tuple[int, int]] = set()

    def lines(frame: FrameType, event: str, arg: Any) -> TraceFunction | None:
        if event == "line":
            line = frame.f_lineno
            if linecache.getline(frame.f_code.co_filename, line).lstrip().startswith("with "):
                # A `with` line is traced again on leaving the block, before `__exit__`
                # is called; CPython runs no signal handler there (only after a call).
                if (id(frame), line) in withs_entered:
                    return lines
                withs_entered.add((id(frame), line))
            reached()
        return lines

    def calls(frame: FrameType, event: str, arg: Any) -> TraceFunction | None:
        path = frame.f_code.co_filename
        if event != "call" or not path.startswith(LIBRARY):
            return None
        reached()  # on entry, before the first line
        return None if path.startswith(SIMULATION) else lines

    return calls, passed


def interrupted(operation: Callable[[], object], point: int) -> bool:
    """Run ``operation`` with an interrupt at ``point``; True if it was interrupted."""
    trace, _ = interrupt_at(point)
    # No collection meanwhile: the finalizers of earlier rounds' reactors would be traced.
    gc.collect()
    gc.disable()
    sys.settrace(trace)
    try:
        operation()
    except KeyboardInterrupt:
        return True
    finally:
        sys.settrace(None)
        gc.enable()
    return False


def every_point(operation: Callable[[Reactor], object]) -> Iterator[tuple[Simulation, Reactor]]:
    """For each interruptible point of ``operation`` in turn: a fresh simulation with an
    idle reactor on which ``operation`` was interrupted there (the caller checks it)."""
    point = 1
    while True:
        with Simulation() as sim:
            reactor = sim.reactor(threads=1)
            sim.run_until_idle()  # the loop is asleep
            if not interrupted(partial(operation, reactor), point):
                assert point > 1, "the operation was never interrupted"
                return
            yield sim, reactor
        point += 1


def ran() -> str:
    return "ran"


OPERATIONS: dict[str, Callable[[Reactor], object]] = {
    "call": lambda r: r.call(ran),
    "call with callback": lambda r: r.call(ran, callback=print),
    "call_later": lambda r: r.call_later(0.5, ran),
    "call_at": lambda r: r.call_at(0.5, ran),
    "call_in_thread_later": lambda r: r.call_in_thread_later(0.5, ran),
    "call_every": lambda r: r.call_every(0.5, ran),
    "cancel_scheduled": lambda r: r.cancel_scheduled(r.call_later(0.5, ran)),
}


@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS.keys())
def test_an_interrupted_call_never_stops_later_calls_from_running(
    operation: Callable[[Reactor], object],
) -> None:
    for sim, reactor in every_point(operation):
        later = reactor.call(ran)
        timer = reactor.call_later(1.0, ran)

        assert later.result() == "ran"  # a deaf reactor: DeadlockError, nothing runs it
        sim.advance(1.0)
        assert timer.result() == "ran"


@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS.keys())
def test_after_an_interrupted_call_shutdown_finishes_and_every_result_ends(
    operation: Callable[[Reactor], object],
) -> None:
    for _, reactor in every_point(operation):
        results: list[Result[Any]] = [reactor.call(ran), reactor.call_later(3600, ran)]

        reactor.shutdown(wait=True)  # on the simulation, a hang is a DeadlockError

        assert [r for r in results if not r.done()] == []


def test_an_interrupted_shutdown_is_finished_by_the_next() -> None:
    def queue_and_shut_down(reactor: Reactor) -> None:
        results.extend(
            [reactor.call(ran), reactor.call_later(3600, ran), reactor.call_every(1, ran)]
        )
        reactor.shutdown(wait=False, cancel_futures=True)

    results: list[Result[Any]] = []
    for _, reactor in every_point(queue_and_shut_down):
        reactor.shutdown(wait=True)  # on the simulation, a hang is a DeadlockError

        assert [r for r in results if not r.done()] == []
        results.clear()


# -- on real threads: the production wake-up ------------------------------------------------


def asleep(reactor: Reactor) -> bool:
    """The loop has gone to sleep and no wake-up was sent since (private fields)."""
    return reactor._sleeps != reactor._woken


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "operation",
    [OPERATIONS["call"], OPERATIONS["call_later"]],
    ids=["call", "call_later"],
)
def test_on_real_threads_an_interrupted_call_never_stops_later_calls_from_running(
    operation: Callable[[Reactor], object],
) -> None:
    point = 1
    while True:
        with ThreadPool(0, name="interrupts-pool") as pool:
            reactor = Reactor(pool, name="interrupts")
            reactor.start()
            try:
                reactor.call(ran).result(timeout=5)
                while not asleep(reactor):  # it goes to sleep right after that call
                    threading.Event().wait(0.001)
                if not interrupted(partial(operation, reactor), point):
                    assert point > 1, "the operation was never interrupted"
                    return
                assert reactor.call(ran).result(timeout=5) == "ran"
            finally:
                reactor.shutdown(wait=True)
        point += 1
