"""Result is a concurrent.futures.Future: the standard library and asyncio accept it, on real
threads, and its own API (get_result, wait, traceback, ...) keeps Future semantics."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future
from typing import Any

import pytest

import asyncthreads
from asyncthreads import CancelledError, Result, ThreadPool

pytestmark = pytest.mark.timeout(30)


class Boom(Exception):
    pass


def fail() -> None:
    raise Boom("boom")


@pytest.fixture
def pool(gate: threading.Event) -> Iterator[ThreadPool]:
    """One worker, so a held worker leaves every later task queued."""
    pool = ThreadPool(1, name="interop")
    yield pool
    gate.set()
    pool.shutdown(wait=True)


def hold_worker(pool: ThreadPool, gate: threading.Event) -> Result[bool]:
    """Occupy the pool's only worker until ``gate`` is set; return once it is busy."""
    started = threading.Event()

    def hold() -> bool:
        started.set()
        return gate.wait(timeout=10)

    held = pool.submit(hold)
    assert started.wait(timeout=5)
    return held


# -- concurrent.futures --------------------------------------------------------------------


def test_a_result_is_a_concurrent_futures_future(pool: ThreadPool) -> None:
    assert isinstance(pool.submit(int), Future)


def test_cancelled_error_is_the_concurrent_futures_one() -> None:
    assert CancelledError is concurrent.futures.CancelledError


def test_wait_first_completed_returns_the_finished_result(
    pool: ThreadPool, gate: threading.Event
) -> None:
    finished = pool.submit(int)
    finished.result(timeout=5)
    held = hold_worker(pool, gate)

    futures: list[Future[Any]] = [held, finished]

    done, not_done = concurrent.futures.wait(futures, timeout=5, return_when=FIRST_COMPLETED)

    assert done == {finished}
    assert not_done == {held}


def test_wait_first_completed_wakes_when_a_result_finishes(
    pool: ThreadPool, gate: threading.Event
) -> None:
    held = hold_worker(pool, gate)
    queued = pool.submit(int)
    gate.set()

    done, _ = concurrent.futures.wait([queued], timeout=5, return_when=FIRST_COMPLETED)

    assert done == {queued}
    assert held.result(timeout=5) is True


def test_wait_all_completed_counts_a_result_cancelled_before_it_ran_as_done(
    pool: ThreadPool, gate: threading.Event
) -> None:
    finished = pool.submit(int)
    finished.result(timeout=5)
    hold_worker(pool, gate)
    cancelled = pool.submit(int)
    assert cancelled.cancel()

    done, not_done = concurrent.futures.wait(
        [finished, cancelled], timeout=5, return_when=ALL_COMPLETED
    )

    assert done == {finished, cancelled}
    assert not_done == set()


def test_wait_all_completed_waits_for_every_result(pool: ThreadPool) -> None:
    results = [pool.submit(pow, 2, n) for n in range(5)]

    done, not_done = concurrent.futures.wait(results, timeout=5, return_when=ALL_COMPLETED)

    assert done == set(results)
    assert not_done == set()


def test_wait_times_out_with_the_held_result_not_done(
    pool: ThreadPool, gate: threading.Event
) -> None:
    held = hold_worker(pool, gate)

    done, not_done = concurrent.futures.wait([held], timeout=0.01)

    assert done == set()
    assert not_done == {held}


def test_as_completed_yields_every_result_once(pool: ThreadPool, gate: threading.Event) -> None:
    running = [pool.submit(pow, 2, n) for n in range(5)]
    hold_worker(pool, gate)
    cancelled = pool.submit(int)
    cancelled.cancel()
    gate.set()
    futures: list[Future[Any]] = [*running, cancelled]

    yielded = list(concurrent.futures.as_completed(futures, timeout=5))

    assert sorted(map(id, yielded)) == sorted(map(id, futures))


def test_as_completed_yields_a_finished_result_before_a_held_one(
    pool: ThreadPool, gate: threading.Event
) -> None:
    finished = pool.submit(int)
    finished.result(timeout=5)
    held = hold_worker(pool, gate)
    futures: list[Future[Any]] = [held, finished]
    completed = concurrent.futures.as_completed(futures, timeout=5)

    assert next(completed) is finished
    gate.set()
    assert next(completed) is held


# -- asyncio -------------------------------------------------------------------------------


def test_await_on_a_wrapped_result_gives_its_value(pool: ThreadPool) -> None:
    result = pool.submit(pow, 2, 10)

    async def main() -> int:
        return await asyncio.wrap_future(result)

    assert asyncio.run(main()) == 1024


def test_await_on_a_wrapped_result_raises_its_exception(pool: ThreadPool) -> None:
    result = pool.submit(fail)

    async def main() -> None:
        await asyncio.wrap_future(result)

    with pytest.raises(Boom):
        asyncio.run(main())


