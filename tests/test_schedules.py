"""``schedules()``: hypothesis draws a simulation's interleaving decisions, records them in
the replay token, and shrinks a failing interleaving towards FIFO."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncthreads.testing import Simulation, TraceEvent, schedules
from asyncthreads.testing.choosers import decode_token
from asyncthreads.testing.strategies import HypothesisChooser


def race(sim: Simulation) -> list[TraceEvent]:
    """Nine tasks on three workers: the chooser decides which lands first."""
    pool = sim.thread_pool(3, name="p")
    for n in range(9):
        pool.submit(str, n)
    sim.run_until_idle()
    return list(sim.trace)


def overdraw(sim: Simulation) -> int:
    """Two withdrawals of 60 from 100, each checked on the reactor and debited in the
    pool: check-then-act. The balance left (negative if both checks ran before a debit)."""
    reactor = sim.reactor(threads=1, name="bank")
    account = {"balance": 100}

    def debit(amount: int) -> None:
        account["balance"] -= amount

    def withdraw(amount: int) -> None:
        if account["balance"] >= amount:
            reactor.call_in_thread(debit, amount)

    reactor.call(withdraw, 60)
    reactor.call(withdraw, 60)
    sim.run_until_idle()
    return account["balance"]


def never_overdrawn(sim: Simulation) -> None:
    assert overdraw(sim) >= 0


def explore(check: Callable[[Simulation], object], sims: list[Simulation]) -> None:
    """Check a property of simulations driven by ``schedules()``, deterministically,
    appending each example's simulation to ``sims`` (after a failure, the last is the
    final, shrunk example's)."""

    @settings(database=None, derandomize=True, max_examples=40)
    @given(st.data())
    def test(data: st.DataObject) -> None:
        sim = Simulation(chooser=data.draw(schedules()))
        sims.append(sim)
        check(sim)

    test()


def shrunk_example(check: Callable[[Simulation], None]) -> Simulation:
    """The simulation of the final, shrunk example that falsifies ``check``."""
    sims: list[Simulation] = []
    with pytest.raises(AssertionError):
        explore(check, sims)
    return sims[-1]


# -- driving a simulation -------------------------------------------------------------------


def test_schedules_draws_a_chooser_that_drives_a_simulation() -> None:
    sims: list[Simulation] = []

    def runs_every_task(sim: Simulation) -> None:
        assert isinstance(sim.scheduler.chooser, HypothesisChooser)
        assert len(race(sim)) == 9

    explore(runs_every_task, sims)

    assert sims


def test_schedules_draws_a_decision_each_time_the_simulation_asks() -> None:
    def one_draw_per_decision(sim: Simulation) -> None:
        race(sim)
        chooser = sim.scheduler.chooser
        assert isinstance(chooser, HypothesisChooser)
        # Nine tasks on three workers: three ready for 7 steps, then two, then one.
        assert chooser.decisions == 8

    explore(one_draw_per_decision, [])


def test_schedules_explores_interleavings_other_than_fifo() -> None:
    sims: list[Simulation] = []

    explore(race, sims)

    tokens = {sim.replay_token for sim in sims}
    assert "at2:" in tokens
    assert len(tokens) > 10


def test_a_run_driven_by_schedules_is_reproduced_by_its_replay_token() -> None:
    def replays(sim: Simulation) -> None:
        original = race(sim)
        replayed = Simulation(replay=sim.replay_token)
        assert race(replayed) == original
        assert replayed.replay_token == sim.replay_token

    explore(replays, [])


# -- finding and shrinking a race -------------------------------------------------------------


def test_the_overdraft_race_does_not_happen_in_fifo_order() -> None:
    assert overdraw(Simulation()) == 40


def test_schedules_finds_an_interleaving_that_breaks_a_property() -> None:
    sim = shrunk_example(never_overdrawn)

    assert decode_token(sim.replay_token)  # not FIFO, which passes


def test_a_failing_interleaving_shrinks_to_a_single_departure_from_fifo() -> None:
    sim = shrunk_example(never_overdrawn)

    # The reactor runs the second check (bank is actor 1, after its pool's worker) before
    # the worker runs the first debit, at step 1; every other decision is FIFO.
    assert sim.replay_token == "at2:1:1"


def test_the_replay_token_of_the_shrunk_example_reproduces_the_failure() -> None:
    token = shrunk_example(never_overdrawn).replay_token

    replayed = Simulation(replay=token)

    assert overdraw(replayed) == -20
    assert replayed.replay_diverged_at is None
