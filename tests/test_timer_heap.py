"""TimerHeap on its own: deadline order, ties in push order, lazy deletion of cancelled timers."""

from __future__ import annotations

from collections import deque

from asyncthreads import Result
from asyncthreads.scheduler import Work
from asyncthreads.testing import Simulation
from asyncthreads.timer_heap import TimerHeap


class Timer:
    """A Work stand-in: a name and the pending Result it would complete."""

    def __init__(self, sim: Simulation, name: str) -> None:
        self.name = name
        self.future: Result[None] = Result(sim.scheduler)

    def run(self) -> None:  # never run here
        raise AssertionError("a heap does not run its timers")


def push(heap: TimerHeap, deadline: float, timer: Timer) -> Timer:
    heap.push(deadline, timer, timer.future)
    return timer


def names(works: deque[Work] | list[Work]) -> list[str]:
    return [work.name for work in works]  # type: ignore[attr-defined]


def test_due_timers_come_out_in_deadline_order_and_ties_in_push_order() -> None:
    sim = Simulation()
    heap = TimerHeap()
    for deadline, name in [(2.0, "c"), (1.0, "a"), (2.0, "d"), (1.0, "b"), (3.0, "e")]:
        push(heap, deadline, Timer(sim, name))

    due: deque[Work] = deque()
    heap.pop_due(2.0, due)

    assert names(due) == ["a", "b", "c", "d"]
    assert len(heap) == 1
    assert heap.next_deadline() == 3.0


def test_a_cancelled_timer_is_skipped_and_not_counted() -> None:
    sim = Simulation()
    heap = TimerHeap()
    first = push(heap, 1.0, Timer(sim, "first"))
    push(heap, 1.0, Timer(sim, "second"))
    push(heap, 2.0, Timer(sim, "later"))

    first.future.cancel()
    due: deque[Work] = deque()
    heap.pop_due(1.0, due)

    assert names(due) == ["second"]
    assert len(heap) == 1


def test_next_deadline_passes_over_a_deadline_whose_timers_are_all_cancelled() -> None:
    sim = Simulation()
    heap = TimerHeap()
    tied = [push(heap, 1.0, Timer(sim, f"tied{i}")) for i in range(3)]
    lone = push(heap, 2.0, Timer(sim, "lone"))
    push(heap, 3.0, Timer(sim, "kept"))

    for timer in [*tied, lone]:
        timer.future.cancel()

    assert heap.next_deadline() == 3.0
    assert heap.stored_count == 1  # the cancelled heads were dropped on the way


def test_mass_cancellation_rebuilds_the_heap_keeping_order() -> None:
    sim = Simulation()
    heap = TimerHeap()
    timers = [push(heap, float(i % 50), Timer(sim, str(i))) for i in range(1_000)]

    for timer in timers[:900]:
        timer.future.cancel()

    assert len(heap) == 100
    assert heap.stored_count <= 2 * len(heap)
    due: deque[Work] = deque()
    heap.pop_due(100.0, due)
    expected = sorted(timers[900:], key=lambda t: (float(int(t.name) % 50), int(t.name)))
    assert names(due) == [t.name for t in expected]


def test_drain_returns_the_live_timers_and_empties_the_heap() -> None:
    sim = Simulation()
    heap = TimerHeap()
    kept = push(heap, 1.0, Timer(sim, "kept"))
    push(heap, 1.0, Timer(sim, "dropped")).future.cancel()

    assert heap.drain() == [kept]
    assert len(heap) == 0
    assert heap.next_deadline() is None


def test_pending_lists_live_timers_earliest_first_ties_in_push_order() -> None:
    sim = Simulation()
    heap = TimerHeap()
    push(heap, 2.0, Timer(sim, "b1"))
    push(heap, 1.0, Timer(sim, "a"))
    push(heap, 2.0, Timer(sim, "b2")).future.cancel()
    push(heap, 2.0, Timer(sim, "b3"))

    assert [(deadline, work.name) for deadline, work in heap.pending()] == [  # type: ignore[attr-defined]
        (1.0, "a"),
        (2.0, "b1"),
        (2.0, "b3"),
    ]
