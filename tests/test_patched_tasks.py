"""Pool tasks that use the standard library's blocking calls, inside ``sim.patched()``:
each gets the answer real threads get, at the virtual time real threads would, with no
real waiting; a lock-order inversion is found and reported instead of hanging."""

from __future__ import annotations

import concurrent.futures
import queue
import re
import threading
import time
from typing import Any

import pytest

from asyncthreads import DeadlockError, Reactor, ThreadPool
from asyncthreads.testing import Simulation, explore

pytestmark = pytest.mark.timeout(60)

REAL_MONOTONIC = time.monotonic


@pytest.fixture
def sim() -> Any:
    with Simulation() as sim:
        yield sim


def test_a_lock_held_across_a_sleep_makes_a_second_task_wait(sim: Simulation) -> None:
    pool = sim.thread_pool(2)
    log: list[tuple[str, float]] = []
    with sim.patched():
        lock = threading.Lock()

        def holder() -> None:
            with lock:
                log.append(("holder in", time.monotonic()))
                time.sleep(1.0)
                log.append(("holder out", time.monotonic()))

        def second() -> None:
            with lock:
                log.append(("second in", time.monotonic()))

        results = [pool.submit(holder), pool.submit(second)]
        for result in results:
            result.result()
    assert log == [("holder in", 0.0), ("holder out", 1.0), ("second in", 1.0)]


def test_an_rlock_keeps_a_second_task_out_while_its_owner_holds_it(sim: Simulation) -> None:
    pool = sim.thread_pool(2)
    entered: list[tuple[str, float]] = []
    with sim.patched():
        lock = threading.RLock()

        def owner() -> None:
            with lock, lock:
                entered.append(("owner", time.monotonic()))
                time.sleep(2.0)

        def second() -> None:
            with lock:
                entered.append(("second", time.monotonic()))

        results = [pool.submit(owner), pool.submit(second)]
        for result in results:
            result.result()
    assert entered == [("owner", 0.0), ("second", 2.0)]


def test_event_wait_without_a_timeout_returns_when_another_task_sets_it(
    sim: Simulation,
) -> None:
    pool = sim.thread_pool(2)
    with sim.patched():
        event = threading.Event()

        def waiter() -> float:
            assert event.wait()
            return time.monotonic()

        def setter() -> None:
            time.sleep(4.0)
            event.set()

        waited = pool.submit(waiter)
        pool.submit(setter)
        assert waited.result() == 4.0


def test_event_wait_3_and_queue_get_timeout_2_return_at_virtual_3_and_2(
    sim: Simulation,
) -> None:
    pool = sim.thread_pool(2)
    real_start = REAL_MONOTONIC()
    with sim.patched():
        event = threading.Event()
        jobs: queue.Queue[int] = queue.Queue()

        def wait_event() -> tuple[bool, float]:
            return event.wait(3), time.monotonic()

        def get_job() -> tuple[str, float]:
            try:
                jobs.get(timeout=2)
            except queue.Empty:
                return "empty", time.monotonic()
            return "got", time.monotonic()  # pragma: no cover

        waited, got = pool.submit(wait_event), pool.submit(get_job)
        assert waited.result() == (False, 3.0)
        assert got.result() == ("empty", 2.0)
    assert REAL_MONOTONIC() - real_start < 2.0


def test_time_sleep_in_a_task_moves_virtual_time_and_timers_fire_meanwhile(
    sim: Simulation,
) -> None:
    reactor = sim.reactor(threads=1)
    fired: list[float] = []
    with sim.patched():
        reactor.call_later(0.5, lambda: fired.append(time.monotonic()))

        def slow() -> float:
            time.sleep(1.0)
            return time.monotonic()

        assert reactor.call_in_thread(slow).result() == 1.0
    assert fired == [0.5]


def test_time_monotonic_in_a_task_reads_virtual_time(sim: Simulation) -> None:
    reactor = sim.reactor(threads=1)
    with sim.patched():
        late = reactor.call_in_thread_later(7.5, time.monotonic)
        assert late.result() == 7.5


