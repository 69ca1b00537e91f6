"""The blocking interface of the step scheduler: current_thread, block, wake,
schedule_point, as simulated primitives use it (a Gate here stands for such a primitive).
"""

from __future__ import annotations

import contextvars
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from asyncthreads import DeadlockError
from asyncthreads.testing import Candidate, Simulation, checkpoint
from asyncthreads.testing.sim_thread import SimThread, TestThread


class Gate:
    """A one-shot gate: threads block in ``wait`` until ``open`` wakes them all."""

    def __init__(self, sim: Simulation) -> None:
        self.scheduler = sim.scheduler
        self.is_open = False
        self.waiting: list[SimThread | TestThread] = []

    def wait(self, timeout: float | None = None) -> bool:
        if self.is_open:
            return True
        scheduler = self.scheduler
        deadline = None if timeout is None else scheduler.clock.now() + timeout
        thread = scheduler.current_thread()
        self.waiting.append(thread)
        try:
            return scheduler.block(self, deadline)
        finally:
            self.waiting.remove(thread)

    def open(self) -> None:
        self.is_open = True
        for thread in list(self.waiting):
            self.scheduler.wake(thread)

    def describe(self) -> str:
        return "the gate"

    def holders(self) -> list[Any]:
        return []


class PickLastFromStep:
    """A chooser that is FIFO before step ``first``, then picks the last candidate."""

    def __init__(self, first: int) -> None:
        self.first = first

    def choose(self, step: int, ready: Sequence[Candidate]) -> int:
        return len(ready) - 1 if step >= self.first else 0


def test_current_thread_on_the_test_is_the_test_thread_named_main_thread(
    sim: Simulation,
) -> None:
    thread = sim.scheduler.current_thread()

    assert thread is sim.scheduler.test_thread
    assert (thread.name, thread.ident) == ("MainThread", 0)


def test_current_thread_in_a_pool_task_is_its_worker_with_a_unique_ident(
    sim: Simulation,
) -> None:
    pool = sim.thread_pool(2, name="p")

    def me() -> tuple[str, int]:
        thread = sim.scheduler.current_thread()
        sim.sleep(0)  # both tasks in flight at once
        return thread.name, thread.ident

    first, second = pool.submit(me), pool.submit(me)

    assert {first.result()[0], second.result()[0]} == {"p-1", "p-2"}
    assert first.result()[1] != second.result()[1]
    assert 0 not in (first.result()[1], second.result()[1])


def test_a_task_blocked_on_a_gate_continues_when_another_task_opens_it(
    sim: Simulation,
) -> None:
    pool = sim.thread_pool(2)
    gate = Gate(sim)
    order: list[str] = []

    def waiter() -> bool:
        woken = gate.wait()
        order.append("waiter continues")
        return woken

    def opener() -> None:
        gate.open()
        order.append("opener goes on after waking")  # wake never switches threads

    woken = pool.submit(waiter)
    pool.submit(opener)

    assert woken.result() is True
    assert order == ["opener goes on after waking", "waiter continues"]


def test_block_with_a_deadline_returns_false_at_that_virtual_time(sim: Simulation) -> None:
    pool = sim.thread_pool(1)
    gate = Gate(sim)

    def waiter() -> tuple[bool, float]:
        return gate.wait(timeout=4), sim.now

    assert pool.submit(waiter).result() == (False, 4.0)


def test_block_with_a_deadline_of_now_lets_other_ready_work_run_first(sim: Simulation) -> None:
    pool = sim.thread_pool(2)
    gate = Gate(sim)
    order: list[str] = []

    def waiter() -> bool:
        woken = gate.wait(timeout=0)
        order.append("waiter")
        return woken

    def opener() -> None:
        order.append("opener")
        gate.open()

    woken = pool.submit(waiter)
    pool.submit(opener)

    assert woken.result() is True  # the opener ran at the schedule point and woke it
    assert order == ["opener", "waiter"]
    assert sim.now == 0.0


def test_block_on_the_test_thread_drives_until_a_task_wakes_it(sim: Simulation) -> None:
    reactor = sim.reactor(1)
    gate = Gate(sim)
    reactor.call_later(3, gate.open)

    assert gate.wait() is True
    assert sim.now == 3.0


def test_block_on_the_test_thread_that_nothing_can_end_raises_deadlock_naming_it(
    sim: Simulation,
) -> None:
    with pytest.raises(DeadlockError, match="the gate"):
        Gate(sim).wait()


def test_block_on_the_test_thread_with_a_deadline_times_out_at_it(sim: Simulation) -> None:
    assert Gate(sim).wait(timeout=2.5) is False
    assert sim.now == 2.5


