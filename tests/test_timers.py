"""Specification of the Reactor's timers on the simulation: call_later, call_at and
call_in_thread_later fire at exactly their deadline, never early, in (deadline, scheduling
order) order, and a due timer joins the reactor queue behind calls already queued."""

from __future__ import annotations

import math
import random

import pytest

from asyncthreads import Reactor
from asyncthreads.testing import Simulation


def test_call_later_fires_at_exactly_its_deadline(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    fired: list[float] = []

    reactor.call_later(1.5, lambda: fired.append(sim.now))
    sim.advance(10)

    assert fired == [1.5]


def test_call_later_deadline_is_now_plus_delay(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    fired: list[float] = []
    sim.advance(0.1)

    reactor.call_later(0.2, lambda: fired.append(sim.now))
    sim.advance(1)

    assert fired == [0.1 + 0.2]


def test_call_at_fires_at_exactly_its_deadline(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    fired: list[float] = []

    reactor.call_at(2.25, lambda: fired.append(sim.now))
    sim.advance(10)

    assert fired == [2.25]


def test_timer_result_receives_the_return_value(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()

    result = reactor.call_later(1.0, lambda: sim.now)

    assert result.result() == 1.0
    assert sim.now == 1.0


def test_timer_never_fires_early(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    fired: list[float] = []
    reactor.call_later(1.0, lambda: fired.append(sim.now))

    sim.advance_to(math.nextafter(1.0, 0.0))
    assert fired == []
    assert reactor.timer_count == 1

    sim.advance_to(1.0)
    assert fired == [1.0]
    assert reactor.timer_count == 0


def test_call_at_never_fires_early(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    fired: list[float] = []
    reactor.call_at(3.0, lambda: fired.append(sim.now))

    sim.advance(2.999999)
    assert fired == []

    sim.advance_to_next_timer()
    assert fired == [3.0]


def test_equal_deadlines_fire_in_scheduling_order(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    fired: list[str] = []

    reactor.call_at(1.0, fired.append, "first")
    reactor.call_later(1.0, fired.append, "second")
    reactor.call_at(1.0, fired.append, "third")
    sim.advance(2)

    assert fired == ["first", "second", "third"]


def test_equal_deadlines_fire_in_scheduling_order_whatever_the_order_of_other_deadlines(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    fired: list[str] = []

    reactor.call_at(2.0, fired.append, "late-a")
    reactor.call_at(1.0, fired.append, "early-a")
    reactor.call_at(2.0, fired.append, "late-b")
    reactor.call_at(1.0, fired.append, "early-b")
    sim.advance(3)

    assert fired == ["early-a", "early-b", "late-a", "late-b"]


def test_deadline_in_the_past_runs_at_once(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    fired: list[float] = []
    sim.advance(5)

    reactor.call_at(1.0, lambda: fired.append(sim.now))
    sim.run_until_idle()

    assert fired == [5.0]


def test_zero_delay_runs_at_the_current_instant(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    fired: list[float] = []
    sim.advance(2.5)

    reactor.call_later(0, lambda: fired.append(sim.now))
    sim.run_until_idle()

    assert fired == [2.5]


def test_timer_scheduled_by_a_timer_fires_at_its_exact_time_in_the_same_advance(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    fired: list[tuple[str, float]] = []

    def outer() -> None:
        fired.append(("outer", sim.now))
        reactor.call_later(0.5, lambda: fired.append(("inner", sim.now)))

    reactor.call_later(1.0, outer)
    reactor.call_later(1.75, lambda: fired.append(("later", sim.now)))
    sim.advance(10)

    assert fired == [("outer", 1.0), ("inner", 1.5), ("later", 1.75)]


def test_advance_runs_many_timers_in_deadline_then_scheduling_order(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    rng = random.Random(20240501)
    # Quarter seconds, so that many deadlines tie.
    delays = [rng.randrange(0, 40) * 0.25 for _ in range(300)]
    fired: list[tuple[int, float]] = []

    for index, delay in enumerate(delays):
        reactor.call_later(delay, lambda i=index: fired.append((i, sim.now)))
    sim.advance(20)

    expected_order = sorted(range(len(delays)), key=lambda i: (delays[i], i))
    assert [i for i, _ in fired] == expected_order
    assert [t for _, t in fired] == [delays[i] for i in expected_order]


def test_call_in_thread_later_runs_in_a_pool_worker_at_its_deadline(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor(threads=2)

    def in_pool() -> float:
        return sim.now

    result = reactor.call_in_thread_later(1.25, in_pool)
    sim.advance(5)

    assert result.result() == 1.25
    [event] = [e for e in sim.trace if e.what.endswith("in_pool") and e.outcome == "returned"]
    assert event.actor.startswith(reactor.thread_pool.name)
    assert event.time == 1.25


def test_call_in_thread_later_never_fires_early(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor(threads=2)
    fired: list[float] = []
    reactor.call_in_thread_later(1.0, lambda: fired.append(sim.now))

    sim.advance_to(math.nextafter(1.0, 0.0))
    assert fired == []

    sim.advance_to(1.0)
    assert fired == [1.0]


def test_due_call_in_thread_later_is_never_refused_by_a_full_pool_queue(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(0, max_queue_size=1, name="full-pool")
    reactor = Reactor(pool, name="reactor")
    reactor.start()
    reactor.call_in_thread(lambda: "fills the queue")

    later = reactor.call_in_thread_later(1.0, lambda: sim.now)
    sim.advance(1)

    # Accepted when it was scheduled: the full queue takes it when it falls due.
    assert pool.queued_count == 2
    pool.resize_pool(1)
    assert later.result() == 1.0
    reactor.shutdown()


def test_call_later_in_thread_is_call_in_thread_later() -> None:
    assert Reactor.call_later_in_thread is Reactor.call_in_thread_later


def test_call_later_in_thread_runs_in_the_pool_at_its_deadline(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor(threads=1)

    def in_pool() -> float:
        return sim.now

    result = reactor.call_later_in_thread(0.5, in_pool)

    assert result.result() == 0.5
    actors = {e.actor for e in sim.trace if e.what.endswith("in_pool") and e.outcome == "returned"}
    assert actors == {f"{reactor.thread_pool.name}-1"}


def test_due_timer_joins_the_reactor_queue_behind_calls_already_queued(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    ran: list[tuple[str, float]] = []

    def busy_until_two() -> None:
        ran.append(("busy", sim.now))
        sim.sleep(2.0)

    reactor.call_at(1.0, ran.append, ("timer", 1.0))
    reactor.call(busy_until_two)
    reactor.call(lambda: ran.append(("queued-a", sim.now)))
    reactor.call(lambda: ran.append(("queued-b", sim.now)))
    sim.advance(5)

    # The timer was due at 1.0 while the reactor was busy; at 2.0 it joins the queue
    # behind the two calls that were already waiting.
    assert [name for name, _ in ran] == ["busy", "queued-a", "queued-b", "timer"]
    assert ran[1:3] == [("queued-a", 2.0), ("queued-b", 2.0)]


def test_timer_delayed_by_a_busy_reactor_runs_late_not_early(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    fired: list[float] = []

    reactor.call(sim.sleep, 2.0)
    reactor.call_at(1.0, lambda: fired.append(sim.now))
    sim.advance(5)

    assert fired == [2.0]


def test_advance_to_the_past_raises_value_error(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    sim.advance(3)

    with pytest.raises(ValueError, match="backwards"):
        sim.advance_to(2.0)
    assert sim.now == 3.0


def test_advance_by_a_negative_amount_raises_value_error(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim

    with pytest.raises(ValueError, match="negative"):
        sim.advance(-1)
    assert sim.now == 0.0


def test_clock_never_goes_backwards_over_many_timers(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    rng = random.Random(7)
    seen: list[float] = []
    for _ in range(200):
        reactor.call_later(rng.uniform(0, 10), lambda: seen.append(sim.now))

    sim.advance(10)

    assert len(seen) == 200
    assert seen == sorted(seen)


def test_advance_to_next_timer_jumps_to_the_earliest_deadline(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    fired: list[float] = []
    reactor.call_at(7.0, lambda: fired.append(sim.now))
    reactor.call_at(3.0, lambda: fired.append(sim.now))

    assert sim.advance_to_next_timer() == 3.0
    assert sim.now == 3.0
    assert fired == [3.0]


def test_timer_count_counts_timers_that_have_not_fired(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    reactor.call_later(1.0, lambda: None)
    reactor.call_later(2.0, lambda: None)
    reactor.call_in_thread_later(3.0, lambda: None)
    assert reactor.timer_count == 3

    sim.advance(1.5)
    assert reactor.timer_count == 2

    sim.advance(5)
    assert reactor.timer_count == 0


@pytest.mark.parametrize("delay", [-0.001, math.nan, math.inf])
def test_bad_delay_raises_value_error_and_schedules_nothing(
    asyncthreads_sim: Simulation, delay: float
) -> None:
    reactor = asyncthreads_sim.reactor()

    with pytest.raises(ValueError, match="delay"):
        reactor.call_later(delay, lambda: None)
    assert reactor.timer_count == 0
