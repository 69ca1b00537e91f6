"""A Result that fails and is collected without its exception ever being retrieved logs
it once, at ERROR, with its traceback (as asyncio's "exception was never retrieved").
``result()``, ``get_result()``, ``exception()`` and ``traceback`` retrieve it.

These tests use plain Results on a ThreadScheduler and the simulation without the
plugin's check (which would fail the test for the very thing they provoke)."""

from __future__ import annotations

import gc
import logging
import queue
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from asyncthreads import Result, ThreadScheduler
from asyncthreads.testing import Simulation

pytestmark = pytest.mark.timeout(30)


class Boom(Exception):
    pass


def fail_loudly() -> None:
    raise Boom("loud")


@pytest.fixture
def never_retrieved(caplog: pytest.LogCaptureFixture) -> Callable[[], list[logging.LogRecord]]:
    """After a garbage collection, the "never retrieved" records logged so far."""
    gc.collect()  # earlier tests' garbage is reported now, in this test's setup
    caplog.set_level(logging.ERROR, logger="asyncthreads")

    def records() -> list[logging.LogRecord]:
        gc.collect()
        return [r for r in caplog.records if getattr(r, "asyncthreads_unretrieved", False)]

    return records


Records = Callable[[], list[logging.LogRecord]]


def read_result(result: Result[None]) -> None:
    with pytest.raises(Boom):
        result.result()


def read_get_result(result: Result[None]) -> None:
    with pytest.raises(Boom):
        result.get_result()


@pytest.fixture
def sim() -> Iterator[Simulation]:
    with Simulation() as simulation:
        yield simulation


def failed_result() -> Result[None]:
    result = Result[None](ThreadScheduler())
    try:
        fail_loudly()
    except Boom as exc:
        result.set_exception(exc)
    return result


def test_a_failed_result_collected_unread_logs_its_exception_once_with_its_traceback(
    never_retrieved: Records, caplog: pytest.LogCaptureFixture
) -> None:
    result = failed_result()
    address = f"{id(result):#x}"
    del result

    # (Only its own records: the collection may find other tests' garbage too.)
    records = [r for r in never_retrieved() if address in r.getMessage()]
    assert len(records) == 1
    record = records[0]
    assert record.levelno == logging.ERROR
    assert "never retrieved" in record.getMessage()
    assert record.exc_info is not None
    assert record.exc_info[0] is Boom
    assert "fail_loudly" in caplog.text  # the traceback
    assert [r for r in caplog.records if address in r.getMessage()] == [record]  # once


@pytest.mark.parametrize(
    "read",
    [
        read_result,
        read_get_result,
        lambda r: r.exception(),
        lambda r: r.traceback,
    ],
    ids=["result", "get_result", "exception", "traceback"],
)
def test_a_failure_read_once_is_not_logged(
    never_retrieved: Records, read: Callable[[Result[None]], object]
) -> None:
    result = failed_result()
    read(result)
    del result

    assert never_retrieved() == []


def test_a_result_that_returned_logs_nothing(never_retrieved: Records) -> None:
    result = Result[int](ThreadScheduler())
    result.set_result(1)
    del result

    assert never_retrieved() == []


def test_a_done_callback_that_does_not_read_the_exception_does_not_retrieve_it(
    never_retrieved: Records,
) -> None:
    result = Result[None](ThreadScheduler())
    seen: list[bool] = []
    result.add_done_callback(lambda r: seen.append(r.done()))
    result.set_exception(Boom())
    del result

    assert seen == [True]
    assert len(never_retrieved()) == 1


def test_a_task_that_raised_is_reported_by_its_function_name(
    sim: Simulation, never_retrieved: Records
) -> None:
    pool = sim.thread_pool(1)
    pool.submit(fail_loudly).wait()
    sim.run_until_idle()
    sim.scheduler.unretrieved.clear()  # the simulation keeps them for the pytest plugin

    assert len(never_retrieved()) == 1
    assert "fail_loudly" in never_retrieved()[0].getMessage()


def test_a_result_delivered_to_a_result_q_and_read_from_it_is_retrieved(
    sim: Simulation, never_retrieved: Records
) -> None:
    pool = sim.thread_pool(1)
    results: queue.SimpleQueue[Result[Any]] = queue.SimpleQueue()
    pool.queue_task(fail_loudly, result_q=results)
    sim.run_until_idle()

    assert isinstance(results.get_nowait().exception(), Boom)
    sim.scheduler.unretrieved.clear()
    assert never_retrieved() == []


def test_a_second_set_exception_refused_reports_nothing(
    never_retrieved: Records,
) -> None:
    result = failed_result()
    with pytest.raises(Exception, match="FINISHED"):
        result.set_exception(Boom("again"))
    result.exception()
    del result

    assert never_retrieved() == []


def test_a_periodic_task_that_stopped_on_an_exception_is_logged_once(
    sim: Simulation, never_retrieved: Records, caplog: pytest.LogCaptureFixture
) -> None:
    reactor = sim.reactor(1)
    periodic = reactor.call_every(1.0, fail_loudly)
    sim.advance(1.0)
    assert periodic.done()
    del periodic
    sim.scheduler.unretrieved.clear()

    assert never_retrieved() == []  # its own "periodic task ... stopped" record says it
    assert [r.getMessage() for r in caplog.records if "stopped" in r.getMessage()] == [
        "periodic task fail_loudly stopped: it raised Boom('loud')"
    ]


def test_a_periodic_task_cancelled_during_a_run_that_raises_ends_cancelled(
    sim: Simulation, never_retrieved: Records
) -> None:
    reactor = sim.reactor(1)
    periodic: list[Result[None]] = []

    def cancel_then_fail() -> None:
        periodic[0].cancel()
        raise Boom("after the cancel")

    periodic.append(reactor.call_every(1.0, cancel_then_fail))
    sim.advance(1.0)

    assert periodic[0].cancelled()
    periodic.clear()
    assert never_retrieved() == []


def test_a_task_ended_by_closing_its_simulation_is_not_reported_unretrieved() -> None:
    sim = Simulation()
    with sim, sim.patched():
        items: queue.Queue[int] = queue.Queue()
        pool = sim.thread_pool(1)
        pool.submit(items.get)  # blocks for ever; close() ends it with GreenletExit
        sim.run_until_idle()

    (report,) = sim.scheduler.unretrieved
    assert report.exception is None  # counted as retrieved: nothing will be logged
