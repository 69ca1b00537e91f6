"""The bridge to foreign executors, on the simulation: exact and instant.

``ManualExecutor`` is an Executor whose futures the test starts and completes by hand,
so every ordering (a cancel before, during and after submission, a completion before
start or after shutdown) is forced, not hoped for. The Reactor runs on the simulation's
clock and scheduler, and the bridge is the one real Reactors use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from typing import Any

import pytest

from asyncthreads import CancelledError, Reactor, Result
from asyncthreads.testing import Simulation


class ManualExecutor(Executor):
    """Submissions wait in ``submitted`` until the test runs them."""

    def __init__(self) -> None:
        self.submitted: list[tuple[Callable[..., Any], tuple[Any, ...], Future[Any]]] = []
        self.on_submit: Callable[[], object] | None = None
        self.refuse: BaseException | None = None

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if self.refuse is not None:
            raise self.refuse
        if self.on_submit is not None:
            self.on_submit()
        future: Future[Any] = Future()
        self.submitted.append((lambda: fn(*args, **kwargs), args, future))
        return future

    def start(self, n: int = 0) -> Future[Any]:
        future = self.submitted[n][2]
        assert future.set_running_or_notify_cancel()
        return future

    def run(self, n: int = 0) -> None:
        """Start (unless started) and finish submission ``n``."""
        call, _, future = self.submitted[n]
        if not future.running():
            self.start(n)
        try:
            future.set_result(call())
        except BaseException as exc:
            future.set_exception(exc)


@pytest.fixture
def executor() -> ManualExecutor:
    return ManualExecutor()


@pytest.fixture
def reactor(sim: Simulation, executor: ManualExecutor) -> Iterator[Reactor]:
    reactor = Reactor(executor=executor, clock=sim.clock, scheduler=sim.scheduler)
    reactor.start()
    yield reactor
    reactor.shutdown(wait=False, cancel_futures=True)
    sim.run_until_idle()


def actor_name(sim: Simulation) -> str:
    actor = sim.scheduler.current_actor()
    return actor.name if actor is not None else "the test"


def test_a_call_in_thread_later_is_submitted_when_due_not_before(
    sim: Simulation, reactor: Reactor, executor: ManualExecutor
) -> None:
    result = reactor.call_in_thread_later(5, pow, 2, 8)
    sim.advance(4.9)
    assert executor.submitted == []

    sim.advance(0.1)
    assert len(executor.submitted) == 1
    executor.run()
    sim.run_until_idle()
    assert result.result(timeout=0) == 256


def test_the_result_completes_and_its_callback_runs_on_the_reactor(
    sim: Simulation, reactor: Reactor, executor: ManualExecutor
) -> None:
    seen: list[str] = []
    result = reactor.call_in_thread(pow, 2, 3, callback=lambda value: seen.append(actor_name(sim)))
    result.add_done_callback(lambda _: seen.append(actor_name(sim)))

    executor.run()  # the executor's own thread completes its future: here, the test's
    assert not result.done()  # the completion waits its turn on the reactor
    sim.run_until_idle()

    assert result.result(timeout=0) == 8
    assert seen == ["reactor", "reactor"]


def test_before_start_the_result_completes_on_the_thread_that_completed_the_future(
    sim: Simulation, executor: ManualExecutor
) -> None:
    reactor = Reactor(executor=executor, clock=sim.clock, scheduler=sim.scheduler)
    result = reactor.call_in_thread(pow, 2, 3)

    executor.run()

    assert result.result(timeout=0) == 8
    reactor.shutdown()


def test_cancel_after_submission_forwards_to_the_executors_future(
    reactor: Reactor, executor: ManualExecutor
) -> None:
    result = reactor.call_in_thread(pow, 2, 3)

    assert reactor.cancel_scheduled(result) is True
    assert executor.submitted[0][2].cancelled()
    assert result.cancelled()
    assert reactor.cancel_scheduled(result) is False


def test_cancel_after_the_executor_started_the_call_answers_false_and_the_value_arrives(
    sim: Simulation, reactor: Reactor, executor: ManualExecutor
) -> None:
    result = reactor.call_in_thread(pow, 2, 3)
    executor.start()

    assert result.running()
    assert reactor.cancel_scheduled(result) is False
    assert result.cancel() is False
    executor.run()
    sim.run_until_idle()
    assert result.result(timeout=0) == 8


def test_a_cancel_racing_with_the_hand_over_answers_false_and_the_call_runs(
    sim: Simulation, reactor: Reactor, executor: ManualExecutor
) -> None:
    answers: list[bool] = []
    result = reactor.call_in_thread_later(1, pow, 2, 3)
    executor.on_submit = lambda: answers.append(reactor.cancel_scheduled(result))

    sim.advance(1)
    executor.run()
    sim.run_until_idle()

    assert answers == [False]
    assert result.result(timeout=0) == 8


def test_a_future_the_executor_cancels_cancels_the_result(
    reactor: Reactor, executor: ManualExecutor
) -> None:
    result = reactor.call_in_thread(pow, 2, 3)

    executor.submitted[0][2].cancel()

    assert result.cancelled()


def test_an_error_from_submit_fails_that_result_and_nothing_else(
    sim: Simulation, reactor: Reactor, executor: ManualExecutor
) -> None:
    executor.refuse = TypeError("cannot pickle 'generator' object")
    refused = reactor.call_in_thread(pow, 2, 3)
    executor.refuse = None
    accepted = reactor.call_in_thread(pow, 2, 4)

    executor.run()
    sim.run_until_idle()

    with pytest.raises(TypeError, match="cannot pickle"):
        refused.result(timeout=0)
    assert accepted.result(timeout=0) == 16


def test_periodic_runs_are_submitted_one_at_a_time(
    sim: Simulation, reactor: Reactor, executor: ManualExecutor
) -> None:
    task = reactor.call_every(1, pow, 2, 3, in_thread=True)
    sim.advance(10)
    assert len(executor.submitted) == 1  # the first run has not finished: no second

    executor.run(0)
    sim.advance(1)
    assert len(executor.submitted) == 2
    assert reactor.cancel_scheduled(task) is True
    assert executor.submitted[1][2].cancelled()  # submitted, not started: never starts
    assert task.cancelled()


def test_shutdown_with_cancel_futures_cancels_submitted_calls_not_started(
    sim: Simulation, executor: ManualExecutor
) -> None:
    reactor = Reactor(executor=executor, clock=sim.clock, scheduler=sim.scheduler)
    reactor.start()
    started = reactor.call_in_thread(pow, 2, 3)
    waiting = reactor.call_in_thread(pow, 2, 4)
    executor.start(0)

    reactor.shutdown(wait=False, cancel_futures=True)
    sim.run_until_idle()
    executor.run(0)

    assert waiting.cancelled()
    assert started.result(timeout=0) == 8  # after the reactor stopped: completed in place


def test_shutdown_never_shuts_down_the_executor(
    sim: Simulation, reactor: Reactor, executor: ManualExecutor
) -> None:
    reactor.shutdown(wait=False)
    sim.run_until_idle()

    assert isinstance(executor.submit(pow, 2, 2), Future)


def test_shutdown_waits_for_results_in_flight(sim: Simulation, executor: ManualExecutor) -> None:
    reactor = Reactor(executor=executor, clock=sim.clock, scheduler=sim.scheduler)
    reactor.start()
    result = reactor.call_in_thread(pow, 2, 3)
    elsewhere = sim.thread_pool(1)  # stands for the executor's own thread

    def finish_later() -> None:
        sim.sleep(1)
        executor.run()

    elsewhere.submit(finish_later)

    reactor.shutdown(wait=True)  # drives the simulation until every Result has ended

    assert sim.now == 1
    assert result.result(timeout=0) == 8


def test_reactor_thread_pool_names_the_executor_when_it_is_not_a_thread_pool(
    reactor: Reactor, executor: ManualExecutor
) -> None:
    assert reactor.executor is executor
    with pytest.raises(RuntimeError, match="not a ThreadPool"):
        _ = reactor.thread_pool


def test_cancelled_results_raise_cancelled_error(
    reactor: Reactor, executor: ManualExecutor
) -> None:
    result: Result[int] = reactor.call_in_thread(pow, 2, 3)
    result.cancel()

    with pytest.raises(CancelledError):
        result.result(timeout=0)


def test_a_periodic_task_cancelled_during_the_hand_over_never_starts_that_run(
    sim: Simulation, reactor: Reactor, executor: ManualExecutor
) -> None:
    answers: list[bool] = []
    task = reactor.call_every(1, pow, 2, 3, in_thread=True)
    executor.on_submit = lambda: answers.append(reactor.cancel_scheduled(task))

    sim.advance(1)

    assert answers == [True]  # no further run will start ...
    assert executor.submitted[0][2].cancelled()  # ... including the one being submitted
    assert task.cancelled()


def test_a_long_lived_periodic_task_is_watched_once_not_once_per_run(
    sim: Simulation, reactor: Reactor, executor: ManualExecutor
) -> None:
    task = reactor.call_every(1, pow, 2, 3, in_thread=True)
    for n in range(5):
        sim.advance(1)
        executor.run(n)
        sim.run_until_idle()

    assert len(executor.submitted) == 5
    # Private: the bridge's done-callback on the task's Result does not pile up.
    assert task._watchers is not None
    assert len(task._watchers.callbacks) == 1
