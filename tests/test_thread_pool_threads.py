"""ThreadPool on real OS threads: concurrency, the bounded queue, resizing, the Executor
protocol, callbacks and result queues, worker survival, shutdown and contextvars."""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Iterator

import pytest

from asyncthreads import QueueFull, Result, ThreadPool

pytestmark = pytest.mark.timeout(30)

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


class Boom(Exception):
    pass


@pytest.fixture
def make_pool(gate: threading.Event) -> Iterator[Callable[..., ThreadPool]]:
    """Make ThreadPools that are released and shut down after the test."""
    pools: list[ThreadPool] = []

    def make(num_threads: int, max_queue_size: int = 0, *, name: str = "tp") -> ThreadPool:
        pool = ThreadPool(num_threads, max_queue_size, name=name)
        pools.append(pool)
        return pool

    yield make
    gate.set()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


def hold_workers(pool: ThreadPool, gate: threading.Event, count: int) -> list[Result[bool]]:
    """Occupy ``count`` workers until ``gate`` is set; return once they are all busy."""
    started: queue.Queue[None] = queue.Queue()

    def hold() -> bool:
        started.put(None)
        return gate.wait(timeout=10)

    held = [pool.submit(hold) for _ in range(count)]
    for _ in range(count):
        started.get(timeout=5)
    return held


def live_threads(prefix: str) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(prefix)]


def wait_until(predicate: Callable[[], bool], timeout: float = 5) -> bool:
    """Poll for a state no event announces (a worker becoming idle or exiting)."""
    ticker = threading.Event()
    for _ in range(int(timeout / 0.002)):
        if predicate():
            return True
        ticker.wait(0.002)
    return predicate()


# -- concurrency ---------------------------------------------------------------------------


def test_n_workers_run_n_tasks_at_once(make_pool: Callable[..., ThreadPool]) -> None:
    pool = make_pool(4)
    barrier = threading.Barrier(4, timeout=5)

    results = [pool.submit(barrier.wait) for _ in range(4)]

    assert sorted(r.get_result(timeout=5) for r in results) == [0, 1, 2, 3]


def test_tasks_start_in_the_order_queued(
    make_pool: Callable[..., ThreadPool], gate: threading.Event
) -> None:
    pool = make_pool(1)
    hold_workers(pool, gate, 1)
    started: list[int] = []
    results = [pool.submit(started.append, n) for n in range(20)]
    gate.set()

    for result in results:
        result.wait(timeout=5)

    assert started == list(range(20))


# -- bounded queue -------------------------------------------------------------------------


def test_a_full_queue_raises_queue_full_at_once(
    make_pool: Callable[..., ThreadPool], gate: threading.Event
) -> None:
    pool = make_pool(1, max_queue_size=2)
    hold_workers(pool, gate, 1)
    pool.submit(int)
    pool.submit(int)

    with pytest.raises(QueueFull):
        pool.queue_task(int)


def test_a_task_refused_by_a_full_queue_never_runs(
    make_pool: Callable[..., ThreadPool], gate: threading.Event
) -> None:
    pool = make_pool(1, max_queue_size=1)
    hold_workers(pool, gate, 1)
    queued = pool.submit(int)
    refused = threading.Event()

    with pytest.raises(QueueFull):
        pool.submit(refused.set)

    assert pool.queued_count == 1
    gate.set()
    pool.shutdown(wait=True)
    assert queued.done()
    assert not refused.is_set()


def test_a_cancelled_queued_task_frees_its_place(
    make_pool: Callable[..., ThreadPool], gate: threading.Event
) -> None:
    pool = make_pool(1, max_queue_size=2)
    hold_workers(pool, gate, 1)
    first = pool.submit(int)
    pool.submit(int)

    first.cancel()
    replacement = pool.submit(pow, 2, 3)

    assert pool.queued_count == 2
    gate.set()
    assert replacement.get_result(timeout=5) == 8


