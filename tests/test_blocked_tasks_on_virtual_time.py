"""A task that blocks in a simulation finishes at the virtual time real threads would,
and a DeadlockError is raised only where real threads would hang for ever (issue 10)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis.errors import StopTest

from asyncthreads import DeadlockError, Reactor, Result
from asyncthreads.testing import Candidate, PCTChooser, Simulation, checkpoint


def done_times(sim: Simulation, results: list[Result[Any]]) -> list[float]:
    """The virtual time each Result ends at, in the order given (filled in as they end)."""
    times: list[float] = [-1.0] * len(results)
    for i, result in enumerate(results):
        result.add_done_callback(lambda _, i=i: times.__setitem__(i, sim.now))  # type: ignore[misc]
    return times


def test_three_one_second_sleeps_on_two_workers_end_at_one_one_and_two(
    sim: Simulation,
) -> None:
    pool = sim.thread_pool(2)
    results = [pool.submit(sim.sleep, 1.0) for _ in range(3)]
    times = done_times(sim, results)

    results[-1].result()

    assert times == [1.0, 1.0, 2.0]
    assert all(r.exception() is None for r in results)


def test_advance_during_a_ten_second_sleep_leaves_the_task_asleep_until_ten(
    sim: Simulation,
) -> None:
    pool = sim.thread_pool(1)
    task = pool.submit(sim.sleep, 10)
    times = done_times(sim, [task])

    sim.advance(5)
    assert (sim.now, task.done()) == (5.0, False)
    sim.advance(10)

    assert task.done()
    assert times == [10.0]


def test_a_task_waiting_on_another_pool_tasks_result_ends_when_that_one_does(
    sim: Simulation,
) -> None:
    pool = sim.thread_pool(2)

    def slow() -> int:
        sim.sleep(3)
        return 4

    inner = pool.submit(slow)
    outer = pool.submit(lambda: inner.result() + 1)
    times = done_times(sim, [inner, outer])

    assert outer.result() == 5
    assert times == [3.0, 3.0]


def test_a_pool_task_waiting_on_a_reactor_timer_ends_at_the_timers_time(
    sim: Simulation,
) -> None:
    reactor = sim.reactor(1)
    task = reactor.call_in_thread(lambda: reactor.call_later(7, lambda: "fired").result())
    times = done_times(sim, [task])

    assert task.result() == "fired"
    assert times == [7.0]


def test_the_reactor_waiting_on_pool_work_ends_when_the_pool_work_does(
    sim: Simulation,
) -> None:
    reactor = sim.reactor(1)

    def pooled() -> str:
        sim.sleep(2)
        return "pooled"

    def on_reactor() -> str:
        return reactor.call_in_thread(pooled).result()

    call = reactor.call(on_reactor)
    times = done_times(sim, [call])

    assert call.result() == "pooled"
    assert times == [2.0]


def test_a_chain_of_waits_three_deep_ends_at_the_sum_of_its_sleeps(sim: Simulation) -> None:
    reactor = sim.reactor(2)

    def third() -> int:
        sim.sleep(1)
        return 3

    def second() -> int:  # on the reactor thread
        return reactor.call_in_thread(third).result() + 2

    def first() -> int:  # on a pool thread
        sim.sleep(1)
        return reactor.call_later(1, second).result() + 1

    task = reactor.call_in_thread(first)
    times = done_times(sim, [task])

    assert task.result() == 6
    assert times == [3.0]


def test_the_reactor_meanwhile_keeps_firing_while_a_pool_task_sleeps(sim: Simulation) -> None:
    reactor = sim.reactor(1)
    ticks: list[float] = []
    reactor.call_every(1, lambda: ticks.append(sim.now))

    reactor.call_in_thread(sim.sleep, 3.5).result()

    assert ticks == [1.0, 2.0, 3.0]


def test_two_tasks_waiting_on_each_other_raise_deadlock_naming_both(sim: Simulation) -> None:
    pool = sim.thread_pool(2, name="p")
    results: list[Result[int]] = []

    def wait_for(index: int) -> int:
        sim.sleep(0)  # both are running before either waits
        return results[index].result()

    results.append(pool.submit(wait_for, 1))
    results.append(pool.submit(wait_for, 0))

    with pytest.raises(DeadlockError) as caught:
        results[0].result()

    headline = str(caught.value).splitlines()[0]
    assert "wait_for on p-1" in headline
    assert "wait_for on p-2" in headline


def test_a_retrying_worker_does_no_spurious_retry_while_it_sleeps(sim: Simulation) -> None:
    """``except Exception`` in user code cannot catch anything the simulation raises
    for a wait real threads would complete."""
    pool = sim.thread_pool(2)
    attempts: list[float] = []

    def fetch_with_retry() -> float:
        for _ in range(3):
            attempts.append(sim.now)
            try:
                sim.sleep(1.0)
                return sim.now
            except Exception:
                continue
        raise AssertionError("gave up")

    results = [pool.submit(fetch_with_retry) for _ in range(2)]
    sim.advance(0.5)  # the test looks halfway through

    assert [r.result() for r in results] == [1.0, 1.0]
    assert attempts == [0.0, 0.0]


def test_the_reactor_waiting_for_its_own_call_raises_deadlock_at_once(sim: Simulation) -> None:
    reactor = sim.reactor(1)

    def on_reactor() -> object:
        return reactor.call(int).result()

    call = reactor.call(on_reactor)
    sim.run_until_idle()

    assert isinstance(call.exception(), DeadlockError)
    assert sim.now == 0.0


class StopRun(BaseException):
    """Stands for hypothesis's StopTest (a BaseException): a chooser's way to end a run."""


class StopAtStep:
    """A FIFO chooser that raises StopRun at the first decision from step ``at`` on."""

    def __init__(self, at: int) -> None:
        self.at = at

    def choose(self, step: int, ready: Sequence[Candidate]) -> int:
        if step >= self.at:
            raise StopRun
        return 0


def test_a_choosers_base_exception_reaches_the_test_not_the_blocked_tasks() -> None:
    with Simulation(chooser=StopAtStep(2)) as sim:
        reactor: Reactor = sim.reactor(2)
        caught: list[BaseException] = []

        def task() -> None:
            try:
                sim.sleep(1)
                sim.sleep(0)
            except BaseException as exc:  # what user code must never see
                caught.append(exc)
                raise

        tick = reactor.call_every(0.5, lambda: None)
        first = reactor.call_in_thread(task)
        second = reactor.call_in_thread(task)

        with pytest.raises(StopRun):
            sim.advance(2)

        assert caught == []
        assert not tick.done()
        assert not first.done() or first.exception() is None
        assert not second.done() or second.exception() is None


def test_a_schedule_points_base_exception_reaches_the_test_not_the_task() -> None:
    with Simulation(chooser=StopAtStep(1)) as sim:
        pool = sim.thread_pool(2)
        caught: list[BaseException] = []

        def task() -> None:
            try:
                sim.sleep(0)  # a schedule point with the other task ready
            except BaseException as exc:
                caught.append(exc)
                raise

        pool.submit(task)
        pool.submit(task)

        with pytest.raises(StopRun):
            sim.run_until_idle()
        assert caught == []


def test_hypothesis_stop_test_from_a_chooser_is_not_logged_as_a_periodic_tasks_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class StopTestAtStep:
        def choose(self, step: int, ready: Sequence[Candidate]) -> int:
            if step >= 3:
                raise StopTest(0)
            return 0

    with Simulation(chooser=StopTestAtStep()) as sim:
        reactor = sim.reactor(2)
        tick = reactor.call_every(0.5, lambda: None)
        reactor.call_in_thread(sim.sleep, 1)
        reactor.call_in_thread(sim.sleep, 1)

        with pytest.raises(StopTest):
            sim.advance(2)

        assert not tick.done()
    assert "StopTest" not in caplog.text


def blocking_run(sim: Simulation) -> list[tuple[float, str, str, str]]:
    """Pool tasks that sleep, wait on each other and on reactor timers, and checkpoint."""
    reactor = sim.reactor(3)
    results: list[Result[int]] = []

    def task(n: int) -> int:
        sim.sleep(n % 3 * 0.5)
        checkpoint()
        if n:
            return results[n - 1].result() + reactor.call_later(0.25, lambda: n).result()
        return 0

    for n in range(6):
        results.append(reactor.call_in_thread(task, n))
    results[-1].result()
    return [tuple(e) for e in sim.trace]  # type: ignore[misc]


@pytest.mark.parametrize(
    "make",
    [
        lambda: Simulation(seed=3),
        lambda: Simulation(chooser=PCTChooser(3, depth=3, expected_steps=40)),
    ],
    ids=["seed", "pct"],
)
def test_the_same_seed_gives_the_same_trace_with_blocking_tasks(make: Any) -> None:
    with make() as first, make() as second:
        assert blocking_run(first) == blocking_run(second)
        assert first.replay_token == second.replay_token


def test_a_token_of_a_run_with_blocking_tasks_replays_it() -> None:
    with Simulation(seed=11) as original:
        trace = blocking_run(original)
        token = original.replay_token
    assert token != "at2:"

    with Simulation(replay=token) as replayed:
        assert blocking_run(replayed) == trace
        assert replayed.replay_diverged_at is None


def test_step_runs_a_task_until_it_blocks_then_another_step_ends_it(sim: Simulation) -> None:
    pool = sim.thread_pool(1)
    gate: list[Result[int]] = []

    def waits() -> int:
        return gate[0].result() + 1

    task = pool.submit(waits)
    gate.append(sim.reactor(1).call(int))

    first = sim.step()
    assert first is not None
    assert (first.what, first.outcome) == (waits.__qualname__, "blocked")
    while not task.done():
        assert sim.step() is not None
    assert task.result() == 1
