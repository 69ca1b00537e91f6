"""Specification of ordering on the simulation: the reactor is FIFO and serial whatever the
interleaving; a one-worker pool is FIFO; an N-worker pool runs at most N tasks at once,
starts them in order and may finish them in any order; a seed or a replay token fixes
the run exactly."""

from __future__ import annotations

from typing import Any

import pytest

from asyncthreads import defer_to_thread
from asyncthreads.testing import FifoChooser, Simulation

SEEDS = range(50)


def where(sim: Simulation) -> str:
    """The name of the actor (reactor loop or pool worker) running the caller."""
    actor = sim.scheduler.current_actor()
    assert actor is not None
    return actor.name


# -- the reactor ----------------------------------------------------------------------------


def test_reactor_calls_run_in_the_order_queued(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    ran: list[int] = []

    for i in range(20):
        reactor.call(ran.append, i)
    sim.run_until_idle()

    assert ran == list(range(20))


def test_reactor_calls_run_one_at_a_time(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    reactor = sim.reactor()
    spans: list[tuple[str, float, float]] = []

    def slow(name: str) -> None:
        start = sim.now
        sim.sleep(1.0)  # while this call is blocked, nothing else runs on the reactor
        spans.append((name, start, sim.now))

    reactor.call(slow, "a")
    reactor.call(slow, "b")
    reactor.call(slow, "c")
    sim.advance(5)

    assert spans == [("a", 0.0, 1.0), ("b", 1.0, 2.0), ("c", 2.0, 3.0)]


def reactor_fifo_run(seed: int) -> tuple[list[str], list[str]]:
    """Calls queued from the test and from pool tasks: (queue order, run order)."""
    with Simulation(seed=seed) as sim:
        reactor = sim.reactor(threads=3)
        queued: list[str] = []
        ran: list[str] = []

        def enqueue(label: str) -> None:
            queued.append(label)
            reactor.call(ran.append, label)

        for i in range(8):
            reactor.call_in_thread(enqueue, f"from pool {i}")
            enqueue(f"from test {i}")
        sim.run_until_idle()
        return queued, ran


def test_reactor_stays_fifo_whatever_the_interleaving() -> None:
    queue_orders = set()
    for seed in SEEDS:
        queued, ran = reactor_fifo_run(seed)
        assert len(ran) == 16, seed
        assert ran == queued, f"seed {seed}"
        queue_orders.add(tuple(queued))
    # The seeds did interleave the pool and the reactor differently.
    assert len(queue_orders) > 1


# -- pools ----------------------------------------------------------------------------------


def one_worker_pool_run(seed: int) -> tuple[list[str], list[str]]:
    """Tasks queued from the test, from reactor calls and from the pool's own tasks,
    interleaved by the seed: (queue order, run order)."""
    with Simulation(seed=seed) as sim:
        reactor = sim.reactor(threads=1)
        queued: list[str] = []
        ran: list[str] = []

        def task(label: str) -> None:
            ran.append(label)
            if label.startswith("from test"):
                enqueue(f"child of {label}")

        def enqueue(label: str) -> None:
            queued.append(label)
            reactor.call_in_thread(task, label)

        for i in range(8):
            reactor.call(enqueue, f"from reactor {i}")
            enqueue(f"from test {i}")
        sim.run_until_idle()
        return queued, ran


def test_pool_with_one_worker_is_fifo_whatever_the_interleaving() -> None:
    queue_orders = set()
    for seed in SEEDS:
        queued, ran = one_worker_pool_run(seed)
        assert len(ran) == 24, seed
        assert ran == queued, f"seed {seed}"
        queue_orders.add(tuple(queued))
    assert len(queue_orders) > 1


def peak_in_flight(seed: int, workers: int) -> int:
    """The most tasks in flight at once (taken from the queue by a worker and not yet
    finished) when twelve tasks go to a pool of ``workers``."""
    with Simulation(seed=seed) as sim:
        pool = sim.thread_pool(workers, name="pool")
        submitted = 12
        finished = 0
        peak = 0

        def task() -> None:
            nonlocal finished, peak
            taken = submitted - pool.queued_count
            peak = max(peak, taken - finished)
            finished += 1

        results = [pool.queue_task(task) for _ in range(submitted)]
        sim.run_until_idle()
        assert all(r.done() and r.exception() is None for r in results)
        return peak


def test_pool_with_n_workers_runs_at_most_n_tasks_at_once() -> None:
    for seed in SEEDS:
        assert peak_in_flight(seed, workers=3) == 3, f"seed {seed}"


def n_worker_pool_run(seed: int) -> list[tuple[int, str]]:
    """Nine tasks on three workers: (task index, worker) in the order they finished."""
    with Simulation(seed=seed) as sim:
        pool = sim.thread_pool(3, name="pool")
        finished: list[tuple[int, str]] = []
        for i in range(9):
            pool.queue_task(lambda i=i: finished.append((i, where(sim))))
        sim.run_until_idle()
        return finished


def test_pool_with_n_workers_finishes_tasks_in_different_orders_for_different_seeds() -> None:
    orders = set()
    for seed in SEEDS:
        finished = n_worker_pool_run(seed)
        assert sorted(i for i, _ in finished) == list(range(9)), seed
        orders.add(tuple(i for i, _ in finished))

    assert len(orders) >= 2


def test_pool_with_n_workers_starts_tasks_in_queue_order_on_each_worker() -> None:
    workers_used: set[str] = set()
    for seed in SEEDS:
        finished = n_worker_pool_run(seed)
        by_worker: dict[str, list[int]] = {}
        for index, worker in finished:
            by_worker.setdefault(worker, []).append(index)
        for worker, indices in by_worker.items():
            assert indices == sorted(indices), f"seed {seed}, {worker}: {indices}"
        workers_used.update(by_worker)

    assert workers_used == {"pool-1", "pool-2", "pool-3"}


# An interleaving is part of what this test specifies: FIFO whatever --asyncthreads-seed.
@pytest.mark.asyncthreads(chooser=FifoChooser())
def test_fifo_chooser_finishes_pool_tasks_in_queue_order(asyncthreads_sim: Simulation) -> None:
    sim = asyncthreads_sim
    pool = sim.thread_pool(3, name="pool")
    finished: list[int] = []

    for i in range(9):
        pool.queue_task(finished.append, i)
    sim.run_until_idle()

    assert finished == list(range(9))
    assert sim.scheduler.departures == []
    assert sim.replay_token == "at2:"


# -- several reactors ------------------------------------------------------------------------


def test_reactors_due_at_one_instant_run_in_the_order_they_asked_for_it(
    asyncthreads_sim: Simulation,
) -> None:
    sim = asyncthreads_sim
    first = sim.reactor(threads=0, name="first")
    second = sim.reactor(threads=0, name="second")
    ran: list[str] = []
    early = first.call_at(1.0, ran.append, "first at 1")
    first.call_at(2.0, ran.append, "first at 2")
    second.call_at(2.0, ran.append, "second at 2")
    sim.run_until_idle()

    # Woken at t=1 for nothing, `first` asks for t=2 again: after `second` did.
    early.cancel()
    sim.advance_to(3.0)

    assert ran == ["second at 2", "first at 2"]


# -- reproducibility ------------------------------------------------------------------------


def busy_scenario(sim: Simulation) -> list[Any]:
    """A reactor, a second pool, timers, a periodic task and deferrals, all racing."""
    reactor = sim.reactor(threads=3)
    pool = sim.thread_pool(2, name="side-pool")
    log: list[Any] = []

    def pool_task(i: int) -> int:
        log.append(("pool", i, where(sim)))
        if i % 3 == 0:
            reactor.call_later(0.25, log.append, ("later from pool", i))
        reactor.call(log.append, ("from pool", i))
        return i

    def on_reactor(i: int) -> Any:
        log.append(("reactor", i))
        return defer_to_thread(pool_task, 100 + i)

    for i in range(6):
        reactor.call_in_thread(pool_task, i)
        pool.queue_task(pool_task, 10 + i)
        reactor.call(on_reactor, i)
        reactor.call_later(i * 0.1, log.append, ("timer", i))
    reactor.call_every(0.3, lambda: log.append(("tick", sim.now)), in_thread=True)
    sim.advance(2)
    return log


def test_same_seed_gives_an_identical_run() -> None:
    with Simulation(seed=1234) as first:
        first_log = busy_scenario(first)
    with Simulation(seed=1234) as second:
        second_log = busy_scenario(second)

    assert list(second.trace) == list(first.trace)
    assert second.replay_token == first.replay_token
    assert second_log == first_log
    assert len(first.scheduler.departures) > 10  # the seed really decided things


def test_different_seeds_give_different_runs() -> None:
    tokens = set()
    traces = set()
    for seed in range(5):
        with Simulation(seed=seed) as sim:
            busy_scenario(sim)
            tokens.add(sim.replay_token)
            traces.add(tuple(sim.trace))

    assert len(tokens) > 1
    assert len(traces) > 1


def test_replay_token_reproduces_a_seeded_run_exactly() -> None:
    with Simulation(seed=99) as seeded:
        seeded_log = busy_scenario(seeded)
    token = seeded.replay_token

    with Simulation(replay=token) as replayed:
        replayed_log = busy_scenario(replayed)

    assert list(replayed.trace) == list(seeded.trace)
    assert replayed_log == seeded_log
    assert replayed.replay_token == token
    assert replayed.replay_diverged_at is None


def test_replay_token_reproduces_every_seed_of_a_pool_race() -> None:
    for seed in range(20):
        with Simulation(seed=seed) as seeded:
            seeded_order = n_worker_pool_run_on(seeded)
        with Simulation(replay=seeded.replay_token) as replayed:
            replayed_order = n_worker_pool_run_on(replayed)
        assert replayed_order == seeded_order, f"seed {seed}"
        assert list(replayed.trace) == list(seeded.trace), f"seed {seed}"


def n_worker_pool_run_on(sim: Simulation) -> list[int]:
    pool = sim.thread_pool(3, name="pool")
    finished: list[int] = []
    for i in range(9):
        pool.queue_task(finished.append, i)
    sim.run_until_idle()
    return finished
