"""A ``BaseException`` (``KeyboardInterrupt``, ``SystemExit``) from a done-callback does
not skip the later callbacks, nor leave pending the other Results a shutdown ends: it is
re-raised once they all have. An ``Exception`` from a callback is logged, as before."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pytest

from asyncthreads import Result
from asyncthreads.result import end_each
from asyncthreads.testing import Simulation


def interrupt(result: Future[Any]) -> None:
    raise KeyboardInterrupt


def exit_(result: Future[Any]) -> None:
    raise SystemExit(3)


def recorder(calls: list[str], name: str) -> Callable[[Future[Any]], None]:
    def record(result: Future[Any]) -> None:
        calls.append(name)

    return record


def test_a_keyboard_interrupt_from_a_done_callback_propagates_after_the_later_ones_ran(
    asyncthreads_sim: Simulation,
) -> None:
    result = Result[int](asyncthreads_sim.scheduler)
    calls: list[str] = []
    result.add_done_callback(recorder(calls, "first"))
    result.add_done_callback(interrupt)
    result.add_done_callback(recorder(calls, "last"))

    with pytest.raises(KeyboardInterrupt):
        result.set_result(1)

    assert calls == ["first", "last"]
    assert result.result() == 1


def test_the_first_base_exception_propagates_and_a_later_one_is_logged(
    asyncthreads_sim: Simulation, caplog: pytest.LogCaptureFixture
) -> None:
    result = Result[int](asyncthreads_sim.scheduler)
    result.add_done_callback(exit_)
    result.add_done_callback(interrupt)

    with caplog.at_level(logging.ERROR, logger="asyncthreads"), pytest.raises(SystemExit):
        result.cancel()

    assert result.cancelled()
    assert [r.exc_info[0] for r in caplog.records if r.exc_info] == [KeyboardInterrupt]


def test_a_done_callback_added_to_an_ended_result_propagates_its_interrupt(
    asyncthreads_sim: Simulation,
) -> None:
    result = Result[int](asyncthreads_sim.scheduler)
    result.set_result(1)

    with pytest.raises(KeyboardInterrupt):
        result.add_done_callback(interrupt)


def test_end_each_ends_every_result_then_raises_the_first_interrupt(
    asyncthreads_sim: Simulation,
) -> None:
    results = [Result[int](asyncthreads_sim.scheduler) for _ in range(3)]
    for result in results:
        result.add_done_callback(interrupt)

    with pytest.raises(KeyboardInterrupt):
        end_each(results, Result.cancel)

    assert all(result.cancelled() for result in results)


def test_pool_shutdown_cancels_every_queued_task_though_a_callback_interrupts(
    asyncthreads_sim: Simulation,
) -> None:
    pool = asyncthreads_sim.thread_pool(0)  # no worker: everything stays queued
    results = [pool.submit(int) for _ in range(3)]
    for result in results:
        result.add_done_callback(interrupt)

    with pytest.raises(KeyboardInterrupt):
        pool.shutdown(wait=True, cancel_futures=True)

    assert all(result.cancelled() for result in results)
    pool.shutdown(wait=True)  # a second shutdown returns


def test_reactor_shutdown_cancels_every_timer_though_a_callback_raises_system_exit(
    asyncthreads_sim: Simulation,
) -> None:
    reactor = asyncthreads_sim.reactor(1)
    timers = [reactor.call_later(10, int) for _ in range(3)]
    for timer in timers:
        timer.add_done_callback(exit_)

    with pytest.raises(SystemExit):
        reactor.shutdown(wait=True)

    assert all(timer.cancelled() for timer in timers)
    reactor.shutdown(wait=True)  # a second shutdown returns
    assert not reactor.is_running


def test_shutting_down_a_reactor_never_started_ends_every_call_though_a_callback_interrupts(
    asyncthreads_sim: Simulation,
) -> None:
    reactor = asyncthreads_sim.reactor(1, start=False)
    calls = [reactor.call(int) for _ in range(3)]
    for call in calls:
        call.add_done_callback(interrupt)

    with pytest.raises(KeyboardInterrupt):
        reactor.shutdown(wait=True)

    assert all(call.cancelled() for call in calls)
    reactor.shutdown(wait=True)  # a second shutdown returns
