"""A full bounded ``result_q`` never blocks the thread that completes the Result: the
Result goes in with ``put_nowait``; if the queue is full the overflow is logged, naming
the call, and the Result still ends. Real threads: the blocking ``put`` wedged them."""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

import pytest

from asyncthreads import Reactor, Result, ThreadPool

pytestmark = pytest.mark.timeout(30)


def make_report() -> str:
    return "report"


@pytest.fixture
def full_queue() -> queue.Queue[Any]:
    full: queue.Queue[Any] = queue.Queue(maxsize=1)
    full.put("already there")
    return full


def test_a_pool_task_whose_result_q_is_full_still_ends_and_the_pool_runs_on(
    full_queue: queue.Queue[Any], caplog: pytest.LogCaptureFixture
) -> None:
    with ThreadPool(1, name="pool") as pool, caplog.at_level(logging.ERROR, "asyncthreads"):
        overflowed = pool.queue_task(make_report, result_q=full_queue)

        assert overflowed.result(timeout=10) == "report"
        assert pool.submit(int, "5").result(timeout=10) == 5  # the worker is not wedged

    assert full_queue.qsize() == 1
    assert "result_q is full" in caplog.text
    assert "make_report" in caplog.text


def test_a_reactor_call_whose_result_q_is_full_still_ends_and_the_reactor_runs_on(
    full_queue: queue.Queue[Any], caplog: pytest.LogCaptureFixture
) -> None:
    with Reactor(name="reactor") as reactor, caplog.at_level(logging.ERROR, "asyncthreads"):
        overflowed = reactor.call(make_report, result_q=full_queue)

        assert overflowed.result(timeout=10) == "report"
        assert reactor.call(int, "5").result(timeout=10) == 5  # the loop is not wedged

    assert "result_q is full" in caplog.text
    assert "make_report" in caplog.text


def test_a_result_q_with_room_receives_the_result() -> None:
    room: queue.Queue[Result[Any]] = queue.Queue(maxsize=1)
    with ThreadPool(1, name="pool") as pool:
        delivered = pool.queue_task(make_report, result_q=room)

        assert room.get(timeout=10) is delivered


def test_a_result_q_with_put_only_receives_the_result_by_put() -> None:
    received: list[Result[Any]] = []
    put_called = threading.Event()

    class PutOnly:
        def put(self, result: Result[Any]) -> None:
            received.append(result)
            put_called.set()

    with ThreadPool(1, name="pool") as pool:
        delivered = pool.queue_task(make_report, result_q=PutOnly())
        assert put_called.wait(timeout=10)

    assert received == [delivered]