def test_wake_of_a_thread_that_is_not_blocked_is_harmless(sim: Simulation) -> None:
    pool = sim.thread_pool(1)

    def wake_myself() -> int:
        sim.scheduler.wake(sim.scheduler.current_thread())
        return 1

    assert pool.submit(wake_myself).result() == 1


def test_schedule_point_on_the_test_thread_does_nothing(sim: Simulation) -> None:
    pool = sim.thread_pool(1)
    task = pool.submit(int)

    sim.scheduler.schedule_point()

    assert not task.done()
    assert sim.trace.total == 0


def test_schedule_point_under_fifo_continues_the_current_thread(sim: Simulation) -> None:
    pool = sim.thread_pool(2)
    order: list[str] = []

    def first() -> None:
        order.append("first, before")
        sim.scheduler.schedule_point()
        order.append("first, after")

    pool.submit(first)
    pool.submit(order.append, "second")
    sim.run_until_idle()

    assert order == ["first, before", "first, after", "second"]


def test_schedule_point_lets_the_chooser_run_another_thread_first() -> None:
    # Step 0 starts the first task (FIFO); step 1 is its schedule point.
    with Simulation(chooser=PickLastFromStep(1)) as sim:
        pool = sim.thread_pool(2)
        order: list[str] = []

        def first() -> None:
            order.append("first, before")
            sim.scheduler.schedule_point()
            order.append("first, after")

        pool.submit(first)
        pool.submit(order.append, "second")
        sim.run_until_idle()

    assert order == ["first, before", "second", "first, after"]
    assert sim.replay_token == "at2:1:1"


def test_schedule_point_decisions_replay_from_the_token() -> None:
    def run(sim: Simulation) -> list[str]:
        pool = sim.thread_pool(3)
        order: list[str] = []

        def task(name: str) -> None:
            for i in range(3):
                order.append(f"{name}{i}")
                sim.scheduler.schedule_point()

        for name in "abc":
            pool.submit(task, name)
        sim.run_until_idle()
        return order

    with Simulation(seed=7) as sim:
        original = run(sim)
        token = sim.replay_token
    with Simulation(replay=token) as again:
        assert run(again) == original
        assert again.replay_diverged_at is None
    assert original != sorted(original)  # the seed did interleave them


def test_context_variables_stay_per_task_across_blocks(sim: Simulation) -> None:
    pool = sim.thread_pool(2)
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    def task(name: str, pause: float) -> tuple[str, str]:
        var.set(name)
        sim.sleep(pause)
        return name, var.get()

    first, second = pool.submit(task, "a", 2), pool.submit(task, "b", 1)

    assert first.result() == ("a", "a")
    assert second.result() == ("b", "b")
    assert var.get() == "unset"


def test_no_os_thread_is_started_by_tasks_that_block(sim: Simulation) -> None:
    threads_before = threading.active_count()
    pool = sim.thread_pool(4)

    results = [pool.submit(sim.sleep, n) for n in range(8)]
    results[-1].result()

    assert threading.active_count() == threads_before


def test_checkpoint_on_the_test_thread_does_nothing(sim: Simulation) -> None:
    pool = sim.thread_pool(1)
    task = pool.submit(int)

    checkpoint()

    assert not task.done()
    assert sim.trace.total == 0


@pytest.mark.timeout(10)
def test_checkpoint_on_a_real_thread_does_nothing() -> None:
    def task() -> str:
        checkpoint()
        return "ran"

    with ThreadPoolExecutor(1) as executor:
        assert executor.submit(task).result() == "ran"


def test_checkpoint_in_simulated_work_is_a_schedule_point() -> None:
    with Simulation(chooser=PickLastFromStep(1)) as sim:
        pool = sim.thread_pool(2)
        order: list[str] = []

        def first() -> None:
            order.append("first, before")
            checkpoint()
            order.append("first, after")

        pool.submit(first)
        pool.submit(order.append, "second")
        sim.run_until_idle()

    assert order == ["first, before", "second", "first, after"]


def test_sleep_zero_in_a_task_lets_the_other_ready_task_run_first(sim: Simulation) -> None:
    pool = sim.thread_pool(2)
    order: list[str] = []

    def first() -> None:
        order.append("first, before")
        sim.sleep(0)
        order.append("first, after")

    pool.submit(first)
    pool.submit(order.append, "second")
    sim.run_until_idle()

    assert order == ["first, before", "second", "first, after"]
    assert sim.now == 0.0


@pytest.mark.timeout(60)
def test_importing_asyncthreads_imports_no_greenlet_hypothesis_or_pytest() -> None:
    code = (
        "import sys, asyncthreads\n"
        "print(sorted(m for m in ('greenlet', 'hypothesis', 'pytest') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=50, check=True
    )

    assert done.stdout.strip() == "[]"
