"""explore(): every schedule of a simulated scenario within a bound, each run once."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from asyncthreads.testing import Simulation, checkpoint
from asyncthreads.testing.choosers import decode_token
from asyncthreads.testing.explore import (
    Exploration,
    NondeterministicScenarioError,
    explore,
)


def racing_tasks(
    n_tasks: int, checkpoints: int, log: list[tuple[str, ...]]
) -> Callable[[Simulation], None]:
    """n pool tasks on n workers, each passing ``checkpoints`` schedule points; each run
    appends the order in which the tasks passed them to ``log``."""

    def scenario(sim: Simulation) -> None:
        pool = sim.thread_pool(n_tasks)
        order: list[str] = []

        def task(name: str) -> None:
            for _ in range(checkpoints):
                order.append(name)
                checkpoint()
            order.append(name)

        for i in range(n_tasks):
            pool.submit(task, f"t{i}")
        sim.run_until_idle()
        log.append(tuple(order))

    return scenario


def test_explore_runs_each_schedule_once() -> None:
    log: list[tuple[str, ...]] = []

    found = explore(racing_tasks(2, 2, log), max_departures=None)

    assert found.complete
    assert found.schedules == len(log) == len(set(log))


def test_unbounded_explore_finds_every_interleaving_of_two_tasks() -> None:
    # Two tasks of three segments each (two checkpoints apart) interleave in
    # C(6, 3) = 20 ways; every one is a schedule, and no other.
    log: list[tuple[str, ...]] = []

    explore(racing_tasks(2, 2, log), max_departures=None)

    assert len(set(log)) == math.comb(6, 3)
    assert all(sorted(order) == ["t0"] * 3 + ["t1"] * 3 for order in log)


def test_explore_covers_every_schedule_seeded_random_choice_reaches() -> None:
    explored: list[tuple[str, ...]] = []
    explore(racing_tasks(3, 1, explored), max_departures=None)
    sampled: list[tuple[str, ...]] = []
    scenario = racing_tasks(3, 1, sampled)
    for seed in range(200):
        with Simulation(seed=seed) as sim:
            scenario(sim)

    assert set(sampled) <= set(explored)
    assert len(set(sampled)) > 1


def test_a_bound_on_departures_runs_fewer_schedules_and_only_those_within_it() -> None:
    counts = []
    for bound in (0, 1, 2, None):
        log: list[tuple[str, ...]] = []
        tokens: list[str] = []

        def scenario(
            sim: Simulation, log: list[tuple[str, ...]] = log, tokens: list[str] = tokens
        ) -> None:
            racing_tasks(2, 2, log)(sim)
            tokens.append(sim.replay_token)

        counts.append(explore(scenario, max_departures=bound).schedules)
        if bound is not None:
            assert all(len(decode_token(token)) <= bound for token in tokens)

    assert counts[0] == 1  # FIFO alone
    assert counts == sorted(counts)
    assert counts[-1] == math.comb(6, 3)


def test_the_first_failing_schedule_raises_with_a_token_that_replays_it() -> None:
    def lost_update(sim: Simulation) -> None:
        pool = sim.thread_pool(2)
        counter = {"n": 0}

        def bump() -> None:
            seen = counter["n"]
            checkpoint()  # between the read and the store
            counter["n"] = seen + 1

        pool.submit(bump)
        pool.submit(bump)
        sim.run_until_idle()
        assert counter["n"] == 2

    with pytest.raises(AssertionError) as failed:
        explore(lost_update)

    (note,) = failed.value.__notes__
    token = note.split("replay=")[1].rstrip(")").strip("'")
    with pytest.raises(AssertionError), Simulation(replay=token) as sim:
        lost_update(sim)


def test_a_scenario_with_no_race_passes_every_schedule() -> None:
    def locked_update(sim: Simulation) -> None:
        reactor = sim.reactor(threads=2)
        counter = {"n": 0}

        def bump() -> None:  # on the reactor thread: serial
            counter["n"] += 1

        for _ in range(2):
            reactor.call_in_thread(lambda: reactor.call(bump).result())
        sim.run_until_idle()
        assert counter["n"] == 2

    found = explore(locked_update, max_departures=None)

    assert found.complete
    assert found.schedules > 1
    assert str(found) == (
        f"{found.schedules} distinct schedules with any number of departures from FIFO, all pass"
    )


def test_max_schedules_stops_the_exploration_and_says_it_is_incomplete() -> None:
    found = explore(racing_tasks(2, 2, []), max_departures=None, max_schedules=5)

    assert found == Exploration(5, complete=False, max_departures=None)
    assert "stopped at max_schedules" in str(found)


def test_a_scenario_that_is_not_deterministic_is_reported() -> None:
    runs: list[None] = []

    def flaky(sim: Simulation) -> None:
        runs.append(None)
        racing_tasks(2 if len(runs) == 1 else 3, 1, [])(sim)

    with pytest.raises(NondeterministicScenarioError, match="ready threads when replayed"):
        explore(flaky, max_departures=None)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"max_departures": -1}, ValueError, "max_departures must be at least 0"),
        ({"max_departures": 1.5}, TypeError, "max_departures must be an int or None"),
        ({"max_schedules": 0}, ValueError, "max_schedules must be at least 1"),
        ({"max_schedules": "10"}, TypeError, "max_schedules must be an int"),
        ({"seed": 3}, TypeError, "explore chooses the schedules itself"),
    ],
)
def test_explore_rejects_bad_options(
    options: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        explore(lambda sim: None, **options)  # type: ignore[arg-type]


def test_explore_rejects_a_scenario_that_is_not_callable() -> None:
    with pytest.raises(TypeError, match="scenario must be callable"):
        explore("scenario")  # type: ignore[arg-type]