def test_threading_local_is_per_worker(sim: Simulation) -> None:
    pool = sim.thread_pool(2)
    with sim.patched():
        local = threading.local()

        def remember(value: int) -> int:
            local.value = value
            time.sleep(1.0)  # the other worker stores meanwhile
            seen: int = local.value
            return seen

        results = [pool.submit(remember, n) for n in (1, 2)]
        assert [r.result() for r in results] == [1, 2]


@pytest.mark.timeout(30)
def test_workers_and_the_reactor_are_named_as_in_production(sim: Simulation) -> None:
    def names(pool: ThreadPool) -> set[str]:
        barrier = threading.Barrier(2, timeout=10)

        def name() -> str:
            barrier.wait()  # both workers take one task each
            return threading.current_thread().name

        results = [pool.submit(name) for _ in range(2)]
        return {r.result(timeout=10) for r in results}

    def reactor_name(reactor: Reactor) -> str:
        name: str = reactor.call(lambda: threading.current_thread().name).result(timeout=10)
        return name

    with ThreadPool(2, name="fetchers") as real_pool:
        real = names(real_pool)
    with Reactor(name="events") as real_reactor:
        real_reactor_name = reactor_name(real_reactor)
    with sim.patched():
        simulated = names(sim.thread_pool(2, name="fetchers"))
        simulated_reactor_name = reactor_name(sim.reactor(name="events"))
    assert simulated == real == {"fetchers-1", "fetchers-2"}
    assert simulated_reactor_name == real_reactor_name == "events"


def test_each_worker_has_its_own_ident(sim: Simulation) -> None:
    pool = sim.thread_pool(2)
    with sim.patched():
        barrier = threading.Barrier(2)

        def ident() -> int:
            barrier.wait()
            assert threading.current_thread().ident == threading.get_ident()
            return threading.get_ident()

        idents = {r.result() for r in [pool.submit(ident), pool.submit(ident)]}
        assert len(idents) == 2
        assert threading.get_ident() not in idents


def test_futures_wait_and_as_completed_take_simulated_results(sim: Simulation) -> None:
    pool = sim.thread_pool(3)
    with sim.patched():

        def nap(seconds: float) -> float:
            time.sleep(seconds)
            return seconds

        results = [pool.submit(nap, seconds) for seconds in (3.0, 1.0, 2.0)]
        done, _ = concurrent.futures.wait(results, return_when=concurrent.futures.FIRST_COMPLETED)
        assert done == {results[1]}
        assert time.monotonic() == 1.0
        futures: list[concurrent.futures.Future[float]] = list(results)
        order = list(concurrent.futures.as_completed(futures))
        assert order == [results[1], results[2], results[0]]
        assert time.monotonic() == 3.0


# -- deadlocks ------------------------------------------------------------------------------


def transfer_both_ways(sim: Simulation) -> None:
    """Two tasks take two locks in opposite orders: a lock-order inversion."""
    pool = sim.thread_pool(2)
    with sim.patched():
        accounts, audit = threading.Lock(), threading.Lock()

        def transfer() -> None:
            with accounts, audit:
                pass

        def report() -> None:
            with audit, accounts:
                pass

        results = [pool.submit(transfer), pool.submit(report)]
        for result in results:
            result.result()


def test_a_lock_order_inversion_hides_under_fifo(sim: Simulation) -> None:
    transfer_both_ways(sim)


def test_a_lock_order_inversion_is_found_by_seeded_exploration_and_reported() -> None:
    reports = []
    for seed in range(50):
        with Simulation(seed=seed) as sim:
            try:
                transfer_both_ways(sim)
            except DeadlockError as error:
                reports.append((seed, str(error)))
    assert reports, "no seed in 50 found the deadlock"
    seed, report = reports[0]
    assert "ThreadPool-1" in report
    assert "ThreadPool-2" in report
    # Each thread: what it waits for (the lock, where it was made, who holds it), where
    # it blocked, and what it holds.
    for me, other in (("1", "2"), ("2", "1")):
        assert re.search(
            rf"ThreadPool-{me}: .* waits for Lock \d \(made at test_patched_tasks\.py:\d+\), "
            rf"held by ThreadPool-{other} at .*test_patched_tasks\.py:\d+; "
            rf"holds Lock \d \(made at test_patched_tasks\.py:\d+\)",
            report,
        ), report


