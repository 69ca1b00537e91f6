"""Specification of cancellation on the simulation: ``Reactor.cancel_scheduled`` is exact,
``Result.cancel`` has ``concurrent.futures.Future`` semantics, cancelled work never runs and
leaves nothing behind, and every Result ends once its Reactor has shut down."""

from __future__ import annotations

import queue
import random
import threading
from collections.abc import Callable
from typing import Any

import pytest

from asyncthreads import CancelledError, QueueFull, Reactor, Result, ThreadPool, defer_to_thread
from asyncthreads.testing import FifoChooser, Simulation


def reactor_on_pool(sim: Simulation, pool: ThreadPool) -> Reactor:
    """A started Reactor on ``pool`` (built by ``sim``, which shuts the pool down)."""
    reactor = Reactor(pool, name="reactor")
    reactor.start()
    return reactor


# -- cancel_scheduled: True exactly when it stopped a run ---------------------------------


def test_cancel_scheduled_stops_a_pending_timer(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    ran: list[float] = []
    result = reactor.call_later(1.0, lambda: ran.append(sim.now))

    assert reactor.cancel_scheduled(result) is True
    sim.advance(5)

    assert ran == []
    assert result.cancelled()


def test_cancel_scheduled_stops_a_queued_call(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    ran: list[str] = []
    result = reactor.call(ran.append, "queued")

    assert reactor.cancel_scheduled(result) is True
    sim.run_until_idle()

    assert ran == []
    assert reactor.queued_count == 0


def test_cancel_scheduled_stops_a_pending_call_in_thread_later(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor(threads=2)
    ran: list[float] = []
    result = reactor.call_in_thread_later(1.0, lambda: ran.append(sim.now))

    assert reactor.cancel_scheduled(result) is True
    sim.advance(5)

    assert ran == []
    assert reactor.timer_count == 0


def test_cancel_scheduled_stops_a_fired_timer_still_queued_in_the_pool(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor(threads=0)
    ran: list[float] = []
    result = reactor.call_in_thread_later(1.0, lambda: ran.append(sim.now))
    sim.advance(1)
    assert reactor.thread_pool.queued_count == 1

    assert reactor.cancel_scheduled(result) is True
    assert reactor.thread_pool.queued_count == 0
    reactor.thread_pool.resize_pool(1)
    sim.advance(5)

    assert ran == []


def test_cancel_scheduled_stops_a_queued_call_in_thread(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor(threads=1)
    ran: list[str] = []
    result = reactor.call_in_thread(ran.append, "in thread")

    assert reactor.cancel_scheduled(result) is True
    sim.run_until_idle()

    assert ran == []


def test_cancel_scheduled_returns_false_once_the_call_has_started(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    holder: list[Result[Any]] = []
    answers: list[bool] = []

    def cancel_myself() -> str:
        answers.append(reactor.cancel_scheduled(holder[0]))
        return "finished anyway"

    holder.append(reactor.call(cancel_myself))

    assert holder[0].result() == "finished anyway"
    assert answers == [False]


def test_cancel_scheduled_returns_false_once_the_call_has_finished(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    result = reactor.call_later(1.0, lambda: "done")
    sim.advance(1)

    assert reactor.cancel_scheduled(result) is False
    assert result.result() == "done"


def test_cancel_scheduled_returns_false_once_the_call_has_failed(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()

    def fail() -> None:
        raise ValueError("failed")

    result = reactor.call(fail)
    sim.run_until_idle()

    assert reactor.cancel_scheduled(result) is False
    assert isinstance(result.exception(), ValueError)


def test_cancel_scheduled_returns_false_when_already_cancelled(
    asyncthreads_sim: Simulation,
) -> None:
    reactor = asyncthreads_sim.reactor()
    result = reactor.call_later(1.0, lambda: None)
    assert result.cancel() is True

    assert reactor.cancel_scheduled(result) is False


def test_cancel_scheduled_returns_false_for_a_result_of_another_reactor(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor(name="this")
    other = sim.reactor(name="other")
    ran: list[float] = []
    result = other.call_later(1.0, lambda: ran.append(sim.now))

    assert reactor.cancel_scheduled(result) is False
    sim.advance(2)

    assert ran == [1.0]


def test_cancel_scheduled_returns_false_for_a_result_of_a_bare_pool(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    pool = sim.thread_pool(0, name="bare")
    result = pool.queue_task(lambda: None)

    assert reactor.cancel_scheduled(result) is False
    assert not result.cancelled()
    assert pool.queued_count == 1


@pytest.mark.parametrize("not_a_result", [None, 42, "result", object()])
def test_cancel_scheduled_of_a_non_result_raises_type_error(
    asyncthreads_sim: Simulation, not_a_result: object
) -> None:
    reactor = asyncthreads_sim.reactor()

    with pytest.raises(TypeError, match="Result"):
        reactor.cancel_scheduled(not_a_result)  # type: ignore[arg-type]


# -- Result.cancel: Future semantics ------------------------------------------------------


def test_result_cancel_of_a_pending_call_returns_true(asyncthreads_sim: Simulation) -> None:
    reactor = asyncthreads_sim.reactor()
    result = reactor.call_later(1.0, lambda: None)

    assert result.cancel() is True
    assert result.cancelled()
    assert result.done()
    with pytest.raises(CancelledError):
        result.result()


def test_result_cancel_of_an_already_cancelled_result_returns_true(
    asyncthreads_sim: Simulation,
) -> None:
    reactor = asyncthreads_sim.reactor()
    result = reactor.call_later(1.0, lambda: None)
    result.cancel()

    assert result.cancel() is True
    assert result.cancelled()


def test_result_cancel_of_a_running_call_returns_false(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    holder: list[Result[Any]] = []
    seen: list[tuple[bool, bool]] = []

    def try_to_cancel_myself() -> str:
        seen.append((holder[0].running(), holder[0].cancel()))
        return "ran to the end"

    holder.append(reactor.call(try_to_cancel_myself))

    assert holder[0].result() == "ran to the end"
    assert seen == [(True, False)]
    assert not holder[0].cancelled()


def test_result_cancel_of_a_finished_call_returns_false(asyncthreads_sim: Simulation) -> None:
    reactor = asyncthreads_sim.reactor()
    result = reactor.call(lambda: 3)
    assert result.result() == 3

    assert result.cancel() is False
    assert result.result() == 3


# -- cancelled work never runs, and leaves nothing behind ---------------------------------


# An interleaving is part of what this test specifies: FIFO whatever --asyncthreads-seed.
@pytest.mark.asyncthreads(chooser=FifoChooser())
def test_cancelled_call_never_runs_even_after_a_worker_took_it(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor(threads=1)
    sim.run_until_idle()
    ran: list[str] = []

    def never() -> None:
        ran.append("never")

    reactor.call(lambda: None)
    result = reactor.call_in_thread(never)
    sim.step()  # the reactor's call runs; the worker has already taken ``never``

    assert result.cancel() is True
    sim.run_until_idle()

    assert ran == []
    outcomes = [e.outcome for e in sim.trace if e.what.endswith(".never")]
    assert outcomes == ["cancelled"]


def test_cancelled_timer_never_appears_in_the_trace(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()

    def never() -> None:
        raise AssertionError("a cancelled timer ran")

    def kept() -> None:
        pass

    reactor.call_later(1.0, never).cancel()
    reactor.call_later(2.0, kept)
    sim.advance(3)

    assert [(e.time, e.what.rsplit(".", 1)[-1], e.outcome) for e in sim.trace] == [
        (2.0, "kept", "returned")
    ]


# Result.cancel() and Reactor.cancel_scheduled() each carry the cancellation itself
# (inlined for speed), so what they must both do is checked for each.
CANCELLERS = {
    "Result.cancel": lambda reactor, result: result.cancel(),
    "Reactor.cancel_scheduled": lambda reactor, result: reactor.cancel_scheduled(result),
}


@pytest.mark.parametrize("cancel", CANCELLERS.values(), ids=CANCELLERS.keys())
def test_cancelled_timers_do_not_pile_up_in_the_heap(
    asyncthreads_sim: Simulation, cancel: Callable[[Reactor, Result[Any]], bool]
) -> None:
    reactor = asyncthreads_sim.reactor()
    results = [reactor.call_later(1.0 + i / 1000, lambda: None) for i in range(10_000)]

    for result in random.Random(3).sample(results, 9_000):
        assert cancel(reactor, result) is True

    assert reactor.timer_count == 1_000
    # Lazy deletion: cancelled entries never outnumber live ones (past a small floor).
    assert reactor._timers.stored_count <= 2 * reactor.timer_count


@pytest.mark.parametrize("cancel", CANCELLERS.values(), ids=CANCELLERS.keys())
def test_cancelling_runs_each_done_callback_once_with_the_cancelled_result(
    asyncthreads_sim: Simulation, cancel: Callable[[Reactor, Result[Any]], bool]
) -> None:
    reactor = asyncthreads_sim.reactor()
    result = reactor.call_later(1.0, lambda: None)
    calls: list[bool] = []
    result.add_done_callback(lambda done: calls.append(done.cancelled()))

    assert cancel(reactor, result) is True
    asyncthreads_sim.advance(2)

    assert calls == [True]


@pytest.mark.parametrize("cancel", CANCELLERS.values(), ids=CANCELLERS.keys())
def test_cancelling_a_pooled_call_frees_its_place_in_the_queue_count(
    asyncthreads_sim: Simulation, cancel: Callable[[Reactor, Result[Any]], bool]
) -> None:
    reactor = asyncthreads_sim.reactor(threads=0)
    results = [reactor.call_in_thread(lambda: None) for _ in range(3)]

    assert cancel(reactor, results[1]) is True

    assert reactor.thread_pool.queued_count == 2


def test_remaining_timers_still_fire_in_order_after_mass_cancellation(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    fired: list[int] = []
    results = [reactor.call_later(1.0 + i / 100, fired.append, i) for i in range(1_000)]
    for i, result in enumerate(results):
        if i % 10:
            result.cancel()

    sim.advance(20)

    assert fired == list(range(0, 1_000, 10))


def test_cancel_from_inside_a_reactor_call_stops_a_timer(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    ran: list[str] = []
    answers: list[bool] = []
    victim = reactor.call_later(2.0, ran.append, "victim")

    reactor.call_later(1.0, lambda: answers.append(reactor.cancel_scheduled(victim)))
    sim.advance(5)

    assert answers == [True]
    assert ran == []
    assert victim.cancelled()


def test_cancel_from_inside_a_reactor_call_stops_a_call_queued_behind_it(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    ran: list[str] = []
    holder: list[Result[Any]] = []
    answers: list[bool] = []

    reactor.call(lambda: answers.append(reactor.cancel_scheduled(holder[0])))
    holder.append(reactor.call(ran.append, "behind"))
    sim.run_until_idle()

    assert answers == [True]
    assert ran == []


def test_cancel_from_a_pool_task_stops_a_timer(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor(threads=2)
    ran: list[str] = []
    answers: list[bool] = []
    victim = reactor.call_later(2.0, ran.append, "victim")

    reactor.call_in_thread_later(1.0, lambda: answers.append(reactor.cancel_scheduled(victim)))
    sim.advance(5)

    assert answers == [True]
    assert ran == []


def test_cancelling_a_queued_call_in_thread_frees_its_place_in_a_bounded_queue(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(0, max_queue_size=1, name="bounded")
    reactor = reactor_on_pool(sim, pool)
    first = reactor.call_in_thread(lambda: "first")
    with pytest.raises(QueueFull):
        reactor.call_in_thread(lambda: "refused")

    assert first.cancel() is True
    second = reactor.call_in_thread(lambda: "second")

    assert pool.queued_count == 1
    pool.resize_pool(1)
    assert second.result() == "second"
    assert first.cancelled()


def test_result_q_receives_a_cancelled_timer(asyncthreads_sim: Simulation) -> None:
    reactor = asyncthreads_sim.reactor()
    results: queue.SimpleQueue[Result[Any]] = queue.SimpleQueue()
    result = reactor.call_later(1.0, lambda: None, result_q=results)

    result.cancel()

    assert results.get_nowait() is result
    assert results.empty()


def test_result_q_receives_a_cancelled_call_in_thread(asyncthreads_sim: Simulation) -> None:
    reactor = asyncthreads_sim.reactor(threads=0)
    results: queue.SimpleQueue[Result[Any]] = queue.SimpleQueue()
    result = reactor.call_in_thread(lambda: None, result_q=results)

    assert reactor.cancel_scheduled(result) is True

    assert results.get_nowait() is result
    assert result.cancelled()


def test_result_q_receives_results_cancelled_by_shutdown(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    results: queue.SimpleQueue[Result[Any]] = queue.SimpleQueue()
    timers = [reactor.call_later(float(i), lambda: None, result_q=results) for i in (1, 2)]

    reactor.shutdown()

    received = [results.get_nowait(), results.get_nowait()]
    assert {id(r) for r in received} == {id(t) for t in timers}
    assert all(r.cancelled() for r in received)


# -- every Result ends --------------------------------------------------------------------


def start_everything(sim: Simulation, reactor: Reactor) -> list[Result[Any]]:
    """A Result of every kind, in every stage a shutdown can meet it."""
    results: list[Result[Any]] = [
        reactor.call_later(1.0, lambda: "timer"),
        reactor.call_at(5.0, lambda: "far timer"),
        reactor.call_every(0.5, lambda: None),
        reactor.call_every(0.5, lambda: None, in_thread=True),
        reactor.call_in_thread_later(1.0, lambda: "later in thread"),
        reactor.call(lambda: defer_to_thread(lambda: "deferred")),
    ]
    sim.step()  # the deferring call runs; its continuation waits in the pool
    assert results[-1].running()
    results += [
        reactor.call(lambda: "queued"),
        reactor.call_in_thread(lambda: "queued in thread"),
    ]
    return results


def test_every_result_ends_after_reactor_shutdown(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor(threads=2)
    results = start_everything(sim, reactor)
    assert not any(r.done() for r in results)

    reactor.shutdown()

    assert all(r.done() for r in results)
    assert [r.cancelled() for r in results] == [True] * 5 + [False] * 3
    assert [r.result() for r in results[5:]] == ["deferred", "queued", "queued in thread"]


def test_every_result_ends_after_reactor_shutdown_cancelling_futures(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor(threads=2)
    results = start_everything(sim, reactor)

    reactor.shutdown(cancel_futures=True)

    assert all(r.done() for r in results)
    # The deferred call had started: it finishes. Everything else is cancelled.
    assert results[5].result() == "deferred"
    assert all(r.cancelled() for r in results if r is not results[5])


def test_every_result_ends_after_sim_close(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor(threads=2)
    bare_pool = sim.thread_pool(0, name="no-workers")
    results = [*start_everything(sim, reactor), bare_pool.queue_task(lambda: "never")]
    threads_before = threading.active_count()

    sim.close()

    assert all(r.done() for r in results)
    assert threading.active_count() == threads_before


def test_every_result_ends_after_shutdown_of_a_reactor_never_started(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor(start=False)
    results: list[Result[Any]] = [
        reactor.call(lambda: "queued"),
        reactor.call_later(1.0, lambda: "timer"),
        reactor.call_every(1.0, lambda: None),
    ]

    reactor.shutdown()

    assert all(r.cancelled() for r in results)


def test_calls_cancelled_while_the_reactor_is_busy_do_not_pile_up_in_its_queue(
    asyncthreads_sim: Simulation,
) -> None:
    reactor = asyncthreads_sim.reactor()

    # Nothing steps the simulation meanwhile: the reactor thread is as busy as can be.
    for _ in range(10_000):
        reactor.call(int).cancel()
    live = [reactor.call(int) for _ in range(10)]

    assert reactor.queued_count == 10
    assert len(reactor._queued_calls()) <= 200  # entries held, cancelled ones included
    asyncthreads_sim.run_until_idle()
    assert [r.result() for r in live] == [0] * 10