def test_a_task_cancelled_while_workers_race_for_it_never_runs(
    make_pool: Callable[..., ThreadPool],
) -> None:
    pool = make_pool(0)
    ran: set[int] = set()
    results = [pool.submit(ran.add, n) for n in range(2000)]
    pool.resize_pool(4)  # the workers now race the cancellations below over the queue
    cancelled = {n for n, result in enumerate(results) if n % 2 and result.cancel()}

    pool.shutdown(wait=True)

    assert ran.isdisjoint(cancelled)
    assert ran | cancelled == set(range(2000))
    assert {n for n, result in enumerate(results) if result.cancelled()} == cancelled
    assert pool.queued_count == 0


# -- zero threads and resizing -------------------------------------------------------------


def test_a_pool_with_zero_threads_holds_tasks_until_resized(
    make_pool: Callable[..., ThreadPool],
) -> None:
    pool = make_pool(0)
    results = [pool.submit(pow, 2, n) for n in range(3)]
    assert pool.queued_count == 3
    assert not any(r.done() for r in results)

    pool.resize_pool(2)

    assert [r.get_result(timeout=5) for r in results] == [1, 2, 4]


def test_a_pool_with_zero_threads_cancels_queued_tasks_at_shutdown(
    make_pool: Callable[..., ThreadPool],
) -> None:
    pool = make_pool(0)
    result = pool.submit(int)

    pool.shutdown(wait=True)

    assert result.cancelled()


def test_resize_pool_from_another_thread_grows_the_pool_while_tasks_run(
    make_pool: Callable[..., ThreadPool],
) -> None:
    pool = make_pool(1)
    barrier = threading.Barrier(3, timeout=5)
    results = [pool.submit(barrier.wait) for _ in range(3)]

    resizer = threading.Thread(target=pool.resize_pool, args=(3,))
    resizer.start()
    resizer.join(timeout=5)

    assert sorted(r.get_result(timeout=5) for r in results) == [0, 1, 2]
    assert pool.thread_count == 3


def test_resize_pool_from_another_thread_shrinks_the_pool_while_tasks_run(
    make_pool: Callable[..., ThreadPool], gate: threading.Event
) -> None:
    pool = make_pool(3, name="shrinking")
    held = hold_workers(pool, gate, 3)

    resizer = threading.Thread(target=pool.resize_pool, args=(1,))
    resizer.start()
    resizer.join(timeout=5)
    assert pool.thread_count == 1
    gate.set()

    assert [r.get_result(timeout=5) for r in held] == [True, True, True]
    assert wait_until(lambda: len(live_threads("shrinking-")) == 1)


def test_shrinking_never_interrupts_a_running_task(
    make_pool: Callable[..., ThreadPool], gate: threading.Event
) -> None:
    pool = make_pool(2)
    held = hold_workers(pool, gate, 2)

    pool.resize_pool(0)
    gate.set()

    assert [r.get_result(timeout=5) for r in held] == [True, True]


def test_shrinking_retires_idle_workers(make_pool: Callable[..., ThreadPool]) -> None:
    pool = make_pool(3, name="idle-shrink")
    assert wait_until(lambda: pool.idle_count == 3)

    pool.resize_pool(1)

    assert wait_until(lambda: len(live_threads("idle-shrink-")) == 1)
    assert pool.submit(pow, 2, 5).get_result(timeout=5) == 32


def test_concurrent_resizes_settle_on_the_last_size(
    make_pool: Callable[..., ThreadPool],
) -> None:
    pool = make_pool(2, name="churning")
    start = threading.Barrier(4, timeout=5)

    def churn(sizes: list[int]) -> None:
        start.wait()
        for size in sizes * 50:
            pool.resize_pool(size)

    resizers = [
        threading.Thread(target=churn, args=(sizes,)) for sizes in ([0, 5], [3, 1], [4, 0], [2, 6])
    ]
    for resizer in resizers:
        resizer.start()
    for resizer in resizers:
        resizer.join(timeout=10)
    pool.resize_pool(3)

    assert wait_until(lambda: len(live_threads("churning-")) == 3 and pool.idle_count == 3)
    barrier = threading.Barrier(3, timeout=5)
    results = [pool.submit(barrier.wait) for _ in range(3)]
    assert sorted(r.get_result(timeout=5) for r in results) == [0, 1, 2]