def wait_for_one(future: concurrent.futures.Future[Any]) -> tuple[int, float]:
    done, _ = concurrent.futures.wait([future], timeout=5)
    return len(done), time.monotonic()


def test_every_task_waiting_with_futures_wait_is_told_when_the_result_ends() -> None:
    # Telling one waiter is a schedule point; a waiter that runs there and leaves must
    # not make the Result skip the next one (it then waited out its timeout).
    for seed in range(30):
        with Simulation(seed=seed) as sim, sim.patched():
            target = sim.thread_pool(1).submit(time.sleep, 1.0)

            pool = sim.thread_pool(3)
            waiters = [pool.submit(wait_for_one, target) for _ in range(3)]
            assert [w.result() for w in waiters] == [(1, 1.0)] * 3, f"seed {seed}"


def transfer_in_one_order(sim: Simulation) -> None:
    """The fix: both tasks take the two locks in the same order."""
    pool = sim.thread_pool(2)
    with sim.patched():
        accounts, audit = threading.Lock(), threading.Lock()

        def take_both() -> None:
            with accounts, audit:
                pass

        results = [pool.submit(take_both), pool.submit(take_both)]
        for result in results:
            result.result()


def test_exhaustive_exploration_finds_the_inversion_and_its_token_replays_it() -> None:
    with pytest.raises(DeadlockError) as caught:
        explore(transfer_both_ways, max_departures=2)
    token = re.search(r"Simulation\(replay='([^']*)'\)", "\n".join(caught.value.__notes__))
    assert token is not None
    with Simulation(replay=token.group(1)) as replayed, pytest.raises(DeadlockError):
        transfer_both_ways(replayed)


def test_taking_the_locks_in_one_order_never_deadlocks_in_any_schedule() -> None:
    found = explore(transfer_in_one_order, max_departures=None)
    assert found.complete
    assert found.schedules > 1


def test_closing_ends_a_task_waiting_to_reacquire_a_condition_with_greenletexit() -> None:
    from greenlet import GreenletExit

    with Simulation() as sim, sim.patched():
        pool = sim.thread_pool(2)
        condition = threading.Condition()

        def waiter() -> None:
            with condition:
                condition.wait()

        def notifier_that_keeps_the_lock() -> None:
            with condition:
                condition.notify()
                time.sleep(100)

        waiting = pool.submit(waiter)
        holding = pool.submit(notifier_that_keeps_the_lock)
        sim.advance(1)
    assert isinstance(waiting.exception(0), GreenletExit)
    assert isinstance(holding.exception(0), GreenletExit)


def test_a_released_lock_goes_to_its_longest_waiter_unless_the_releaser_retakes_it(
    sim: Simulation,
) -> None:
    pool = sim.thread_pool(3)
    order: list[str] = []
    with sim.patched():
        lock = threading.Lock()

        def holder() -> None:
            with lock:
                time.sleep(1.0)  # the others queue up meanwhile, first first
            with lock:  # released and retaken before a woken waiter ran: kept
                order.append("holder again")

        def waiter(name: str) -> None:
            with lock:
                order.append(name)

        results = [pool.submit(holder), pool.submit(waiter, "first"), pool.submit(waiter, "second")]
        for result in results:
            result.result()
    assert order == ["holder again", "first", "second"]


def test_an_event_waiter_notified_by_set_returns_true_even_if_cleared_before_it_runs(
    sim: Simulation,
) -> None:
    pool = sim.thread_pool(1)
    with sim.patched():
        event = threading.Event()
        waiting = pool.submit(event.wait)
        sim.run_until_idle()  # the waiter blocks
        event.set()
        event.clear()
        assert waiting.result() is True
