"""Specification of ``Reactor.call_every`` on the simulation: the grid, skipped (never
bunched) late ticks, no overlapping runs, exceptions, cancellation and shutdown
(the policy of :mod:`asyncthreads.periodic`)."""

from __future__ import annotations

import logging
import math

import pytest

from asyncthreads import CancelledError, Reactor, Result
from asyncthreads.periodic import PeriodicTask
from asyncthreads.testing import Simulation


def test_call_every_runs_at_each_multiple_of_the_interval(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    hits: list[float] = []

    reactor.call_every(1.0, lambda: hits.append(sim.now))
    sim.advance(10)

    assert hits == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]


def test_first_run_is_one_interval_after_call_every(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    hits: list[float] = []
    sim.advance(3)

    reactor.call_every(2.0, lambda: hits.append(sim.now))
    sim.advance_to(math.nextafter(5.0, 0.0))
    assert hits == []

    sim.advance_to(5.0)
    assert hits == [5.0]


def test_arguments_pass_through_to_each_run(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    calls: list[tuple[str, int]] = []

    def record(label: str, *, n: int) -> None:
        calls.append((label, n))

    reactor.call_every(1.0, record, "tick", n=7)
    sim.advance(2)

    assert calls == [("tick", 7), ("tick", 7)]


def test_runs_on_the_reactor_thread_by_default(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()

    def tick() -> None:
        pass

    reactor.call_every(1.0, tick)
    sim.advance(3)

    actors = [e.actor for e in sim.trace if e.what.endswith("tick")]
    assert actors == [reactor.name] * 3


def test_in_thread_runs_in_the_pool(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor(threads=2)
    hits: list[float] = []

    def tick() -> None:
        hits.append(sim.now)

    reactor.call_every(1.0, tick, in_thread=True)
    sim.advance(3)

    assert hits == [1.0, 2.0, 3.0]
    runs = [e for e in sim.trace if e.what.endswith("tick") and e.outcome == "returned"]
    assert len(runs) == 3
    assert all(e.actor.startswith(reactor.thread_pool.name) for e in runs)


def test_result_is_running_during_a_run_and_pending_between_runs(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    seen_during: list[tuple[bool, bool]] = []
    holder: list[Result[None]] = []

    def tick() -> None:
        seen_during.append((holder[0].done(), holder[0].running()))

    holder.append(reactor.call_every(1.0, tick))
    sim.advance(2.5)

    assert seen_during == [(False, True), (False, True)]
    assert not holder[0].done()
    assert not holder[0].running()


def test_in_thread_runs_never_overlap_even_with_idle_workers(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor(threads=4)
    spans: list[tuple[float, float]] = []
    active: list[int] = [0]
    most_active: list[int] = [0]

    def slow_first_run() -> None:
        active[0] += 1
        most_active[0] = max(most_active[0], active[0])
        start = sim.now
        if not spans:
            sim.sleep(2.5)  # blocks its worker from t=1.0 to t=3.5; three others are idle
        spans.append((start, sim.now))
        active[0] -= 1

    reactor.call_every(1.0, slow_first_run, in_thread=True)
    sim.advance(6)

    assert most_active == [1]
    assert spans == [(1.0, 3.5), (4.0, 4.0), (5.0, 5.0), (6.0, 6.0)]


def test_next_run_is_scheduled_only_after_the_previous_one_returned(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor(threads=4)
    timers_during_run: list[int] = []

    def tick() -> None:
        timers_during_run.append(reactor.timer_count)

    reactor.call_every(1.0, tick, in_thread=True)
    assert reactor.timer_count == 1
    sim.advance(3)

    assert timers_during_run == [0, 0, 0]
    assert reactor.timer_count == 1


def test_in_thread_run_is_never_refused_by_a_full_pool_queue(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(0, max_queue_size=1, name="full-pool")
    reactor = Reactor(pool, name="reactor")
    reactor.start()
    reactor.call_in_thread(lambda: None)  # fills the queue
    starts: list[float] = []

    result = reactor.call_every(1.0, lambda: starts.append(sim.now), in_thread=True)
    sim.advance(2.5)
    assert pool.queued_count == 2  # the run due at 1.0 waits; no second run is queued
    pool.resize_pool(1)
    sim.advance(1)

    assert starts == [2.5, 3.0]
    assert not result.done()
    reactor.shutdown()


def test_overrun_skips_the_missed_ticks_instead_of_bunching_them(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    starts: list[float] = []

    def tick() -> None:
        starts.append(sim.now)
        if len(starts) == 2:
            sim.sleep(2.5)  # run 2 overruns from t=2.0 to t=4.5, past ticks 3 and 4

    reactor.call_every(1.0, tick)
    sim.advance(7)

    assert starts == [1.0, 2.0, 5.0, 6.0, 7.0]


def test_overrun_in_thread_skips_the_missed_ticks(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor(threads=2)
    starts: list[float] = []

    def tick() -> None:
        starts.append(sim.now)
        if len(starts) == 1:
            sim.sleep(1.5)  # run 1 lasts until t=2.5, past tick 2

    reactor.call_every(1.0, tick, in_thread=True)
    sim.advance(5)

    assert starts == [1.0, 3.0, 4.0, 5.0]


def test_ticks_missed_while_the_reactor_is_busy_run_once_late_then_back_on_the_grid(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    starts: list[float] = []

    reactor.call_every(1.0, lambda: starts.append(sim.now))
    reactor.call_at(2.5, sim.sleep, 2.0)  # the reactor is busy from t=2.5 to t=4.5
    sim.advance(7)

    # Ticks 3 and 4 fell due while the reactor was busy: one late run at 4.5 stands for
    # both, then the task is back on the grid at 5.0.
    assert starts == [1.0, 2.0, 4.5, 5.0, 6.0, 7.0]


def test_overrun_ending_exactly_on_a_grid_point_runs_at_that_point(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    starts: list[float] = []

    def tick() -> None:
        starts.append(sim.now)
        if len(starts) == 1:
            sim.sleep(2.0)  # from t=1.0 to exactly tick 3's deadline

    reactor.call_every(1.0, tick)
    sim.advance(4)

    assert starts == [1.0, 3.0, 4.0]


def test_overrun_ending_exactly_on_a_fractional_grid_point_runs_at_that_point(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    starts: list[float] = []

    def tick() -> None:
        starts.append(sim.now)
        if len(starts) == 1:
            sim.sleep(0.2)  # from t=0.1 to 0.1 + 0.2 == 3 * 0.1, tick 3's deadline

    reactor.call_every(0.1, tick)
    sim.advance(0.45)

    assert 0.1 + 0.2 == 3 * 0.1  # the run ends exactly on tick 3's deadline
    assert starts == [0.1, 3 * 0.1, 4 * 0.1]


def test_grid_does_not_drift(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    sim.advance(0.7)
    start = sim.now
    hits: list[float] = []

    reactor.call_every(0.1, lambda: hits.append(sim.now))
    sim.advance(100)

    assert hits == [start + n * 0.1 for n in range(1, 1001)]
    # Adding the interval run after run would have drifted off that grid.
    drifting = [start]
    for _ in range(1000):
        drifting.append(drifting[-1] + 0.1)
    assert hits != drifting[1:]


def test_late_run_does_not_shift_the_grid(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    starts: list[float] = []

    reactor.call_every(1.0, lambda: starts.append(sim.now))
    reactor.call_at(0.75, sim.sleep, 0.5)  # the reactor is busy from t=0.75 to t=1.25
    sim.advance(3)

    assert starts == [1.25, 2.0, 3.0]


def test_exception_stops_the_task_and_fails_its_result(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    starts: list[float] = []
    boom = ValueError("boom")

    def tick() -> None:
        starts.append(sim.now)
        if len(starts) == 3:
            raise boom

    result = reactor.call_every(1.0, tick)
    sim.advance(10)

    assert starts == [1.0, 2.0, 3.0]
    assert result.exception() is boom
    assert reactor.timer_count == 0


def test_exception_in_thread_stops_the_task_and_fails_its_result(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor(threads=2)
    starts: list[float] = []

    def tick() -> None:
        starts.append(sim.now)
        raise KeyError("in thread")

    result = reactor.call_every(1.0, tick, in_thread=True)
    sim.advance(5)

    assert starts == [1.0]
    with pytest.raises(KeyError, match="in thread"):
        result.result()


def test_exception_is_logged_on_the_asyncthreads_logger(
    asyncthreads_sim: Simulation, caplog: pytest.LogCaptureFixture
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()

    def failing_tick() -> None:
        raise RuntimeError("tick failed")

    with caplog.at_level(logging.ERROR, logger="asyncthreads"):
        reactor.call_every(1.0, failing_tick)
        sim.advance(2)

    [record] = [r for r in caplog.records if r.name == "asyncthreads"]
    assert record.levelno == logging.ERROR
    assert "failing_tick" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)


def test_cancel_stops_further_runs_and_returns_true(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    hits: list[float] = []
    result = reactor.call_every(1.0, lambda: hits.append(sim.now))
    sim.advance(2.5)

    assert result.cancel() is True
    sim.advance(10)

    assert hits == [1.0, 2.0]
    assert result.cancelled()
    assert reactor.timer_count == 0


def test_cancel_scheduled_stops_further_runs_and_returns_true(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    hits: list[float] = []
    result = reactor.call_every(1.0, lambda: hits.append(sim.now), in_thread=True)
    sim.advance(3.5)

    assert reactor.cancel_scheduled(result) is True
    sim.advance(10)

    assert hits == [1.0, 2.0, 3.0]
    assert result.cancelled()
    with pytest.raises(CancelledError):
        result.result()


def test_cancel_scheduled_twice_returns_false_the_second_time(
    asyncthreads_sim: Simulation,
) -> None:
    reactor = asyncthreads_sim.reactor()
    result = reactor.call_every(1.0, lambda: None)

    assert reactor.cancel_scheduled(result) is True
    assert reactor.cancel_scheduled(result) is False


def test_cancel_during_a_run_answers_false_lets_it_finish_and_starts_no_other(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    events: list[tuple[str, float]] = []
    holder: list[Result[None]] = []
    answers: list[bool] = []

    def tick() -> None:
        events.append(("start", sim.now))
        if len(events) == 3:
            answers.append(holder[0].cancel())
        events.append(("end", sim.now))

    holder.append(reactor.call_every(1.0, tick))
    sim.advance(10)

    assert answers == [False]  # the function is running: True would say it never runs
    assert events == [("start", 1.0), ("end", 1.0), ("start", 2.0), ("end", 2.0)]
    assert holder[0].cancelled()
    assert reactor.timer_count == 0


def test_cancel_during_an_in_thread_run_lets_it_finish_and_starts_no_other(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor(threads=2)
    spans: list[tuple[float, float]] = []
    holder: list[Result[None]] = []

    def tick() -> None:
        start = sim.now
        sim.sleep(0.5)
        spans.append((start, sim.now))

    holder.append(reactor.call_every(1.0, tick, in_thread=True))
    reactor.call_at(2.25, lambda: holder[0].cancel())  # during run 2 (2.0 to 2.5)
    sim.advance(10)

    assert spans == [(1.0, 1.5), (2.0, 2.5)]
    assert holder[0].cancelled()


def test_reactor_shutdown_cancels_periodic_tasks(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    hits: list[float] = []
    on_reactor = reactor.call_every(1.0, lambda: hits.append(sim.now))
    in_thread = reactor.call_every(1.0, lambda: hits.append(sim.now), in_thread=True)
    sim.advance(1)

    reactor.shutdown()
    sim.advance(5)

    assert hits == [1.0, 1.0]
    assert on_reactor.cancelled()
    assert in_thread.cancelled()


def test_shutdown_during_an_in_thread_run_cancels_the_task_after_that_run(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor(threads=2)
    spans: list[tuple[float, float]] = []

    def tick() -> None:
        start = sim.now
        sim.sleep(0.5)
        spans.append((start, sim.now))

    result = reactor.call_every(1.0, tick, in_thread=True)
    reactor.call_at(1.25, lambda: reactor.shutdown(wait=False))
    sim.advance(5)

    assert spans == [(1.0, 1.5)]
    assert result.cancelled()


@pytest.mark.parametrize("interval", [0, 0.0, -1.0])
def test_interval_not_positive_raises_value_error(
    asyncthreads_sim: Simulation, interval: float
) -> None:
    reactor = asyncthreads_sim.reactor()

    with pytest.raises(ValueError, match="interval"):
        reactor.call_every(interval, lambda: None)
    assert reactor.timer_count == 0


@pytest.mark.parametrize("interval", [math.nan, math.inf])
def test_interval_not_finite_raises_value_error(
    asyncthreads_sim: Simulation, interval: float
) -> None:
    reactor = asyncthreads_sim.reactor()

    with pytest.raises(ValueError, match="interval"):
        reactor.call_every(interval, lambda: None)
    assert reactor.timer_count == 0


# -- regressions: exact cancel at a run's start, no burst at a tick, tiny intervals ------


def test_cancel_landing_as_a_run_starts_answers_false_and_that_run_is_the_last(
    asyncthreads_sim: Simulation,
) -> None:
    """A cancel from another thread at the moment a run starts (after the run's check, before
    the function's first line): True would promise a run that then starts anyway."""
    sim = asyncthreads_sim
    reactor = sim.reactor()
    answers: list[bool] = []
    entered: list[float] = []
    result = reactor.call_every(1.0, lambda: entered.append(sim.now))
    [(_, periodic)] = reactor.pending_timers()
    assert isinstance(periodic, PeriodicTask)
    function = periodic.call

    def cancel_then_enter() -> object:  # a hook on a private name: a mutation-style test
        answers.append(reactor.cancel_scheduled(result))
        return function()

    periodic.call = cancel_then_enter
    sim.advance(5)

    assert answers == [False]  # the run had started
    assert entered == [1.0]  # and it was the last
    assert result.cancelled()


@pytest.mark.parametrize("in_thread", [False, True], ids=["on the reactor", "in the pool"])
def test_a_run_held_up_until_exactly_a_later_tick_is_not_followed_by_one_at_that_instant(
    asyncthreads_sim: Simulation, in_thread: bool
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor(threads=1)
    starts: list[float] = []

    reactor.call_every(1.0, lambda: starts.append(sim.now), in_thread=in_thread)
    # The reactor (or the pool's one worker) is busy from t=2.5 to exactly t=4.0.
    if in_thread:
        reactor.call_at(2.5, reactor.call_in_thread, sim.sleep, 1.5)
    else:
        reactor.call_at(2.5, sim.sleep, 1.5)
    sim.advance(6)

    # Tick 3 runs late at 4.0 and stands for tick 4 too: never twice at one instant.
    assert starts == [1.0, 2.0, 4.0, 5.0, 6.0]


@pytest.mark.parametrize("interval", [5e-324, 1e-17])
def test_an_interval_that_does_not_move_the_deadline_now_raises_value_error(
    asyncthreads_sim: Simulation, interval: float
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    sim.advance_to(1.0)  # 1.0 + interval == 1.0

    with pytest.raises(ValueError, match="interval"):
        reactor.call_every(interval, lambda: None)
    assert reactor.timer_count == 0


def test_an_error_scheduling_the_next_run_fails_the_task_not_the_reactor(
    asyncthreads_sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()

    def overflowing(self: PeriodicTask, now: float) -> float:  # a mutation of a private name
        raise OverflowError("the grid overflowed")

    monkeypatch.setattr(PeriodicTask, "advance", overflowing)
    result = reactor.call_every(1.0, lambda: None)
    sim.advance(2)

    assert isinstance(result.exception(), OverflowError)
    assert reactor.call(lambda: "still running").result() == "still running"
