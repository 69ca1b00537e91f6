"""The state machine catches bugs: each test plants one broken behaviour in the library
(with ``monkeypatch``, for that test only) and runs :class:`ReactorMachine` until it
fails, for the reason the bug should cause.

Runs skip shrinking, so a search stops at the first failing example. The examples each
bug needed (the failing one counted; programs of up to 30 rules): "ci" is this file's
deterministic search (``derandomize``, no database), "median" and "max" are over 20 random
seeds (``hypothesis.seed(0..19)``), a fairer picture of how hard each bug is to find::

    bug                                                       ci  median     max
    cancel_scheduled answers True without cancelling           3       4      80
    Result.cancel() answers False when already cancelled      12      13     233
    equal deadlines fire last scheduled first                  3      12     101
    a timer fires up to 0.25 s early                           3      12      96
    a timer fires 0.5 s late                                   3       5      12
    a periodic task drifts off its grid                       19     100    1013
    a periodic task bunches its missed ticks (deep only)      37    1824    6998
    the reactor runs its newest call first                    22       5      44
    the pool starts its newest task first                     12      24     234
    a pool worker is handed the same task twice                3       3      28
    shrinking the pool retires no worker                     133     130     425
    a continuation deferred to the pool is lost                5       5      39
    shutdown drops pending timers without ending them          3       3       7

Bunching needs a rare program (an in-thread periodic task, a pool with no workers across
a grid point, workers again), so only ``HYPOTHESIS_PROFILE=deep`` runs that search.
(``BUDGET`` bounds each search; a bug the machine stops catching within it fails here.)
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from asyncthreads import Reactor, Result, ThreadPool
from asyncthreads.periodic import PeriodicTask
from asyncthreads.scheduler import STOP, Stop, Work
from asyncthreads.task import Task
from asyncthreads.testing.stateful import ModelViolation, ReactorMachine
from asyncthreads.timer_heap import TimerHeap

BUDGET = 3000  # examples per bug, at most

SEARCH = settings(
    max_examples=BUDGET,
    stateful_step_count=30,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.generate],  # stop at the first failure: no shrinking
    report_multiple_bugs=False,
)


def examples_to_catch(match: str, *, budget: int = BUDGET) -> int:
    """Run the machine until it fails with a ModelViolation matching ``match``; return how
    many examples that took."""
    made: list[int] = []

    class Counting(ReactorMachine):
        def __init__(self) -> None:
            made.append(1)
            super().__init__()

    with pytest.raises(ModelViolation, match=match):
        run_state_machine_as_test(Counting, settings=settings(SEARCH, max_examples=budget))
    return len(made) - 1  # hypothesis runs the failing example once more to report it


# -- cancellation ---------------------------------------------------------------------------


def test_cancel_scheduled_answering_true_without_cancelling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def cancel_scheduled(self: Reactor, result: Result[Any]) -> bool:
        return True

    monkeypatch.setattr(Reactor, "cancel_scheduled", cancel_scheduled)

    examples_to_catch(r"cancel_scheduled of .* answered True")


def test_result_cancel_answering_false_when_already_cancelled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def cancel(self: Result[Any]) -> bool:
        return self._cancel_if_pending()  # forgets Future.cancel's "already cancelled"

    monkeypatch.setattr(Result, "cancel", cancel)

    examples_to_catch(r"Result.cancel\(\) of .*, which was cancelled, answered False")


# -- timers ---------------------------------------------------------------------------------


def test_equal_deadlines_firing_last_scheduled_first(monkeypatch: pytest.MonkeyPatch) -> None:
    real_take_all = TimerHeap._take_all

    def take_all(self: TimerHeap, due: list[Work], into: Any) -> None:
        real_take_all(self, due[::-1], into)  # ties now fire newest first

    monkeypatch.setattr(TimerHeap, "_take_all", take_all)

    examples_to_catch(r"the reactor is not FIFO")


def test_timers_firing_early(monkeypatch: pytest.MonkeyPatch) -> None:
    real_pop_due = TimerHeap.pop_due

    def pop_due(self: TimerHeap, now: float, into: Any) -> None:
        real_pop_due(self, now + 0.25, into)

    monkeypatch.setattr(TimerHeap, "pop_due", pop_due)

    examples_to_catch(r"fired early")


def test_timers_firing_late(monkeypatch: pytest.MonkeyPatch) -> None:
    real_next_deadline = TimerHeap.next_deadline

    def next_deadline(self: TimerHeap) -> float | None:
        deadline = real_next_deadline(self)
        return None if deadline is None else deadline + 0.5

    monkeypatch.setattr(TimerHeap, "next_deadline", next_deadline)

    examples_to_catch(r"late|ran at t=.*, not at t=")


def test_periodic_task_drifting_off_its_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    def advance(self: PeriodicTask, now: float) -> float:
        self.tick += 1
        return now + self.interval  # from the last run, not from the start: it drifts

    monkeypatch.setattr(PeriodicTask, "advance", advance)

    # Off the grid by float rounding (a hair early), or after a late run: late, or seen as
    # late when work due after the tick's grid point runs before it (which example comes
    # first depends on the hypothesis version: 6.155.2 finds this last one).
    examples_to_catch(
        r"tick .* (fired early|ran at t=.*, not at t=|has not fired by .*: late)"
        r"|the reactor is not FIFO: .* before <job\d+ tick \d+ .*still waiting"
    )


@pytest.mark.skipif(
    settings.get_current_profile_name() != "deep",
    reason="needs about 1800 examples (15 s) by the median: HYPOTHESIS_PROFILE=deep runs it",
)
@pytest.mark.timeout(300)
def test_periodic_task_bunching_its_missed_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    def advance(self: PeriodicTask, now: float) -> float:
        self.tick += 1  # the next tick, even if it is already in the past
        return self.deadline

    monkeypatch.setattr(PeriodicTask, "advance", advance)

    examples_to_catch(r"tick .* fired early", budget=10_000)


# -- ordering -------------------------------------------------------------------------------


def test_reactor_running_its_newest_call_first(monkeypatch: pytest.MonkeyPatch) -> None:
    real_next_work = Reactor._next_work

    def next_work(self: Reactor, now: float) -> Work | float | Stop | None:
        self._ready.rotate(1)  # the newest call jumps the queue
        return real_next_work(self, now)

    monkeypatch.setattr(Reactor, "_next_work", next_work)

    examples_to_catch(r"the reactor is not FIFO")


def test_pool_starting_its_newest_task_first(monkeypatch: pytest.MonkeyPatch) -> None:
    real_next_for = ThreadPool._next_for

    def next_for(self: ThreadPool, worker: Any) -> Work | Stop | None:
        self._queue.reverse()
        try:
            return real_next_for(self, worker)
        finally:
            self._queue.reverse()

    monkeypatch.setattr(ThreadPool, "_next_for", next_for)

    examples_to_catch(r"tasks must start in the order queued")


# -- at most once, nothing lost -------------------------------------------------------------


def test_pool_worker_handed_the_same_task_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    real_next_for = ThreadPool._next_for
    handed: dict[int, Work] = {}  # keeps each item alive, so ids are not reused

    def next_for(self: ThreadPool, worker: Any) -> Work | Stop | None:
        work = real_next_for(self, worker)
        if work is not None and work is not STOP and id(work) not in handed:
            handed[id(work)] = work
            self._queue.appendleft(work)  # ... and it stays queued for another worker
        return work

    monkeypatch.setattr(ThreadPool, "_next_for", next_for)

    # Dispatched again: seen in the trace, or as a second run (a continuation runs again,
    # on a worker, or a periodic tick runs with no tick due).
    examples_to_catch(
        r"without running it|ran twice|no tick due|before the reactor handed it|not on the reactor"
    )


def test_shrinking_the_pool_retiring_no_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    real_resize = ThreadPool.resize_pool

    def resize_pool(self: ThreadPool, num_threads: int) -> None:
        if num_threads < self._size:
            self._size = num_threads  # reports the new size, but every worker stays
            return
        real_resize(self, num_threads)

    monkeypatch.setattr(ThreadPool, "resize_pool", resize_pool)

    examples_to_catch(r"pool of no workers|worker\(s\)")


def test_continuation_deferred_to_the_pool_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    real_route = Reactor._route

    def route(self: Reactor, task: Task[Any], to_thread: bool) -> None:
        if not to_thread:
            real_route(self, task, to_thread)

    monkeypatch.setattr(Reactor, "_route", route)

    examples_to_catch(r"still wait in the pool|never ended|were lost")


def test_shutdown_dropping_pending_timers_without_ending_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The shutdown cancels the timers it sees pending, and the stopping loop ends what
    # it drains: both must lose them for a timer to be dropped.
    def drain(self: TimerHeap) -> list[Work]:
        self._deadlines.clear()
        self._works.clear()
        return []

    def pending(self: TimerHeap) -> list[tuple[float, Work]]:
        return []

    monkeypatch.setattr(TimerHeap, "drain", drain)
    monkeypatch.setattr(TimerHeap, "pending", pending)

    examples_to_catch(r"never ended|has not fired")


# -- the control ----------------------------------------------------------------------------


def test_the_unbroken_library_passes_the_same_search() -> None:
    run_state_machine_as_test(ReactorMachine, settings=settings(SEARCH, max_examples=200))