# -- introspection -------------------------------------------------------------------------


def test_worker_threads_are_named_after_the_pool(make_pool: Callable[..., ThreadPool]) -> None:
    pool = make_pool(2, name="named")
    barrier = threading.Barrier(2, timeout=5)

    def name_at_barrier() -> str:
        barrier.wait()
        return threading.current_thread().name

    results = [pool.submit(name_at_barrier) for _ in range(2)]

    names = [r.get_result(timeout=5) for r in results]
    assert all(name.startswith("named-") for name in names)
    assert len(set(names)) == 2


def test_thread_count_is_the_pool_size(make_pool: Callable[..., ThreadPool]) -> None:
    pool = make_pool(3)
    assert pool.thread_count == 3

    pool.resize_pool(5)
    assert pool.thread_count == 5

    pool.resize_pool(2)
    assert pool.thread_count == 2


def test_idle_count_counts_workers_waiting_for_a_task(
    make_pool: Callable[..., ThreadPool], gate: threading.Event
) -> None:
    pool = make_pool(3)
    assert wait_until(lambda: pool.idle_count == 3)

    hold_workers(pool, gate, 2)

    assert pool.idle_count == 1


def test_queued_count_counts_tasks_waiting_to_start(
    make_pool: Callable[..., ThreadPool], gate: threading.Event
) -> None:
    pool = make_pool(1)
    hold_workers(pool, gate, 1)
    first = pool.submit(int)
    pool.submit(int)
    assert pool.queued_count == 2

    first.cancel()

    assert pool.queued_count == 1


# -- the Executor protocol -----------------------------------------------------------------


def test_submit_returns_a_result_with_the_return_value(
    make_pool: Callable[..., ThreadPool],
) -> None:
    pool = make_pool(1)

    assert pool.submit(divmod, 7, 2).result(timeout=5) == (3, 1)


def test_submit_passes_every_keyword_to_the_function(
    make_pool: Callable[..., ThreadPool],
) -> None:
    pool = make_pool(1)

    result = pool.submit(dict, callback="c", result_q="q", name="n")

    assert result.result(timeout=5) == {"callback": "c", "result_q": "q", "name": "n"}


def test_map_returns_results_in_input_order(make_pool: Callable[..., ThreadPool]) -> None:
    pool = make_pool(3)

    assert list(pool.map(abs, range(-5, 5), timeout=5)) == [5, 4, 3, 2, 1, 0, 1, 2, 3, 4]


def test_map_takes_multiple_iterables(make_pool: Callable[..., ThreadPool]) -> None:
    pool = make_pool(2)

    assert list(pool.map(pow, [2, 3, 10], [5, 2, 3], timeout=5)) == [32, 9, 1000]


def test_shutdown_runs_queued_tasks_and_waits_for_them(
    make_pool: Callable[..., ThreadPool], gate: threading.Event
) -> None:
    pool = make_pool(1)
    held = hold_workers(pool, gate, 1)
    queued = [pool.submit(pow, 2, n) for n in range(3)]

    pool.shutdown(wait=False)
    gate.set()
    pool.shutdown(wait=True)

    assert all(r.done() for r in [*held, *queued])
    assert [r.result() for r in queued] == [1, 2, 4]


def test_shutdown_with_cancel_futures_cancels_queued_tasks(
    make_pool: Callable[..., ThreadPool], gate: threading.Event
) -> None:
    pool = make_pool(1)
    [held] = hold_workers(pool, gate, 1)
    queued = [pool.submit(int) for _ in range(3)]

    pool.shutdown(wait=False, cancel_futures=True)

    assert all(r.cancelled() for r in queued)
    gate.set()
    assert held.get_result(timeout=5) is True


