"""Specification of ThreadPool on the simulation: zero workers, resizing (idle workers retire
at once, busy ones after their task, growing cancels retirements), the bounded queue,
shutdown, callbacks and result queues, failures that do not stop a worker, and
DeadlockError instead of a hang."""

from __future__ import annotations

import queue
from typing import Any

import pytest

from asyncthreads import DeadlockError, QueueFull, Result
from asyncthreads.testing import FifoChooser, Simulation


def where(sim: Simulation) -> str:
    """The name of the actor (reactor loop or pool worker) running the caller."""
    actor = sim.scheduler.current_actor()
    assert actor is not None
    return actor.name


def workers_in_trace(sim: Simulation, pool_name: str) -> set[str]:
    return {e.actor for e in sim.trace if e.actor.startswith(f"{pool_name}-")}


# -- zero workers -------------------------------------------------------------------------


def test_pool_with_zero_workers_keeps_tasks_queued(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(0, name="pool")
    ran: list[int] = []

    results = [pool.queue_task(ran.append, i) for i in range(3)]
    sim.advance(10)

    assert ran == []
    assert pool.thread_count == 0
    assert pool.idle_count == 0
    assert pool.queued_count == 3
    assert not any(r.done() for r in results)


def test_queued_tasks_run_once_a_zero_worker_pool_grows(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(0, name="pool")
    ran: list[int] = []
    results = [pool.queue_task(ran.append, i) for i in range(3)]

    pool.resize_pool(2)
    sim.run_until_idle()

    assert sorted(ran) == [0, 1, 2]
    assert all(r.done() for r in results)
    assert pool.thread_count == 2
    assert pool.idle_count == 2
    assert pool.queued_count == 0


# -- resizing -----------------------------------------------------------------------------


def test_resize_grows_at_once(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(1, name="pool")

    pool.resize_pool(4)

    assert pool.thread_count == 4
    sim.run_until_idle()
    assert pool.idle_count == 4


def test_resize_down_retires_idle_workers_at_once(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(3, name="pool")
    sim.run_until_idle()
    assert pool.idle_count == 3

    pool.resize_pool(1)

    assert pool.thread_count == 1
    assert pool.idle_count == 1
    for _ in range(4):
        pool.queue_task(lambda: None)
    sim.run_until_idle()
    assert len(workers_in_trace(sim, "pool")) == 1


def test_resize_down_lets_a_busy_worker_finish_its_task(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(1, name="pool")
    controller = sim.reactor(threads=0, name="controller")
    at_resize: list[tuple[int, int, bool]] = []
    holder: list[Result[str]] = []

    def busy() -> str:
        sim.sleep(2.0)
        return "finished"

    def shrink() -> None:
        pool.resize_pool(0)
        at_resize.append((pool.thread_count, pool.idle_count, holder[0].running()))

    holder.append(pool.queue_task(busy))
    controller.call_at(1.0, shrink)
    sim.advance(5)

    assert at_resize == [(0, 0, True)]
    assert holder[0].result() == "finished"  # not interrupted


def test_resize_down_retires_a_busy_worker_after_its_task(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(1, name="pool")
    controller = sim.reactor(threads=0, name="controller")
    ran: list[str] = []

    pool.queue_task(sim.sleep, 2.0)  # busy from t=0 to t=2
    controller.call_at(1.0, pool.resize_pool, 0)
    later = controller.call_at(1.5, pool.queue_task, ran.append, "queued while busy")
    sim.advance(10)

    assert ran == []
    assert not later.result().done()
    assert pool.queued_count == 1


# An interleaving is part of what this test specifies: FIFO whatever --asyncthreads-seed.
@pytest.mark.asyncthreads(chooser=FifoChooser())
def test_resize_down_retires_the_busy_worker_that_finishes_first(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(2, name="pool")
    controller = sim.reactor(threads=0, name="controller")
    workers: dict[str, str] = {}
    ran: list[tuple[str, str, float]] = []

    def busy(name: str, seconds: float) -> None:
        workers[name] = where(sim)
        sim.sleep(seconds)

    def queued(name: str) -> None:
        ran.append((name, where(sim), sim.now))

    pool.queue_task(busy, "long", 3.0)  # busy from t=0 to t=3
    pool.queue_task(busy, "short", 2.0)  # busy from t=0 to t=2
    pool.queue_task(queued, "c")
    pool.queue_task(queued, "d")
    controller.call_at(1.0, pool.resize_pool, 1)
    sim.advance(5)

    # The worker that finished at t=2 retired instead of taking "c"; the other one took
    # both queued tasks when it finished at t=3.
    assert ran == [("c", workers["long"], 3.0), ("d", workers["long"], 3.0)]
    assert pool.thread_count == 1


def test_resize_up_cancels_pending_retirements(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(1, name="pool")
    controller = sim.reactor(threads=0, name="controller")
    ran_on: list[str] = []

    def shrink_then_grow() -> None:
        pool.resize_pool(0)  # the busy worker is told to retire after its task...
        pool.resize_pool(1)  # ...and then told to stay

    pool.queue_task(sim.sleep, 2.0)  # busy from t=0 to t=2
    controller.call_at(1.0, shrink_then_grow)
    later = controller.call_at(1.5, pool.queue_task, lambda: ran_on.append(where(sim)))
    sim.advance(5)

    assert later.result().done()
    assert ran_on == ["pool-1"]  # the same worker: none retired, none was started
    assert workers_in_trace(sim, "pool") == {"pool-1"}
    assert pool.thread_count == 1


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_resize_to_a_bad_size_raises(asyncthreads_sim: Simulation, bad: Any) -> None:
    pool = asyncthreads_sim.thread_pool(2, name="pool")

    with pytest.raises((TypeError, ValueError)):
        pool.resize_pool(bad)
    assert pool.thread_count == 2


# -- the bounded queue --------------------------------------------------------------------


def test_full_queue_raises_queue_full_at_once_and_queues_nothing(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(0, max_queue_size=2, name="pool")
    ran: list[str] = []
    pool.queue_task(ran.append, "a")
    pool.queue_task(ran.append, "b")

    with pytest.raises(QueueFull):
        pool.queue_task(ran.append, "refused")
    assert pool.queued_count == 2

    pool.resize_pool(1)
    sim.run_until_idle()
    assert ran == ["a", "b"]


def test_full_queue_refuses_submit_too(asyncthreads_sim: Simulation) -> None:
    pool = asyncthreads_sim.thread_pool(0, max_queue_size=1, name="pool")
    pool.submit(lambda: None)

    with pytest.raises(QueueFull):
        pool.submit(lambda: None)
    assert pool.queued_count == 1


def test_queue_bound_counts_waiting_tasks_not_running_ones(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(1, max_queue_size=1, name="pool")
    controller = sim.reactor(threads=0, name="controller")
    outcomes: list[str] = []

    def try_two_more() -> None:
        pool.queue_task(lambda: None)  # the one place, while the worker is busy
        try:
            pool.queue_task(lambda: None)
        except QueueFull:
            outcomes.append("full")

    pool.queue_task(sim.sleep, 2.0)
    controller.call_at(1.0, try_two_more)
    sim.advance(3)

    assert outcomes == ["full"]


def test_cancelled_task_frees_its_place_in_the_queue(asyncthreads_sim: Simulation) -> None:
    pool = asyncthreads_sim.thread_pool(0, max_queue_size=1, name="pool")
    first = pool.queue_task(lambda: None)

    assert first.cancel() is True
    pool.queue_task(lambda: None)

    assert pool.queued_count == 1


# -- shutdown -----------------------------------------------------------------------------


def test_shutdown_without_waiting_returns_at_once_and_queued_tasks_still_run(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(1, name="pool")
    results = [pool.queue_task(lambda i=i: i * i) for i in range(4)]

    pool.shutdown(wait=False)
    assert not any(r.done() for r in results)
    sim.run_until_idle()

    assert [r.result() for r in results] == [0, 1, 4, 9]
    assert pool.is_shutdown


def test_shutdown_waiting_returns_once_the_queue_is_drained(
    asyncthreads_sim: Simulation,
) -> None:
    pool = asyncthreads_sim.thread_pool(1, name="pool")
    results = [pool.queue_task(lambda i=i: i) for i in range(3)]

    pool.shutdown()  # wait=True: the simulation runs until the worker has exited

    assert all(r.done() for r in results)
    assert [r.result() for r in results] == [0, 1, 2]


def test_queue_task_after_shutdown_raises_runtime_error(asyncthreads_sim: Simulation) -> None:
    pool = asyncthreads_sim.thread_pool(1, name="pool")
    pool.shutdown(wait=False)

    with pytest.raises(RuntimeError, match="shut down"):
        pool.queue_task(lambda: None)
    assert pool.queued_count == 0


def test_shutdown_cancelling_futures_cancels_queued_tasks_and_lets_the_running_one_finish(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(1, name="pool")
    controller = sim.reactor(threads=0, name="controller")
    ran: list[int] = []

    def running() -> str:
        sim.sleep(2.0)
        return "finished"

    first = pool.queue_task(running)
    queued = [pool.queue_task(ran.append, i) for i in range(3)]
    controller.call_at(1.0, lambda: pool.shutdown(wait=False, cancel_futures=True))
    sim.advance(5)

    assert first.result() == "finished"
    assert all(r.cancelled() for r in queued)
    assert ran == []
    assert pool.queued_count == 0


def test_shutdown_of_a_pool_with_zero_workers_cancels_queued_tasks(
    asyncthreads_sim: Simulation,
) -> None:
    pool = asyncthreads_sim.thread_pool(0, name="pool")
    results = [pool.queue_task(lambda: None) for _ in range(3)]

    pool.shutdown()  # nothing can ever run them; nothing to wait for

    assert all(r.cancelled() for r in results)
    assert pool.queued_count == 0


def test_resize_after_shutdown_raises_runtime_error(asyncthreads_sim: Simulation) -> None:
    pool = asyncthreads_sim.thread_pool(1, name="pool")
    pool.shutdown(wait=False)

    with pytest.raises(RuntimeError, match="shut down"):
        pool.resize_pool(3)


# -- callbacks and result queues ----------------------------------------------------------


def test_callback_receives_the_value_in_the_same_worker_before_the_result_completes(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(2, name="pool")
    seen: list[tuple[str, str, bool]] = []
    holder: list[Result[str]] = []

    def task() -> str:
        seen.append(("task", where(sim), False))
        return "value"

    def callback(value: str) -> None:
        seen.append((f"callback({value})", where(sim), holder[0].done()))

    holder.append(pool.queue_task(task, callback=callback))
    sim.run_until_idle()

    assert [(what, done) for what, _, done in seen] == [
        ("task", False),
        ("callback(value)", False),
    ]
    assert seen[0][1] == seen[1][1]
    assert holder[0].result() == "value"


def test_callback_is_not_called_when_the_task_raises(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(1, name="pool")
    called: list[object] = []

    def fail() -> None:
        raise ValueError("task failed")

    result = pool.queue_task(fail, callback=called.append)
    sim.run_until_idle()

    assert called == []
    assert isinstance(result.exception(), ValueError)


def test_result_q_receives_each_result_once_however_it_ended(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(1, name="pool")
    results: queue.SimpleQueue[Result[Any]] = queue.SimpleQueue()

    def fail() -> None:
        raise ValueError("failed")

    returned = pool.queue_task(lambda: "value", result_q=results)
    failed = pool.queue_task(fail, result_q=results)
    cancelled = pool.queue_task(lambda: None, result_q=results)
    cancelled.cancel()
    sim.run_until_idle()

    received = []
    while not results.empty():
        received.append(results.get_nowait())
    assert received == [cancelled, returned, failed]
    assert isinstance(failed.exception(), ValueError)


def test_result_q_is_filled_after_the_callback(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(1, name="pool")
    events: list[str] = []

    class RecordingQueue:
        def put(self, result: Result[Any]) -> None:
            events.append(f"put done={result.done()}")

    pool.queue_task(
        lambda: 1, callback=lambda _: events.append("callback"), result_q=RecordingQueue()
    )
    sim.run_until_idle()

    assert events == ["callback", "put done=True"]


def test_result_q_without_put_raises_type_error(asyncthreads_sim: Simulation) -> None:
    pool = asyncthreads_sim.thread_pool(0, name="pool")

    with pytest.raises(TypeError, match="result_q"):
        pool.queue_task(lambda: None, result_q=[])
    assert pool.queued_count == 0


# -- failures do not stop a worker --------------------------------------------------------


def test_raising_task_does_not_stop_the_worker(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(1, name="pool")

    def fail() -> None:
        raise RuntimeError("task failed")

    failed = pool.queue_task(fail)
    after = pool.queue_task(lambda: where(sim))
    sim.run_until_idle()

    assert isinstance(failed.exception(), RuntimeError)
    assert after.result() == "pool-1"
    assert pool.thread_count == 1


def test_raising_callback_fails_the_result_and_does_not_stop_the_worker(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(1, name="pool")

    def bad_callback(value: int) -> None:
        raise KeyError(value)

    failed = pool.queue_task(lambda: 7, callback=bad_callback)
    after = pool.queue_task(lambda: where(sim))
    sim.run_until_idle()

    with pytest.raises(KeyError):
        failed.result()
    assert after.result() == "pool-1"


def test_base_exception_in_a_task_does_not_stop_the_worker(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(1, name="pool")

    def exit_attempt() -> None:
        raise SystemExit(3)

    failed = pool.queue_task(exit_attempt)
    after = pool.queue_task(lambda: "still working")
    sim.run_until_idle()

    assert isinstance(failed.exception(), SystemExit)
    assert after.result() == "still working"


# -- no hangs: DeadlockError ----------------------------------------------------------------


def test_waiting_on_a_task_of_a_zero_worker_pool_raises_deadlock_error(
    asyncthreads_sim: Simulation,
) -> None:
    pool = asyncthreads_sim.thread_pool(0, name="empty-pool")
    result = pool.queue_task(lambda: None)

    with pytest.raises(DeadlockError, match="nothing can ever complete it"):
        result.result()
    assert not result.done()


def test_deadlock_report_of_a_zero_worker_pool_names_its_queued_task(
    asyncthreads_sim: Simulation,
) -> None:
    pool = asyncthreads_sim.thread_pool(0, name="empty-pool")

    def stuck_task() -> None:
        pass

    result = pool.queue_task(stuck_task)

    with pytest.raises(DeadlockError) as caught:
        result.result()
    assert "empty-pool" in str(caught.value)
    assert "stuck_task" in str(caught.value)


def test_task_waiting_on_a_task_queued_behind_it_in_a_one_worker_pool_gets_deadlock_error(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(1, name="pool")

    def queued_behind() -> str:
        return "never"

    def waits_on_the_pool() -> str:
        inner = pool.queue_task(queued_behind)
        return inner.result()

    result = pool.queue_task(waits_on_the_pool)

    with pytest.raises(DeadlockError) as caught:
        result.result()
    message = str(caught.value)
    assert "waits_on_the_pool" in message  # what is blocked
    assert "queued_behind" in message  # what it waits for, still queued
