"""``schedules()``: hypothesis draws a simulation's interleaving decisions, records them in
the replay token, and shrinks a failing interleaving towards FIFO."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncthreads.testing import Simulation, schedules
from asyncthreads.testing.choosers import decode_token
from asyncthreads.testing.strategies import HypothesisChooser


def finish_order(sim: Simulation) -> list[int]:
    """Nine tasks on three workers: the order they finish in, which the chooser decides."""
    pool = sim.thread_pool(3, name="p")  # actors 0, 1 and 2
    finished: list[int] = []
    for n in range(9):
        pool.submit(finished.append, n)
    sim.run_until_idle()
    return finished


def overdraw(sim: Simulation) -> int:
    """Two withdrawals of 60 from 100, each checked on the reactor and debited in the pool
    (check-then-act); each debit mails a statement. The balance left: negative if the
    second check runs before the first debit."""
    reactor = sim.reactor(threads=1, name="bank")  # its worker is actor 0, its loop actor 1
    mail = sim.thread_pool(2, name="mail")  # actors 2 and 3
    account = {"balance": 100}

    def debit(amount: int) -> None:
        account["balance"] -= amount
        for line in ("debited", str(amount), "balance", str(account["balance"])):
            mail.submit(str, line)

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


def falsify(check: Callable[[Simulation], object]) -> list[Simulation]:
    """The simulations of every example until ``check`` fails and is shrunk; the last is
    the final, shrunk example's."""
    sims: list[Simulation] = []
    with pytest.raises(AssertionError):
        explore(check, sims)
    return sims


def departures(sim: Simulation) -> list[tuple[int, int]]:
    return decode_token(sim.replay_token)


# -- driving a simulation -------------------------------------------------------------------


def test_schedules_draws_a_chooser_that_drives_a_simulation() -> None:
    sims: list[Simulation] = []

    def runs_every_task(sim: Simulation) -> None:
        assert isinstance(sim.scheduler.chooser, HypothesisChooser)
        assert sorted(finish_order(sim)) == list(range(9))

    explore(runs_every_task, sims)

    assert sims


def test_schedules_draws_a_decision_each_time_the_simulation_asks() -> None:
    def one_draw_per_decision(sim: Simulation) -> None:
        finish_order(sim)
        chooser = sim.scheduler.chooser
        assert isinstance(chooser, HypothesisChooser)
        # Nine tasks on three workers: three ready for 7 steps, then two, then one.
        assert chooser.decisions == 8

    explore(one_draw_per_decision, [])


def test_schedules_explores_interleavings_other_than_fifo() -> None:
    sims: list[Simulation] = []

    explore(finish_order, sims)

    tokens = {sim.replay_token for sim in sims}
    assert "at2:" in tokens
    assert len(tokens) > 10


def test_a_run_driven_by_schedules_is_reproduced_by_its_replay_token() -> None:
    def replays(sim: Simulation) -> None:
        original = finish_order(sim)
        replayed = Simulation(replay=sim.replay_token)
        assert finish_order(replayed) == original
        assert list(replayed.trace) == list(sim.trace)
        assert replayed.replay_token == sim.replay_token

    explore(replays, [])


# -- finding and shrinking a race -------------------------------------------------------------


def test_the_overdraft_race_does_not_happen_in_fifo_order() -> None:
    assert overdraw(Simulation()) == 40


def test_schedules_finds_the_interleaving_of_a_check_then_act_race() -> None:
    shrunk = falsify(never_overdrawn)[-1]

    # The bank's loop (actor 1) runs the second check at step 1, before the first debit.
    assert (1, 1) in departures(shrunk)


def test_the_replay_token_of_the_shrunk_example_reproduces_the_failure() -> None:
    token = falsify(never_overdrawn)[-1].replay_token

    replayed = Simulation(replay=token)

    assert overdraw(replayed) == -20
    assert replayed.replay_diverged_at is None


def test_a_failing_interleaving_shrinks_away_the_departures_it_does_not_need() -> None:
    def finishes_in_order(sim: Simulation) -> None:
        finished = finish_order(sim)
        assert finished == sorted(finished)

    sims = falsify(finishes_in_order)

    failing = [sim for sim in sims if sim.replay_token != "at2:"]
    assert max(len(departures(sim)) for sim in failing) > 1  # it found more than it needs
    assert len(departures(sims[-1])) == 1


def test_a_failing_interleaving_shrinks_to_the_fewest_departures_from_fifo() -> None:
    def task_0_finishes_before_task_2(sim: Simulation) -> None:
        finished = finish_order(sim)
        assert finished.index(0) < finished.index(2)

    sims = falsify(task_0_finishes_before_task_2)

    # One departure suffices: p-3 (actor 2) runs task 2 at step 0.
    assert departures(sims[-1]) == [(0, 2)]