def test_the_context_manager_shuts_the_pool_down_after_its_tasks(
    make_pool: Callable[..., ThreadPool],
) -> None:
    with make_pool(2) as pool:
        results = [pool.submit(pow, 2, n) for n in range(10)]

    assert pool.is_shutdown
    assert all(r.done() for r in results)


def test_submit_after_shutdown_raises_runtime_error(
    make_pool: Callable[..., ThreadPool],
) -> None:
    pool = make_pool(1)
    pool.shutdown(wait=True)

    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(int)


def test_queue_task_after_shutdown_raises_runtime_error(
    make_pool: Callable[..., ThreadPool],
) -> None:
    pool = make_pool(1)
    pool.shutdown(wait=True)

    with pytest.raises(RuntimeError, match="shut down"):
        pool.queue_task(int)


def test_resize_pool_after_shutdown_raises_runtime_error(
    make_pool: Callable[..., ThreadPool],
) -> None:
    pool = make_pool(1)
    pool.shutdown(wait=True)

    with pytest.raises(RuntimeError, match="shut down"):
        pool.resize_pool(2)


def test_tasks_submitted_while_the_pool_shuts_down_are_refused_or_end(
    make_pool: Callable[..., ThreadPool],
) -> None:
    pool = make_pool(2)
    accepted: queue.Queue[Result[int]] = queue.Queue()
    start = threading.Barrier(4, timeout=5)

    def submit_until_refused() -> None:
        start.wait()
        while True:
            try:
                accepted.put(pool.submit(int))
            except RuntimeError:
                return

    submitters = [threading.Thread(target=submit_until_refused) for _ in range(3)]
    for submitter in submitters:
        submitter.start()
    start.wait()
    accepted.get(timeout=5)  # submissions are under way
    pool.shutdown(wait=True)
    for submitter in submitters:
        submitter.join(timeout=5)

    assert not any(submitter.is_alive() for submitter in submitters)
    assert all(accepted.get_nowait().done() for _ in range(accepted.qsize()))


def test_no_pool_thread_is_alive_after_shutdown_with_wait(
    make_pool: Callable[..., ThreadPool],
) -> None:
    pool = make_pool(4, name="leaving")
    barrier = threading.Barrier(4, timeout=5)
    for _ in range(4):
        pool.submit(barrier.wait)
    assert len(live_threads("leaving-")) == 4

    pool.shutdown(wait=True)

    assert live_threads("leaving-") == []


# -- queue_task: arguments, callback and result_q ------------------------------------------


def test_queue_task_passes_positional_and_keyword_arguments(
    make_pool: Callable[..., ThreadPool],
) -> None:
    pool = make_pool(1)

    result = pool.queue_task(int, "ff", base=16)

    assert result.get_result(timeout=5) == 255


def test_the_callback_gets_the_return_value(make_pool: Callable[..., ThreadPool]) -> None:
    pool = make_pool(1)
    got: list[int] = []

    pool.queue_task(pow, 2, 8, callback=got.append).wait(timeout=5)

    assert got == [256]


def test_the_callback_runs_in_the_worker_thread_before_the_result_completes(
    make_pool: Callable[..., ThreadPool], gate: threading.Event
) -> None:
    pool = make_pool(1, name="calling-back")
    hold_workers(pool, gate, 1)
    seen: list[tuple[str, bool]] = []
    holder: list[Result[int]] = []

    def callback(_: int) -> None:
        seen.append((threading.current_thread().name, holder[0].done()))

    holder.append(pool.queue_task(int, callback=callback))
    gate.set()
    holder[0].wait(timeout=5)

    [(thread_name, done_during_callback)] = seen
    assert thread_name.startswith("calling-back-")
    assert done_during_callback is False


def test_a_raising_callback_becomes_the_results_exception(
    make_pool: Callable[..., ThreadPool],
) -> None:
    pool = make_pool(1)

    def callback(value: int) -> None:
        raise Boom(f"callback got {value}")

    result = pool.queue_task(pow, 2, 2, callback=callback)

    with pytest.raises(Boom, match="callback got 4"):
        result.get_result(timeout=5)