def test_run_in_executor_runs_the_function_in_a_pool_thread(pool: ThreadPool) -> None:
    async def main() -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool, lambda: threading.current_thread().name)

    assert asyncio.run(main()).startswith("interop-")


def test_cancelling_the_awaiting_task_cancels_the_queued_result(
    pool: ThreadPool, gate: threading.Event
) -> None:
    hold_worker(pool, gate)
    ran = threading.Event()
    result = pool.submit(ran.set)

    async def main() -> None:
        async def await_result() -> None:
            await asyncio.wrap_future(result)

        task = asyncio.create_task(await_result())
        await asyncio.sleep(0)  # let the task start awaiting
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())

    assert result.cancelled()
    gate.set()
    pool.shutdown(wait=True)
    assert not ran.is_set()


# -- get_result / result / exception -------------------------------------------------------


def test_get_result_returns_the_return_value(pool: ThreadPool) -> None:
    assert pool.submit(pow, 3, 2).get_result(timeout=5) == 9


def test_result_is_get_result(pool: ThreadPool) -> None:
    result = pool.submit(pow, 3, 2)

    assert result.result(timeout=5) == result.get_result(timeout=5) == 9


def test_get_result_reraises_the_functions_exception(pool: ThreadPool) -> None:
    error = Boom("the original")

    def raise_it() -> None:
        raise error

    with pytest.raises(Boom) as caught:
        pool.submit(raise_it).get_result(timeout=5)
    assert caught.value is error


def test_get_result_raises_builtin_timeout_error_when_not_done_in_time(
    pool: ThreadPool, gate: threading.Event
) -> None:
    held = hold_worker(pool, gate)

    with pytest.raises(TimeoutError) as caught:
        held.get_result(timeout=0.01)
    assert type(caught.value) is TimeoutError


def test_get_result_raises_cancelled_error_for_a_cancelled_result(
    pool: ThreadPool, gate: threading.Event
) -> None:
    hold_worker(pool, gate)
    result = pool.submit(int)
    result.cancel()

    with pytest.raises(asyncthreads.CancelledError):
        result.get_result(timeout=5)


def test_exception_returns_the_functions_exception(pool: ThreadPool) -> None:
    assert isinstance(pool.submit(fail).exception(timeout=5), Boom)


def test_exception_is_none_when_the_function_returned(pool: ThreadPool) -> None:
    assert pool.submit(int).exception(timeout=5) is None


def test_exception_raises_cancelled_error_for_a_cancelled_result(
    pool: ThreadPool, gate: threading.Event
) -> None:
    hold_worker(pool, gate)
    result = pool.submit(int)
    result.cancel()

    with pytest.raises(CancelledError):
        result.exception(timeout=5)


def test_exception_raises_timeout_error_when_not_done_in_time(
    pool: ThreadPool, gate: threading.Event
) -> None:
    held = hold_worker(pool, gate)

    with pytest.raises(TimeoutError):
        held.exception(timeout=0.01)


# -- wait / traceback ----------------------------------------------------------------------


def test_wait_returns_false_when_not_done_in_time(pool: ThreadPool, gate: threading.Event) -> None:
    held = hold_worker(pool, gate)

    assert held.wait(timeout=0.01) is False


def test_wait_returns_true_once_done(pool: ThreadPool, gate: threading.Event) -> None:
    held = hold_worker(pool, gate)
    gate.set()

    assert held.wait(timeout=5) is True
    assert held.done()


def test_wait_returns_true_for_a_failed_result(pool: ThreadPool) -> None:
    assert pool.submit(fail).wait(timeout=5) is True


def test_traceback_names_the_exception_and_the_function(pool: ThreadPool) -> None:
    result = pool.submit(fail)
    result.wait(timeout=5)

    assert result.traceback is not None
    assert "Boom: boom" in result.traceback
    assert "in fail" in result.traceback


def test_traceback_is_none_when_the_function_returned(pool: ThreadPool) -> None:
    result = pool.submit(int)
    result.wait(timeout=5)

    assert result.traceback is None


# -- done / cancelled / running / cancel ---------------------------------------------------


def test_a_queued_result_is_neither_running_nor_done(
    pool: ThreadPool, gate: threading.Event
) -> None:
    hold_worker(pool, gate)
    queued = pool.submit(int)

    assert (queued.running(), queued.done(), queued.cancelled()) == (False, False, False)


def test_a_running_result_is_running_and_not_done(pool: ThreadPool, gate: threading.Event) -> None:
    held = hold_worker(pool, gate)

    assert (held.running(), held.done(), held.cancelled()) == (True, False, False)


