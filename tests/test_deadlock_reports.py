"""DeadlockError reports: each simulated thread, what it waits for, what it holds, where
it blocked (file:line), and the last steps. A toy lock built on the blocking interface
stands for the simulated locks."""

from __future__ import annotations

from pathlib import Path

import pytest

from asyncthreads import DeadlockError
from asyncthreads.testing import Simulation
from asyncthreads.testing.sim_thread import SimThread, TestThread


class ToyLock:
    """A non-reentrant lock on the blocking interface, with an owner for reports."""

    def __init__(self, sim: Simulation, name: str) -> None:
        self.scheduler = sim.scheduler
        self.name = name
        self.owner: SimThread | TestThread | None = None
        self.waiting: list[SimThread | TestThread] = []

    def acquire(self) -> None:
        self.scheduler.schedule_point()  # as every simulated primitive operation is
        me = self.scheduler.current_thread()
        while self.owner is not None:
            self.waiting.append(me)
            self.scheduler.block(self, None)
            self.waiting.remove(me)
        self.owner = me

    def release(self) -> None:
        self.owner = None
        for thread in list(self.waiting):
            self.scheduler.wake(thread)

    def describe(self) -> str:
        owner = self.owner.name if self.owner is not None else "nobody"
        return f"{self.name} held by {owner}"

    def holders(self) -> list[SimThread | TestThread]:
        return [self.owner] if self.owner is not None else []


BLOCK_LINE = ToyLock.acquire.__code__.co_firstlineno + 5  # the block() call


def lock_order_inversion(sim: Simulation) -> DeadlockError:
    """Two pool tasks take two locks in opposite orders; the test waits for the first."""
    pool = sim.thread_pool(2, name="p")
    a, b = ToyLock(sim, "lock a"), ToyLock(sim, "lock b")

    def take(first: ToyLock, second: ToyLock) -> None:
        first.acquire()
        sim.sleep(0)  # both hold their first lock
        second.acquire()

    one = pool.submit(take, a, b)
    pool.submit(take, b, a)
    with pytest.raises(DeadlockError) as caught:
        one.result()
    return caught.value


def thread_line(report: str, thread: str) -> str:
    (line,) = [line for line in report.splitlines() if line.startswith(f"  {thread}: ")]
    return line


def test_a_deadlock_report_headline_names_the_cycle(sim: Simulation) -> None:
    headline = str(lock_order_inversion(sim)).splitlines()[0]

    assert headline.endswith(
        "a cycle: p-1 waits for lock b held by p-2, p-2 waits for lock a held by p-1"
    )


def test_a_deadlock_report_says_what_each_thread_waits_for(sim: Simulation) -> None:
    report = str(lock_order_inversion(sim))

    assert "waits for lock b held by p-2" in thread_line(report, "p-1")
    assert "waits for lock a held by p-1" in thread_line(report, "p-2")


def test_a_deadlock_report_says_what_each_thread_holds(sim: Simulation) -> None:
    report = str(lock_order_inversion(sim))

    assert thread_line(report, "p-1").endswith("holds lock a held by p-1")
    assert thread_line(report, "p-2").endswith("holds lock b held by p-2")


def test_a_deadlock_report_says_where_each_thread_blocked(sim: Simulation) -> None:
    report = str(lock_order_inversion(sim))

    where = f"{__file__}:{BLOCK_LINE}"
    assert where in thread_line(report, "p-1")
    assert where in thread_line(report, "p-2")


def test_a_deadlock_report_names_the_test_and_the_last_steps(sim: Simulation) -> None:
    report = str(lock_order_inversion(sim))

    assert "MainThread (the test): waits for the Result of lock_order_inversion." in report
    assert "last 4 steps:" in report
    assert report.rstrip().endswith("take -> blocked")


def test_block_line_is_the_line_of_the_block_call() -> None:
    lines = Path(__file__).read_text().splitlines()
    assert "self.scheduler.block(self, None)" in lines[BLOCK_LINE - 1]


def transfers(sim: Simulation) -> None:
    """Two pool tasks each take both locks, in opposite orders, and release them."""
    pool = sim.thread_pool(2, name="p")
    a, b = ToyLock(sim, "lock a"), ToyLock(sim, "lock b")

    def take(first: ToyLock, second: ToyLock) -> None:
        first.acquire()
        second.acquire()
        second.release()
        first.release()

    done = [pool.submit(take, a, b), pool.submit(take, b, a)]
    for result in done:
        result.result()


def test_a_lock_order_inversion_passes_under_fifo(sim: Simulation) -> None:
    transfers(sim)


def test_seeded_exploration_finds_a_lock_order_inversion_and_its_token_replays_it() -> None:
    tokens = []
    headlines = []
    for seed in range(50):
        with Simulation(seed=seed) as sim:
            try:
                transfers(sim)
            except DeadlockError as error:
                headlines.append(str(error).splitlines()[0])
                tokens.append(sim.replay_token)
    assert tokens, "no seed of 50 deadlocked"
    assert all("a cycle: p-" in headline for headline in headlines)

    with Simulation(replay=tokens[0]) as replayed, pytest.raises(DeadlockError):
        transfers(replayed)