def test_result_q_gets_every_result_however_it_ended(
    make_pool: Callable[..., ThreadPool], gate: threading.Event
) -> None:
    pool = make_pool(1)
    hold_workers(pool, gate, 1)
    results_q: queue.Queue[Result[object]] = queue.Queue()

    def fail() -> None:
        raise Boom

    finished = pool.queue_task(int, result_q=results_q)
    failed = pool.queue_task(fail, result_q=results_q)
    cancelled = pool.queue_task(int, result_q=results_q)
    cancelled.cancel()
    gate.set()

    arrived = [results_q.get(timeout=5) for _ in range(3)]
    assert sorted(map(id, arrived)) == sorted(map(id, [finished, failed, cancelled]))
    assert finished.result() == 0
    assert isinstance(failed.exception(), Boom)
    assert cancelled.cancelled()


def test_result_q_gets_the_result_after_the_callback_ran(
    make_pool: Callable[..., ThreadPool],
) -> None:
    pool = make_pool(1)
    results_q: queue.Queue[Result[int]] = queue.Queue()
    calls: list[int] = []

    result = pool.queue_task(pow, 3, 3, callback=calls.append, result_q=results_q)

    assert results_q.get(timeout=5) is result
    assert calls == [27]


# -- robustness ----------------------------------------------------------------------------


def test_a_raising_task_does_not_kill_its_worker(make_pool: Callable[..., ThreadPool]) -> None:
    pool = make_pool(1)
    failing_thread: list[int] = []

    def fail() -> None:
        failing_thread.append(threading.get_ident())
        raise Boom

    failed = pool.submit(fail)
    after = pool.submit(threading.get_ident)

    assert isinstance(failed.exception(timeout=5), Boom)
    assert after.get_result(timeout=5) == failing_thread[0]


def test_a_task_raising_system_exit_does_not_kill_its_worker(
    make_pool: Callable[..., ThreadPool],
) -> None:
    pool = make_pool(1)

    def leave() -> None:
        raise SystemExit(3)

    failed = pool.submit(leave)
    after = pool.submit(pow, 2, 4)

    assert isinstance(failed.exception(timeout=5), SystemExit)
    assert after.get_result(timeout=5) == 16


# -- contextvars ---------------------------------------------------------------------------


def test_a_task_sees_context_variables_set_by_the_submitting_thread(
    make_pool: Callable[..., ThreadPool],
) -> None:
    pool = make_pool(1)
    submitted: queue.Queue[Result[str]] = queue.Queue()

    def submit_from_another_thread() -> None:
        request_id.set("from-submitter")
        submitted.put(pool.submit(request_id.get))

    submitter = threading.Thread(target=submit_from_another_thread)
    submitter.start()
    submitter.join(timeout=5)

    assert submitted.get(timeout=5).get_result(timeout=5) == "from-submitter"


def test_a_task_sees_the_value_current_when_it_was_queued(
    make_pool: Callable[..., ThreadPool], gate: threading.Event
) -> None:
    pool = make_pool(1)
    hold_workers(pool, gate, 1)
    token = request_id.set("first")
    try:
        first = pool.submit(request_id.get)
        request_id.set("second")
        second = pool.submit(request_id.get)
    finally:
        request_id.reset(token)
    gate.set()

    assert first.get_result(timeout=5) == "first"
    assert second.get_result(timeout=5) == "second"


def test_a_change_made_inside_a_task_does_not_leak_back(
    make_pool: Callable[..., ThreadPool],
) -> None:
    pool = make_pool(1)

    def change() -> str:
        request_id.set("changed-in-task")
        return request_id.get()

    assert pool.submit(change).get_result(timeout=5) == "changed-in-task"
    assert request_id.get() == "none"
    assert pool.submit(request_id.get).get_result(timeout=5) == "none"
