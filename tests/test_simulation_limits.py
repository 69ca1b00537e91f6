"""What a simulation cannot do, as the README's "What a simulation cannot do" says: each
claim there has its test here."""

from __future__ import annotations

import concurrent.futures
import contextlib
import queue
import threading
import time

import pytest
from greenlet import GreenletExit

from asyncthreads import STOP
from asyncthreads.scheduler import Stop, Work
from asyncthreads.testing import Simulation, UnsimulatedWaitError


def test_the_verbs_called_inside_simulated_work_raise_runtime_error(sim: Simulation) -> None:
    pool = sim.thread_pool(1)

    task = pool.submit(sim.advance, 1)

    with pytest.raises(RuntimeError, match="driven from the test's thread"):
        task.result()


def held_lock_acquire() -> None:
    lock = threading.Lock()
    lock.acquire()
    lock.acquire(timeout=0.02)


def empty_queue_get() -> None:
    with contextlib.suppress(queue.Empty):
        queue.Queue().get(timeout=0.02)


REAL_BLOCKING_CALLS = {
    "time.sleep": lambda: time.sleep(0.02),
    "threading.Event.wait": lambda: threading.Event().wait(0.02),
    "threading.Lock.acquire": held_lock_acquire,
    "queue.Queue.get": empty_queue_get,
}


@pytest.mark.timeout(10)
@pytest.mark.parametrize("call", list(REAL_BLOCKING_CALLS))
def test_a_real_blocking_call_in_a_task_takes_real_time_and_no_virtual_time(
    sim: Simulation, call: str
) -> None:
    pool = sim.thread_pool(2)
    others: list[float] = []

    def blocks_for_real() -> tuple[float, list[float]]:
        start = time.monotonic()
        REAL_BLOCKING_CALLS[call]()
        return time.monotonic() - start, list(others)

    task = pool.submit(blocks_for_real)
    pool.submit(others.append, 1.0)

    elapsed, others_meanwhile = task.result()
    assert elapsed >= 0.015  # real time (timers may round a little)
    assert others_meanwhile == []  # nothing else ran while it blocked
    assert sim.now == 0.0


@pytest.mark.timeout(10)
def test_concurrent_futures_wait_on_a_pending_simulated_result_blocks_in_real_time(
    sim: Simulation,
) -> None:
    pending = sim.reactor(1).call_later(1, int)

    done, not_done = concurrent.futures.wait([pending], timeout=0.02)

    assert (done, not_done) == (set(), {pending})
    assert sim.now == 0.0


def test_code_between_two_schedule_points_runs_as_one_step() -> None:
    lost = 0
    for seed in range(100):
        with Simulation(seed=seed) as sim:
            pool = sim.thread_pool(2)
            count = [0]

            def read_then_store(count: list[int] = count) -> None:
                seen = count[0]
                count[0] = seen + 1  # no checkpoint() between: never interleaved

            for _ in range(2):
                pool.submit(read_then_store)
            sim.run_until_idle()
            lost += count[0] != 2
    assert lost == 0


class StopsAfter:
    """An actor that runs ``fn`` (as a done-callback would) while answering STOP."""

    name = "stopper"

    def __init__(self, fn: object) -> None:
        self.fn = fn

    def next_work(self, now: float) -> Work | float | Stop | None:
        self.fn()  # type: ignore[operator]
        return STOP


def test_a_wait_in_a_callback_run_while_an_actor_stops_raises_unsimulated_wait_error(
    sim: Simulation,
) -> None:
    swallowed: list[Exception] = []

    def blocking_callback() -> None:
        try:
            sim.sleep(1)
        except Exception as exc:
            swallowed.append(exc)

    sim.scheduler.start(StopsAfter(blocking_callback), sim.clock)

    with pytest.raises(UnsimulatedWaitError):
        sim.run_until_idle()
    assert swallowed == []
    assert not issubclass(UnsimulatedWaitError, Exception)


def test_close_ends_a_thread_still_blocked_with_greenlet_exit() -> None:
    cleaned_up: list[str] = []
    with Simulation() as sim:
        pool = sim.thread_pool(1)

        def sleeper() -> None:
            try:
                sim.sleep(100)
            finally:
                cleaned_up.append("finally ran")

        task = pool.submit(sleeper)
        sim.advance(1)
        assert not task.done()

    assert cleaned_up == ["finally ran"]
    assert isinstance(task.exception(), GreenletExit)