def test_a_finished_result_is_done_and_not_running(pool: ThreadPool) -> None:
    result = pool.submit(int)
    result.wait(timeout=5)

    assert (result.running(), result.done(), result.cancelled()) == (False, True, False)


def test_a_failed_result_is_done_and_not_cancelled(pool: ThreadPool) -> None:
    result = pool.submit(fail)
    result.wait(timeout=5)

    assert (result.running(), result.done(), result.cancelled()) == (False, True, False)


def test_cancel_of_a_queued_result_makes_it_cancelled_and_done(
    pool: ThreadPool, gate: threading.Event
) -> None:
    hold_worker(pool, gate)
    queued = pool.submit(int)

    assert queued.cancel() is True
    assert (queued.running(), queued.done(), queued.cancelled()) == (False, True, True)


def test_cancel_of_a_cancelled_result_answers_true(pool: ThreadPool, gate: threading.Event) -> None:
    hold_worker(pool, gate)
    queued = pool.submit(int)
    queued.cancel()

    assert queued.cancel() is True


def test_cancel_of_a_running_result_answers_false_and_lets_it_finish(
    pool: ThreadPool, gate: threading.Event
) -> None:
    held = hold_worker(pool, gate)

    assert held.cancel() is False
    gate.set()
    assert held.get_result(timeout=5) is True


def test_cancel_of_a_finished_result_answers_false(pool: ThreadPool) -> None:
    result = pool.submit(int)
    result.wait(timeout=5)

    assert result.cancel() is False
    assert not result.cancelled()


def test_a_cancelled_task_never_runs(pool: ThreadPool, gate: threading.Event) -> None:
    hold_worker(pool, gate)
    ran = threading.Event()
    pool.submit(ran.set).cancel()
    gate.set()

    pool.shutdown(wait=True)

    assert not ran.is_set()


# -- done-callbacks ------------------------------------------------------------------------


def test_add_done_callback_on_a_done_result_calls_it_at_once_in_the_callers_thread(
    pool: ThreadPool,
) -> None:
    result = pool.submit(int)
    result.wait(timeout=5)
    calls: list[tuple[Future[int], threading.Thread]] = []

    result.add_done_callback(lambda r: calls.append((r, threading.current_thread())))

    assert calls == [(result, threading.current_thread())]


def test_add_done_callback_on_a_pending_result_calls_it_in_the_completing_thread(
    pool: ThreadPool, gate: threading.Event
) -> None:
    hold_worker(pool, gate)
    result = pool.submit(int)
    calls: queue.Queue[tuple[Future[int], str]] = queue.Queue()
    result.add_done_callback(lambda r: calls.put((r, threading.current_thread().name)))
    assert calls.empty()

    gate.set()

    called_with, thread_name = calls.get(timeout=5)
    assert called_with is result
    assert thread_name.startswith("interop-")


def test_a_done_callback_added_as_the_result_completes_runs_exactly_once() -> None:
    calls: list[Future[int]] = []  # list.append is atomic
    with ThreadPool(4, name="racing") as pool:
        results = [pool.submit(int) for _ in range(2000)]
        for result in results:
            result.add_done_callback(calls.append)

    assert sorted(map(id, calls)) == sorted(map(id, results))


def test_done_callbacks_run_when_a_result_is_cancelled(
    pool: ThreadPool, gate: threading.Event
) -> None:
    hold_worker(pool, gate)
    result = pool.submit(int)
    calls: list[Future[int]] = []
    result.add_done_callback(calls.append)

    result.cancel()

    assert calls == [result]


def test_a_raising_done_callback_is_logged_and_the_others_still_run(
    pool: ThreadPool, gate: threading.Event, caplog: pytest.LogCaptureFixture
) -> None:
    hold_worker(pool, gate)
    result = pool.submit(int)
    later: queue.Queue[Future[int]] = queue.Queue()

    def raising(_: Future[int]) -> None:
        raise Boom("from a done-callback")

    result.add_done_callback(raising)
    result.add_done_callback(later.put)
    with caplog.at_level(logging.ERROR, logger="asyncthreads"):
        gate.set()
        assert later.get(timeout=5) is result

    [record] = [r for r in caplog.records if r.name == "asyncthreads"]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], Boom)


def test_a_raising_done_callback_on_a_done_result_is_logged_not_raised(
    pool: ThreadPool, caplog: pytest.LogCaptureFixture
) -> None:
    result = pool.submit(int)
    result.wait(timeout=5)

    def raising(_: Future[int]) -> None:
        raise Boom("from a done-callback")

    with caplog.at_level(logging.ERROR, logger="asyncthreads"):
        result.add_done_callback(raising)

    assert [r.name for r in caplog.records] == ["asyncthreads"]
    assert result.result() == 0
