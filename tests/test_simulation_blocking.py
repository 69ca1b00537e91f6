"""Blocking inside a task under a Simulation: a task that waits on another Result.

A wait inside a task suspends its own simulated thread while the others run, as a
blocked thread would; a wait of the test that could never end raises DeadlockError
naming who is blocked. Nothing here may hang (the suite's timeout would catch it).
"""

from __future__ import annotations

import pytest

from asyncthreads import DeadlockError, Reactor, ThreadPool
from asyncthreads.testing import Simulation, TraceEvent


@pytest.fixture
def reactor(sim: Simulation) -> Reactor:
    return sim.reactor(2, name="the-reactor")


def seven() -> int:
    return 7


def ask_the_reactor(reactor: Reactor) -> int:
    return reactor.call(seven).result() + 1


def ask_the_pool(pool: ThreadPool) -> int:
    return pool.queue_task(seven).result()


def test_pool_task_waiting_on_a_reactor_call_gets_its_value(
    sim: Simulation, reactor: Reactor
) -> None:
    assert reactor.call_in_thread(ask_the_reactor, reactor).result() == 8


def test_a_wait_in_a_pool_task_runs_the_reactor_meanwhile(
    sim: Simulation, reactor: Reactor
) -> None:
    reactor.call_in_thread(ask_the_reactor, reactor).result()

    # The pool task blocked, the reactor call ran, then the pool task ended.
    assert [(e.actor, e.what, e.outcome) for e in sim.trace] == [
        ("the-reactor-pool-1", "ask_the_reactor", "blocked"),
        ("the-reactor", "seven", "returned"),
        ("the-reactor-pool-1", "ask_the_reactor", "returned"),
    ]


def test_reactor_call_waiting_on_a_pool_task_gets_its_value(
    sim: Simulation, reactor: Reactor
) -> None:
    def on_reactor() -> int:
        return reactor.call_in_thread(seven).result() + 1

    assert reactor.call(on_reactor).result() == 8
    # The pool ran while the reactor was blocked.
    assert [(e.what, e.outcome) for e in sim.trace][:2] == [
        (on_reactor.__qualname__, "blocked"),
        ("seven", "returned"),
    ]


def test_pool_task_waiting_on_a_timer_advances_virtual_time(
    sim: Simulation, reactor: Reactor
) -> None:
    def pool_task() -> float:
        reactor.call_later(30, seven).result()
        return sim.now

    assert reactor.call_in_thread(pool_task).result() == 30.0


def test_reactor_call_waiting_on_another_reactor_call_raises_deadlock_naming_the_reactor(
    sim: Simulation, reactor: Reactor
) -> None:
    outer = reactor.call(ask_the_reactor, reactor)

    with pytest.raises(DeadlockError, match="the-reactor"):
        outer.result()


def test_reactor_deadlock_fails_only_the_waiting_call(sim: Simulation, reactor: Reactor) -> None:
    outer = reactor.call(ask_the_reactor, reactor)
    sim.run_until_idle()

    assert isinstance(outer.exception(), DeadlockError)
    # The inner call was not lost: the reactor ran it once the outer one had failed.
    assert [(e.what, e.outcome) for e in sim.trace] == [
        ("ask_the_reactor", "raised DeadlockError"),
        ("seven", "returned"),
    ]


def test_reactor_deadlock_error_names_the_blocked_call(sim: Simulation, reactor: Reactor) -> None:
    with pytest.raises(DeadlockError, match="ask_the_reactor"):
        reactor.call(ask_the_reactor, reactor).result()


def actor_line(report: str, actor: str) -> str:
    """The line of a pending() report that says what ``actor`` is doing."""
    (line,) = [line for line in report.splitlines() if line.startswith(f"  {actor}: ")]
    return line


def test_one_worker_pool_task_waiting_on_its_own_pool_raises_deadlock(sim: Simulation) -> None:
    pool = sim.thread_pool(1, name="solo")
    result = pool.queue_task(ask_the_pool, pool)

    with pytest.raises(DeadlockError):
        result.result()


