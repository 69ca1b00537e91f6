"""Specification of deferral on the simulation: ``defer_to_thread`` moves the rest of a
reactor call to a pool worker and ``defer`` moves it back onto the reactor queue; the
caller's original Result (its callback and result queue) receives the final outcome."""

from __future__ import annotations

import contextvars
import queue
from typing import Any

import pytest

from asyncthreads import Reactor, Result, defer, defer_to_thread
from asyncthreads.testing import Simulation

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


def where(sim: Simulation) -> str:
    """The name of the actor (reactor loop or pool worker) running the caller."""
    actor = sim.scheduler.current_actor()
    assert actor is not None
    return actor.name


def test_defer_to_thread_runs_the_rest_in_a_pool_worker(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor(threads=2)
    actors: list[str] = []

    def rest() -> None:
        actors.append(where(sim))

    def first_part() -> Any:
        actors.append(where(sim))
        return defer_to_thread(rest)

    reactor.call(first_part).result()

    assert actors[0] == reactor.name
    assert actors[1].startswith(f"{reactor.thread_pool.name}-")
    events = [(e.actor, e.outcome) for e in sim.trace]
    assert events == [(reactor.name, "deferred"), (actors[1], "returned")]


def test_original_result_receives_the_deferred_value(asyncthreads_sim: Simulation) -> None:
    reactor = asyncthreads_sim.reactor()

    def multiply(x: int, *, y: int) -> int:
        return x * y

    # Reactor.call's signature does not know about deferral: the Result is typed as the
    # first part's return value (a Deferral), so these tests annotate it as Result[Any].
    result: Result[Any] = reactor.call(lambda: defer_to_thread(multiply, 6, y=7))

    assert result.result() == 42


def test_result_is_running_between_the_two_parts(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    result: Result[Any] = reactor.call(lambda: defer_to_thread(lambda: "value"))
    assert not result.running()

    event = sim.step()

    assert event is not None
    assert event.outcome == "deferred"
    assert result.running()
    assert not result.done()
    sim.run_until_idle()
    assert result.result() == "value"


def test_cancel_of_a_deferred_result_returns_false(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    ran: list[str] = []
    result = reactor.call(lambda: defer_to_thread(ran.append, "rest"))
    sim.step()

    assert result.cancel() is False
    assert reactor.cancel_scheduled(result) is False
    sim.run_until_idle()

    assert ran == ["rest"]
    assert not result.cancelled()


def test_callback_runs_after_the_deferred_part_in_its_thread(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    events: list[tuple[str, str]] = []

    def rest() -> str:
        events.append(("rest", where(sim)))
        return "value"

    def first_part() -> Any:
        events.append(("first part", where(sim)))
        return defer_to_thread(rest)

    def callback(value: str) -> None:
        events.append((f"callback({value})", where(sim)))

    result = reactor.call(first_part, callback=callback)
    sim.run_until_idle()

    assert [what for what, _ in events] == ["first part", "rest", "callback(value)"]
    assert events[2][1] == events[1][1] != reactor.name
    assert result.result() == "value"


def test_callback_runs_before_the_result_completes(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    holder: list[Result[Any]] = []
    done_in_callback: list[bool] = []

    holder.append(
        reactor.call(
            lambda: defer_to_thread(lambda: "value"),
            callback=lambda _: done_in_callback.append(holder[0].done()),
        )
    )
    sim.run_until_idle()

    assert done_in_callback == [False]
    assert holder[0].done()


def test_result_q_receives_the_deferred_result_once(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    results: queue.SimpleQueue[Result[Any]] = queue.SimpleQueue()

    result: Result[Any] = reactor.call(
        lambda: defer_to_thread(lambda: defer(lambda: "value")), result_q=results
    )
    sim.step()  # deferred to the pool
    sim.step()  # deferred back to the reactor
    assert results.empty()
    sim.run_until_idle()

    assert results.get_nowait() is result
    assert results.empty()
    assert result.result() == "value"


def test_defer_from_a_pool_task_returns_to_the_reactor_behind_earlier_calls(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    order: list[str] = []
    deferred_part_ran_on: list[str] = []

    def deferred_part() -> None:
        order.append("deferred part")
        deferred_part_ran_on.append(where(sim))

    def in_pool() -> Any:
        order.append("pool part")
        reactor.call(order.append, "queued by the pool part")
        return defer(deferred_part)

    reactor.call_in_thread(in_pool)
    reactor.call(order.append, "queued first")
    reactor.call(order.append, "queued second")
    sim.run_until_idle()

    # Whatever the interleaving of the pool part with the reactor, every call was queued
    # before the deferral, so the deferred part comes last.
    assert sorted(order[:-1]) == [
        "pool part",
        "queued by the pool part",
        "queued first",
        "queued second",
    ]
    assert order[-1] == "deferred part"
    assert order.index("queued first") < order.index("queued second")
    assert deferred_part_ran_on == [reactor.name]


def test_defer_from_a_reactor_call_yields_to_calls_queued_meanwhile(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    order: list[str] = []

    def first_half() -> Any:
        order.append("first half")
        reactor.call(order.append, "queued during the first half")
        return defer(order.append, "second half")

    reactor.call(first_half)
    sim.run_until_idle()

    assert order == ["first half", "queued during the first half", "second half"]


def test_chain_reactor_to_pool_to_reactor(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    hops: list[tuple[str, str]] = []

    def on_reactor_again(value: int) -> int:
        hops.append(("reactor again", where(sim)))
        return value + 1

    def in_pool(value: int) -> Any:
        hops.append(("pool", where(sim)))
        return defer(on_reactor_again, value * 10)

    def on_reactor() -> Any:
        hops.append(("reactor", where(sim)))
        return defer_to_thread(in_pool, 4)

    result = reactor.call(on_reactor)

    assert result.result() == 41
    assert [step for step, _ in hops] == ["reactor", "pool", "reactor again"]
    assert hops[0][1] == hops[2][1] == reactor.name
    assert hops[1][1].startswith(f"{reactor.thread_pool.name}-")
    assert [e.outcome for e in sim.trace] == ["deferred", "deferred", "returned"]


def test_trace_names_each_part_after_the_function_that_ran(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()

    def rest() -> str:
        return "value"

    def first_part() -> Any:
        return defer_to_thread(rest)

    reactor.call(first_part).result()

    assert [(e.what.rsplit(".", 1)[-1], e.outcome) for e in sim.trace] == [
        ("first_part", "deferred"),
        ("rest", "returned"),
    ]


def test_exception_in_the_deferred_part_fails_the_original_result(
    asyncthreads_sim: Simulation,
) -> None:
    reactor = asyncthreads_sim.reactor()

    def rest() -> None:
        raise LookupError("in the pool")

    result = reactor.call(lambda: defer_to_thread(rest))

    with pytest.raises(LookupError, match="in the pool"):
        result.result()
    assert result.traceback is not None
    assert "rest" in result.traceback


def test_exception_in_the_callback_after_a_deferral_fails_the_original_result(
    asyncthreads_sim: Simulation,
) -> None:
    reactor = asyncthreads_sim.reactor()

    def first_part() -> Any:
        return defer_to_thread(lambda: "value")

    def callback(value: str) -> None:
        raise ValueError(f"rejected {value}")

    result = reactor.call(first_part, callback=callback)

    with pytest.raises(ValueError, match="rejected value"):
        result.result()


def test_defer_from_a_task_queued_directly_on_a_pool_fails_with_runtime_error(
    asyncthreads_sim: Simulation,
) -> None:
    pool = asyncthreads_sim.thread_pool(1, name="bare")
    ran: list[str] = []

    result: Result[Any] = pool.queue_task(lambda: defer(ran.append, "never"))

    with pytest.raises(RuntimeError, match="needs a Reactor"):
        result.result()
    assert ran == []


def test_defer_to_thread_from_a_task_queued_directly_on_a_pool_runs_in_that_pool(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(2, name="bare")

    result: Result[Any] = pool.queue_task(lambda: defer_to_thread(lambda: where(sim)))

    assert result.result().startswith("bare-")


def test_deferral_into_a_pool_that_has_shut_down_fails_with_runtime_error(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(1, name="closed")
    reactor = Reactor(pool, name="reactor")
    reactor.start()
    pool.shutdown()  # returns once its worker has exited
    ran: list[str] = []

    result = reactor.call(lambda: defer_to_thread(ran.append, "never"))

    with pytest.raises(RuntimeError, match="shut down"):
        result.result()
    assert ran == []
    reactor.shutdown()


def test_deferral_is_never_refused_by_a_full_pool_queue(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(0, max_queue_size=1, name="full")
    reactor = Reactor(pool, name="reactor")
    reactor.start()
    reactor.call_in_thread(lambda: "fills the queue")

    result: Result[Any] = reactor.call(lambda: defer_to_thread(lambda: "deferred"))
    sim.run_until_idle()
    assert result.running()
    assert pool.queued_count == 2

    pool.resize_pool(1)
    assert result.result() == "deferred"
    reactor.shutdown()


def test_deferred_part_sees_the_context_as_it_was_when_defer_to_thread_was_called(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    seen: list[tuple[str, str]] = []

    def rest() -> None:
        seen.append(("rest", request_id.get()))

    def first_part() -> Any:
        seen.append(("first part", request_id.get()))
        request_id.set("set before defer_to_thread")
        deferral = defer_to_thread(rest)
        request_id.set("set after defer_to_thread")
        return deferral

    token = request_id.set("queued")
    try:
        reactor.call(first_part)
    finally:
        request_id.reset(token)
    sim.run_until_idle()

    assert seen == [("first part", "queued"), ("rest", "set before defer_to_thread")]


def test_context_changes_in_the_deferred_part_do_not_leak_back(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    seen: list[str] = []

    def back_on_reactor() -> None:
        seen.append(request_id.get())

    def rest() -> Any:
        deferral = defer(back_on_reactor)
        request_id.set("changed in the pool after defer")
        return deferral

    def first_part() -> Any:
        request_id.set("first part")
        return defer_to_thread(rest)

    reactor.call(first_part)
    reactor.call(lambda: seen.append(request_id.get()))
    sim.run_until_idle()

    assert seen == ["unset", "first part"]
