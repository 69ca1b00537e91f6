"""``sim.patched()``: the standard library's time, primitives and thread identity run on
the simulation for code inside it, and nothing else changes."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from asyncthreads.testing import Simulation
from asyncthreads.testing.patching import EPOCH
from asyncthreads.testing.sim_locks import SimCondition, SimLock, SimRLock
from asyncthreads.testing.sim_queues import SimQueue
from asyncthreads.testing.sim_sync import SimEvent
from asyncthreads.testing.sim_threads import SimLocal

pytestmark = pytest.mark.timeout(30)

REAL_CONDITION = threading.Condition
REAL = {
    "sleep": time.sleep,
    "monotonic": time.monotonic,
    "Lock": threading.Lock,
    "Event": threading.Event,
    "Queue": queue.Queue,
    "local": threading.local,
    "current_thread": threading.current_thread,
}


def still_real() -> bool:
    return (
        time.sleep is REAL["sleep"]
        and time.monotonic is REAL["monotonic"]
        and threading.Lock is REAL["Lock"]
        and threading.Event is REAL["Event"]
        and queue.Queue is REAL["Queue"]
        and threading.local is REAL["local"]
        and threading.current_thread is REAL["current_thread"]
    )


@pytest.fixture
def sim() -> Iterator[Simulation]:
    with Simulation() as sim:
        yield sim


# -- time -----------------------------------------------------------------------------------


def test_the_clocks_read_virtual_time_inside_the_patch(sim: Simulation) -> None:
    sim.clock._move_to(12.5)
    with sim.patched():
        assert time.monotonic() == 12.5
        assert time.perf_counter() == 12.5
        assert time.time() == EPOCH + 12.5
        assert time.monotonic_ns() == 12_500_000_000
        assert time.perf_counter_ns() == 12_500_000_000
        assert time.time_ns() == (EPOCH + 12.5) * 1_000_000_000


def test_time_time_reads_2000_01_01_utc_at_virtual_time_zero(sim: Simulation) -> None:
    import datetime

    with sim.patched():
        now = time.time()
    assert datetime.datetime.fromtimestamp(now, datetime.UTC) == datetime.datetime(
        2000, 1, 1, tzinfo=datetime.UTC
    )


def test_sleep_on_the_tests_thread_moves_virtual_time_without_waiting(
    sim: Simulation,
) -> None:
    real_start = REAL["monotonic"]()  # type: ignore[operator]
    with sim.patched():
        time.sleep(3600)
        time.sleep(0)
    assert sim.now == 3600
    assert REAL["monotonic"]() - real_start < 5  # type: ignore[operator]


def test_sleeping_simulated_threads_wake_at_their_virtual_deadlines(
    sim: Simulation,
) -> None:
    woke: list[tuple[str, float]] = []

    def sleeper(name: str, seconds: float) -> None:
        time.sleep(seconds)
        woke.append((name, time.monotonic()))

    with sim.patched():
        pool = sim.thread_pool(2)
        slow = pool.submit(sleeper, "slow", 2.0)
        fast = pool.submit(sleeper, "fast", 1.0)
        slow.result()
        fast.result()
    assert woke == [("fast", 1.0), ("slow", 2.0)]


def test_sleep_rejects_a_negative_length_inside_the_patch(sim: Simulation) -> None:
    with sim.patched(), pytest.raises(ValueError, match="non-negative"):
        time.sleep(-1)


# -- primitives -----------------------------------------------------------------------------


def test_primitives_made_inside_the_patch_are_simulated(sim: Simulation) -> None:
    with sim.patched():
        made = {
            "Lock": threading.Lock(),
            "RLock": threading.RLock(),
            "Condition": threading.Condition(),
            "Event": threading.Event(),
            "Semaphore": threading.Semaphore(),
            "BoundedSemaphore": threading.BoundedSemaphore(),
            "Barrier": threading.Barrier(2),
            "Queue": queue.Queue(),
            "LifoQueue": queue.LifoQueue(),
            "PriorityQueue": queue.PriorityQueue(),
            "SimpleQueue": queue.SimpleQueue(),
        }
    assert {name: type(obj).__name__ for name, obj in made.items()} == {
        name: "Sim" + name for name in made
    }


def test_isinstance_holds_for_simulated_and_real_primitives_inside_the_patch(
    sim: Simulation,
) -> None:
    real_event, real_queue = threading.Event(), queue.Queue[int]()
    with sim.patched():
        assert isinstance(threading.Event(), threading.Event)
        assert isinstance(real_event, threading.Event)
        assert isinstance(queue.Queue(), queue.Queue)
        assert isinstance(real_queue, queue.Queue)
        assert issubclass(SimQueue, queue.Queue)


def test_a_wait_on_a_primitive_made_inside_the_patch_takes_virtual_time(
    sim: Simulation,
) -> None:
    with sim.patched():
        event = threading.Event()
        q: queue.Queue[int] = queue.Queue()
    assert event.wait(3) is False
    assert sim.now == 3
    with pytest.raises(queue.Empty):
        q.get(timeout=2)
    assert sim.now == 5


def test_primitives_made_outside_the_patch_stay_real(sim: Simulation) -> None:
    lock = threading.Lock()
    event = threading.Event()
    with sim.patched():
        assert lock.acquire()
        lock.release()
        assert event.wait(0.01) is False
    assert sim.now == 0
    assert type(lock).__module__ == "_thread"
    assert type(event) is REAL["Event"]


def test_the_patch_is_undone_on_exit_even_on_an_error(sim: Simulation) -> None:
    seen_inside: list[bool] = []

    def fail_inside() -> None:
        with sim.patched():
            seen_inside.append(still_real())
            raise KeyError

    with pytest.raises(KeyError):
        fail_inside()
    assert seen_inside == [False]
    assert still_real()


def test_nested_patches_use_the_innermost_simulation_and_restore_on_the_last_exit() -> None:
    outer, inner = Simulation(), Simulation()
    inner.clock._move_to(7.0)
    with outer.patched():
        with inner.patched():
            assert time.monotonic() == 7.0
            with inner.patched():
                assert isinstance(threading.Lock(), SimLock)
            assert not still_real()
        assert time.monotonic() == 0.0
    assert still_real()


def test_another_os_thread_sees_the_real_library_during_the_patch(
    sim: Simulation,
) -> None:
    seen: dict[str, Any] = {}

    def look() -> None:
        seen["lock"] = threading.Lock()
        seen["event"] = threading.Event()
        seen["now"] = time.monotonic()
        seen["thread"] = threading.current_thread().name

    with sim.patched():
        other = threading.Thread(target=look, name="other")
        other.start()  # Thread.start waits on its real Event: no simulated wait
        other.join(10)
    assert type(seen["lock"]).__module__ == "_thread"
    assert not isinstance(seen["event"], SimEvent)
    assert seen["now"] > 0
    assert seen["thread"] == "other"


def test_logging_inside_the_patch_gets_real_locks(
    sim: Simulation, caplog: pytest.LogCaptureFixture
) -> None:
    with sim.patched():
        handler = logging.StreamHandler()
        logging.getLogger("asyncthreads.test").warning("inside")
    assert handler.lock is not None
    assert not isinstance(handler.lock, SimRLock)
    assert "inside" in caplog.text


# -- concurrent.futures ---------------------------------------------------------------------


def test_a_plain_future_result_times_out_in_virtual_time(sim: Simulation) -> None:
    with sim.patched():
        future: concurrent.futures.Future[int] = concurrent.futures.Future()
        with pytest.raises(concurrent.futures.TimeoutError):
            future.result(timeout=3)
    assert sim.now == 3


def test_a_plain_future_result_returns_what_a_simulated_thread_sets(
    sim: Simulation,
) -> None:
    with sim.patched():
        future: concurrent.futures.Future[str] = concurrent.futures.Future()

        def later() -> None:
            time.sleep(2)
            future.set_result("done")

        sim.thread_pool(1).submit(later)
        assert future.result() == "done"
        assert time.monotonic() == 2


def test_futures_wait_and_as_completed_run_on_virtual_time(sim: Simulation) -> None:
    with sim.patched():
        futures: list[concurrent.futures.Future[float]] = [
            concurrent.futures.Future() for _ in range(3)
        ]

        def finish(future: concurrent.futures.Future[float], at: float) -> None:
            time.sleep(at)
            future.set_result(at)

        pool = sim.thread_pool(3)
        for future, at in zip(futures, (3.0, 1.0, 2.0), strict=True):
            pool.submit(finish, future, at)
        done, _ = concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_COMPLETED)
        assert [f.result() for f in done] == [1.0]
        assert time.monotonic() == 1.0
        order = [f.result() for f in concurrent.futures.as_completed(futures)]
        assert order == [1.0, 2.0, 3.0]
        assert time.monotonic() == 3.0
        with pytest.raises(concurrent.futures.TimeoutError):
            list(concurrent.futures.as_completed([concurrent.futures.Future()], timeout=5))
        assert time.monotonic() == pytest.approx(8.0)


# -- identity -------------------------------------------------------------------------------


def test_each_simulated_thread_has_its_own_identity_and_the_test_its_real_one(
    sim: Simulation,
) -> None:
    seen: list[tuple[str, int, int]] = []

    def who() -> None:
        thread = threading.current_thread()
        seen.append((thread.name, thread.ident or 0, threading.get_ident()))

    with sim.patched():
        assert threading.current_thread() is REAL["current_thread"]()  # type: ignore[operator]
        pool = sim.thread_pool(2, name="worker")
        barrier = threading.Barrier(2)  # one task on each worker

        def meet_then_look() -> None:
            barrier.wait()
            who()

        for result in [pool.submit(meet_then_look) for _ in range(2)]:
            result.result()
    assert sorted(seen) == [("worker-1", 1, 1), ("worker-2", 2, 2)]
    assert seen[0][1] != seen[1][1]


def test_threading_local_keeps_one_namespace_per_simulated_thread(
    sim: Simulation,
) -> None:
    with sim.patched():

        class Context(threading.local):
            def __init__(self, start: int) -> None:
                self.count = start

        context = Context(10)
        plain = threading.local()
        plain.name = "test"

        def bump(name: str) -> tuple[int, bool]:
            context.count += 1
            time.sleep(1)  # the other thread bumps meanwhile
            context.count += 1
            had_name = hasattr(plain, "name")
            plain.name = name
            return context.count, had_name

        pool = sim.thread_pool(2)
        results = [r.result() for r in [pool.submit(bump, n) for n in ("a", "b")]]
    assert results == [(12, False), (12, False)]
    assert context.count == 10
    assert plain.name == "test"
    with pytest.raises(TypeError, match="not supported"):
        threading.local(1)  # type: ignore[call-arg]


class ImportTimeQueue(queue.Queue[int]):
    """A subclass defined at import, before any patch."""


def test_a_subclass_defined_before_the_patch_stays_real(sim: Simulation) -> None:
    with sim.patched():
        q = ImportTimeQueue()
    assert not isinstance(q, SimQueue)
    assert type(q.mutex).__module__ == "_thread"


def test_a_timer_started_inside_the_patch_runs_on_a_real_thread(sim: Simulation) -> None:
    fired = REAL["Event"]()  # type: ignore[operator]
    with sim.patched():
        timer = threading.Timer(0.01, fired.set)
        timer.start()
        timer.join(10)
    assert fired.is_set()
    assert sim.now == 0


def test_futures_wait_outside_the_patch_blocks_on_real_time_and_runs_nothing(
    sim: Simulation,
) -> None:
    pending = sim.thread_pool(1).submit(lambda: None)
    real_start = REAL["monotonic"]()  # type: ignore[operator]
    done, not_done = concurrent.futures.wait([pending], timeout=0.05)
    assert (done, not_done) == (set(), {pending})
    assert REAL["monotonic"]() - real_start >= 0.05  # type: ignore[operator]
    assert sim.now == 0


def test_an_executor_and_asyncio_inside_the_patch_run_on_real_threads_and_time(
    sim: Simulation,
) -> None:
    with sim.patched():
        with concurrent.futures.ThreadPoolExecutor(1) as executor:
            slept = executor.submit(time.sleep, 0.01)
            assert slept.result(timeout=10) is None
        asyncio.run(asyncio.sleep(0.01))
    assert sim.now == 0


def sleep_zero() -> Callable[[], object]:
    return lambda: time.sleep(0)


def lock_acquire_and_release() -> Callable[[], object]:
    lock = threading.Lock()

    def use() -> None:
        with lock:
            pass

    return use


def event_set() -> Callable[[], object]:
    return threading.Event().set


def event_wait() -> Callable[[], object]:
    event = threading.Event()
    event.set()
    return event.wait


def queue_put() -> Callable[[], object]:
    q: queue.Queue[int] = queue.Queue()
    return lambda: q.put(1)


def queue_get() -> Callable[[], object]:
    q: queue.Queue[int] = queue.Queue()
    q.put(1)
    return q.get


SYNC_OPERATIONS = {
    "sleep-0": sleep_zero,
    "lock": lock_acquire_and_release,
    "event-set": event_set,
    "event-wait": event_wait,
    "queue-put": queue_put,
    "queue-get": queue_get,
}


@pytest.mark.parametrize("operation", list(SYNC_OPERATIONS))
def test_each_synchronization_operation_is_a_schedule_point(operation: str) -> None:
    def run(sim: Simulation) -> list[str]:
        log: list[str] = []
        pool = sim.thread_pool(2)
        with sim.patched():
            op = SYNC_OPERATIONS[operation]()

            def first() -> None:
                log.append("a1")
                op()
                log.append("a2")

            results = [pool.submit(first), pool.submit(log.append, "b")]
            for result in results:
                result.result()
        return log

    with Simulation() as fifo:
        # FIFO continues the running thread, except that sleep(0) lets the others run
        # first, as sim.sleep(0) does and as a real thread sleeping 0 gives way.
        expected = ["a1", "b", "a2"] if operation == "sleep-0" else ["a1", "a2", "b"]
        assert run(fifo) == expected
    orders = set()
    for seed in range(30):
        with Simulation(seed=seed) as sim:
            orders.add(tuple(run(sim)))
    assert {("a1", "b", "a2"), ("a1", "a2", "b")} <= orders


def test_a_condition_made_inside_the_patch_on_a_real_lock_is_real(sim: Simulation) -> None:
    real_lock = threading.RLock()
    with sim.patched():
        on_real = threading.Condition(real_lock)
        on_simulated = threading.Condition(threading.Lock())
    assert type(on_real) is REAL_CONDITION
    assert isinstance(on_simulated, SimCondition)


def test_a_name_bound_before_the_patch_stays_real(sim: Simulation) -> None:
    from threading import Lock
    from time import monotonic

    with sim.patched():
        sim.clock._move_to(100.0)
        assert monotonic() != 100.0
        assert type(Lock()).__module__ == "_thread"
        assert time.monotonic() == 100.0


def test_hypothesis_runs_inside_the_patch_on_real_time(sim: Simulation) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    seen: list[float] = []

    @settings(max_examples=5, database=None)
    @given(st.integers())
    def check(n: int) -> None:
        seen.append(time.monotonic())

    with sim.patched():
        check()
    assert seen == [0.0] * len(seen)
    assert sim.now == 0


def test_a_subclass_defined_inside_the_patch_is_real_except_of_local(sim: Simulation) -> None:
    with sim.patched():

        class Jobs(queue.Queue):  # type: ignore[type-arg]
            pass

        class Context(threading.local):
            pass

        jobs, context = Jobs(), Context()
    assert isinstance(jobs, REAL["Queue"])  # type: ignore[arg-type]
    assert not isinstance(jobs, SimQueue)
    assert type(jobs.mutex).__module__ == "_thread"
    assert isinstance(context, SimLocal)


def test_a_zero_timeout_event_wait_moves_virtual_time_by_the_smallest_step(
    sim: Simulation,
) -> None:
    sim.clock._move_to(2.0)
    with sim.patched():
        assert threading.Event().wait(0) is False
    assert sim.now == math.nextafter(2.0, math.inf)