def test_own_pool_deadlock_names_the_blocked_worker_and_task(sim: Simulation) -> None:
    pool = sim.thread_pool(1, name="solo")

    with pytest.raises(DeadlockError) as caught:
        pool.queue_task(ask_the_pool, pool).result()

    report = str(caught.value)
    headline = report.splitlines()[0]
    assert "solo-1" in headline
    assert "ask_the_pool" in headline
    assert "blocked" in headline
    assert "blocked" in actor_line(report, "solo-1")
    assert "queued task: seven" in report  # what it waits for is stuck behind it


def test_pool_task_waiting_on_its_own_one_worker_pool_stays_blocked_as_a_thread_would(
    sim: Simulation,
) -> None:
    pool = sim.thread_pool(1, name="solo")
    result = pool.queue_task(ask_the_pool, pool)
    sim.run_until_idle()

    assert not result.done()
    assert list(sim.trace) == [TraceEvent(0.0, "solo-1", "ask_the_pool", "blocked")]
    assert "waits for the Result of seven" in actor_line(sim.pending(), "solo-1")


def ask_the_pool_from_the_reactor(reactor: Reactor) -> int:
    return reactor.call_in_thread(seven).result()


def ask_the_reactor_to_ask_the_pool(reactor: Reactor) -> int:
    return reactor.call(ask_the_pool_from_the_reactor, reactor).result()


def test_crosswise_deadlock_between_reactor_and_pool_is_reported_not_hung(
    sim: Simulation,
) -> None:
    reactor = sim.reactor(1, name="r")
    reactor.call_later(50, seven)  # the blocked reactor's timers appear in the report

    with pytest.raises(DeadlockError) as caught:
        reactor.call_in_thread(ask_the_reactor_to_ask_the_pool, reactor).result()

    report = str(caught.value)
    assert "ask_the_pool_from_the_reactor" in report.splitlines()[0]
    assert "ask_the_reactor_to_ask_the_pool" in actor_line(report, "r-pool-1")
    assert "ask_the_pool_from_the_reactor" in actor_line(report, "r")
    assert "timer t=50.0: seven" in report
    assert "queued task: seven" in report


def test_nested_wait_with_a_virtual_timeout_times_out_at_that_virtual_time(
    sim: Simulation, reactor: Reactor
) -> None:
    def pool_task() -> tuple[str, float]:
        try:
            reactor.call_later(10, seven).result(timeout=3)
        except TimeoutError:
            return ("timed out", sim.now)
        return ("done", sim.now)

    assert reactor.call_in_thread(pool_task).result() == ("timed out", 3.0)
    assert sim.now == 3.0


def test_nested_wait_with_a_virtual_timeout_returns_the_value_when_in_time(
    sim: Simulation, reactor: Reactor
) -> None:
    def pool_task() -> tuple[int, float]:
        return (reactor.call_later(2, seven).result(timeout=3), sim.now)

    assert reactor.call_in_thread(pool_task).result() == (7, 2.0)


def test_outer_wait_times_out_while_the_task_stays_blocked_on_its_timer(
    sim: Simulation, reactor: Reactor
) -> None:
    def pool_task() -> int:
        return reactor.call_later(30, seven).result(timeout=50)

    task = reactor.call_in_thread(pool_task)

    with pytest.raises(TimeoutError):
        task.result(timeout=10)
    assert sim.now == 10.0
    assert task.result() == 7
    assert sim.now == 30.0


def test_advance_shorter_than_a_sleep_in_a_task_leaves_it_asleep(
    sim: Simulation, reactor: Reactor
) -> None:
    task = reactor.call_in_thread(sim.sleep, 2)

    sim.advance(1)

    assert sim.now == 1.0
    assert not task.done()
    sim.advance(1)
    assert task.done()
    assert task.exception() is None


def test_advance_shorter_than_a_task_blocked_on_a_timer_leaves_it_blocked(
    sim: Simulation, reactor: Reactor
) -> None:
    def pool_task() -> int:
        return reactor.call_later(30, seven).result()

    task = reactor.call_in_thread(pool_task)

    sim.advance(5)

    assert sim.now == 5.0
    assert not task.done()
    sim.advance(25)
    assert task.result(timeout=0) == 7
