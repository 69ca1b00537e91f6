"""Choosers decide who runs next when several actors hold ready work; replay tokens record
the departures from FIFO, as (step, actor) pairs, and repeat them."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncthreads import Result, ThreadPool
from asyncthreads.testing import (
    Candidate,
    Chooser,
    FifoChooser,
    PCTChooser,
    RandomChooser,
    ReplayChooser,
    Simulation,
    TraceEvent,
)
from asyncthreads.testing.choosers import decode_token, encode_token

A0, A1, A2 = Candidate(0, "a0"), Candidate(1, "a1"), Candidate(2, "a2")
READY = [A0, A1, A2]


def record(n: int) -> int:
    return n


def race(sim: Simulation, workers: int = 4) -> list[TraceEvent]:
    """Eight tasks on ``workers`` workers, twice, so that the chooser has decisions to make."""
    pool = ThreadPool(workers, clock=sim.clock, scheduler=sim.scheduler, name="race")
    for round_ in range(2):
        for n in range(8):
            pool.submit(record, n)
        sim.advance(round_ + 1)
    return list(sim.trace)


class CountingFifo:
    """FIFO, counting the decisions it was asked to make."""

    def __init__(self) -> None:
        self.decisions = 0

    def choose(self, step: int, ready: Sequence[Candidate]) -> int:
        self.decisions += 1
        return 0


class Always:
    """Always the same index into the ready actors (clamped to the last one)."""

    def __init__(self, index: int) -> None:
        self.index = index

    def choose(self, step: int, ready: Sequence[Candidate]) -> int:
        return min(self.index, len(ready) - 1)


# -- tokens -------------------------------------------------------------------------------

departure_lists = st.lists(
    st.tuples(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=64)),
    max_size=60,
    unique_by=lambda departure: departure[0],
).map(sorted)


@settings(database=None, derandomize=True, max_examples=200)
@given(departure_lists)
def test_a_token_decodes_to_the_departures_it_encodes(departures: list[tuple[int, int]]) -> None:
    assert decode_token(encode_token(departures)) == departures


def test_a_token_lists_departures_as_step_colon_actor() -> None:
    assert encode_token([(3, 1), (9, 0)]) == "at2:3:1,9:0"


def test_a_token_without_departures_is_the_bare_prefix() -> None:
    assert encode_token([]) == "at2:"
    assert decode_token("at2:") == []


@pytest.mark.parametrize(
    "token",
    [
        "",
        "3:1",
        "at1:0x3",  # the old format
        "AT2:3:1",
        "at2:x",
        "at2:3",
        "at2:3:",
        "at2::1",
        "at2:-3:1",
        "at2:3:-1",
        "at2:3:1:0",
        "at2: 3:1",
        "at2:3:1,",
        "at2:,",
        "at2:3:1;9:0",
    ],
)
def test_a_malformed_token_raises_value_error(token: str) -> None:
    with pytest.raises(ValueError, match="token"):
        decode_token(token)


@pytest.mark.parametrize("token", ["at2:3:1,3:0", "at2:9:0,3:1"])
def test_a_token_whose_steps_do_not_strictly_increase_raises_value_error(token: str) -> None:
    with pytest.raises(ValueError, match="must increase"):
        decode_token(token)


@pytest.mark.parametrize("token", ["at2:3:1\n,9:0", "at2:\u0663:1"])
def test_a_token_with_a_newline_or_a_non_ascii_digit_inside_is_malformed(token: str) -> None:
    with pytest.raises(ValueError, match="token"):
        decode_token(token)


def test_a_token_that_is_not_text_raises_value_error() -> None:
    with pytest.raises(ValueError, match="not a replay token"):
        decode_token(7)  # type: ignore[arg-type]


def test_simulation_rejects_a_malformed_replay_token() -> None:
    with pytest.raises(ValueError, match="replay token"):
        Simulation(replay="not-a-token")


# -- the choosers ---------------------------------------------------------------------------


def test_choosers_satisfy_the_chooser_protocol() -> None:
    choosers: list[object] = [FifoChooser(), RandomChooser(1), PCTChooser(1), ReplayChooser("at2:")]

    assert all(isinstance(chooser, Chooser) for chooser in choosers)


def test_fifo_chooser_always_picks_the_first_ready() -> None:
    chooser = FifoChooser()

    picks = [chooser.choose(step, READY[: 2 + step % 2]) for step in range(4)]

    assert picks == [0, 0, 0, 0]


def test_random_chooser_with_the_same_seed_makes_the_same_choices() -> None:
    first, second = RandomChooser(99), RandomChooser(99)

    picks = [first.choose(step, READY) for step in range(50)]

    assert picks == [second.choose(step, READY) for step in range(50)]
    assert set(picks) == {0, 1, 2}  # it does choose, within range


def test_random_choosers_with_different_seeds_differ() -> None:
    first, second = RandomChooser(1), RandomChooser(2)

    assert [first.choose(s, READY) for s in range(50)] != [
        second.choose(s, READY) for s in range(50)
    ]


def test_replay_chooser_replays_the_recorded_actors_then_falls_back_to_fifo() -> None:
    chooser = ReplayChooser(encode_token([(0, 2), (2, 1)]))

    picks = [chooser.choose(step, READY) for step in range(5)]

    assert picks == [2, 0, 1, 0, 0]
    assert (chooser.used, chooser.unused) == (2, 0)
    assert chooser.diverged_at is None


def test_replay_chooser_finds_the_recorded_actor_wherever_it_stands_in_the_ready_list() -> None:
    chooser = ReplayChooser(encode_token([(0, 2)]))

    assert chooser.choose(0, [A1, A2, A0]) == 1


def test_replay_chooser_goes_fifo_from_the_step_where_the_recorded_actor_is_not_ready() -> None:
    chooser = ReplayChooser(encode_token([(0, 1), (1, 5), (2, 2)]))

    picks = [chooser.choose(step, READY) for step in range(3)]

    assert picks == [1, 0, 0]  # step 2's actor is ready, but the replay diverged at step 1
    assert chooser.diverged_at == 1
    assert (chooser.used, chooser.unused) == (1, 2)


def test_replay_chooser_counts_departures_the_run_has_not_reached_as_unused() -> None:
    chooser = ReplayChooser(encode_token([(0, 1), (7, 2)]))

    chooser.choose(0, READY)

    assert (chooser.used, chooser.unused) == (1, 1)
    assert chooser.diverged_at is None


# -- PCTChooser -------------------------------------------------------------------------------


def pct_winners(chooser: PCTChooser, steps: int) -> list[int]:
    """The actor chosen at every step from 0 to ``steps``, between two actors whose order
    in the ready list alternates (so that a winner is an actor, not a position)."""
    orders = ([A0, A1], [A1, A0])
    winners = []
    for step in range(steps):
        ready = orders[step % 2]
        winners.append(ready[chooser.choose(step, ready)].actor)
    return winners


def test_pct_chooser_with_the_same_seed_makes_the_same_choices() -> None:
    ready_lists = [READY, [A2, A0], [A1, A2, A0], [A0, A1]] * 25

    def picks(seed: int) -> list[int]:
        chooser = PCTChooser(seed, depth=3, expected_steps=60)
        return [chooser.choose(step, ready) for step, ready in enumerate(ready_lists)]

    assert picks(7) == picks(7)
    assert picks(7) != picks(8)


@settings(database=None, derandomize=True, max_examples=100)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    depth=st.integers(min_value=1, max_value=5),
    extra_steps=st.integers(min_value=0, max_value=40),
    decisions=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=5),  # steps since the last decision
            st.lists(st.integers(min_value=0, max_value=6), min_size=2, max_size=6, unique=True),
        ),
        max_size=60,
    ),
)
def test_pct_chooser_always_returns_an_index_into_the_ready_actors(
    seed: int, depth: int, extra_steps: int, decisions: list[tuple[int, list[int]]]
) -> None:
    chooser = PCTChooser(seed, depth=depth, expected_steps=depth + extra_steps)
    step = 0
    for gap, actors in decisions:
        step += gap
        ready = [Candidate(actor, f"a{actor}") for actor in actors]
        assert 0 <= chooser.choose(step, ready) < len(ready)


def test_pct_chooser_of_depth_one_always_runs_the_same_of_two_actors() -> None:
    winners_by_seed = [set(pct_winners(PCTChooser(seed, depth=1), 100)) for seed in range(20)]

    assert all(len(winners) == 1 for winners in winners_by_seed)
    # The favourite is drawn at random, not the first actor or the first ready.
    assert set().union(*winners_by_seed) == {0, 1}


def test_pct_chooser_of_depth_two_switches_actor_once_at_a_step_below_expected_steps() -> None:
    for seed in range(20):
        winners = pct_winners(PCTChooser(seed, depth=2, expected_steps=30), 60)

        switches = [step for step in range(1, 60) if winners[step] != winners[step - 1]]

        assert len(switches) == 1, f"seed {seed}: {winners}"
        assert 1 <= switches[0] < 30, f"seed {seed}"


@pytest.mark.parametrize(
    ("depth", "expected_steps", "message"),
    [
        (0, 200, "depth must be at least 1"),
        (-1, 200, "depth must be at least 1"),
        (3, 2, "expected_decisions must be at least depth"),
        (1, 0, "expected_decisions must be at least depth"),
    ],
)
def test_pct_chooser_rejects_a_depth_below_one_or_fewer_expected_steps_than_depth(
    depth: int, expected_steps: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        PCTChooser(1, depth=depth, expected_steps=expected_steps)


def test_pct_chooser_accepts_as_many_expected_steps_as_depth() -> None:
    chooser = PCTChooser(1, depth=3, expected_steps=3)

    assert 0 <= chooser.choose(0, READY) < 3


def test_pct_choosers_of_depth_two_or_more_with_different_seeds_give_different_runs() -> None:
    for depth in (2, 3):
        traces = set()
        for seed in range(10):
            sim = Simulation(chooser=PCTChooser(seed, depth=depth, expected_steps=16))
            traces.add(tuple(race(sim)))

        assert len(traces) > 1, f"depth {depth}"


def test_a_pct_run_is_reproduced_by_its_seed() -> None:
    first = race(Simulation(chooser=PCTChooser(5, depth=3, expected_steps=16)))

    assert race(Simulation(chooser=PCTChooser(5, depth=3, expected_steps=16))) == first


# -- choosers in a Simulation ---------------------------------------------------------------


def test_simulation_takes_a_seed_or_a_replay_not_both() -> None:
    with pytest.raises(ValueError, match="at most one"):
        Simulation(seed=1, replay="at2:0:1")


def test_simulation_takes_a_seed_or_a_chooser_not_both() -> None:
    with pytest.raises(ValueError, match="at most one"):
        Simulation(seed=1, chooser=FifoChooser())


def test_simulation_with_a_seed_uses_a_seeded_random_chooser() -> None:
    sim = Simulation(seed=5)

    assert sim.seed == 5
    assert repr(sim.scheduler.chooser) == "RandomChooser(seed=5)"


def test_a_chooser_returning_an_index_out_of_range_raises_a_clear_value_error() -> None:
    class OutOfRange:
        def choose(self, step: int, ready: Sequence[Candidate]) -> int:
            return len(ready)

    sim = Simulation(chooser=OutOfRange())
    pool = sim.thread_pool(2, name="p")
    pool.submit(record, 1)
    pool.submit(record, 2)

    with pytest.raises(ValueError, match=r"chose 2 of 2 ready actors"):
        sim.step()


def test_a_chooser_is_offered_the_step_and_the_ready_actors_by_number_and_name() -> None:
    offered: list[tuple[int, list[Candidate]]] = []

    class Spy:
        def choose(self, step: int, ready: Sequence[Candidate]) -> int:
            offered.append((step, list(ready)))
            return 0

    sim = Simulation(chooser=Spy())
    sim.thread_pool(1, name="first")  # actor 0
    pool = sim.thread_pool(2, name="p")  # actors 1 and 2
    pool.submit(record, 1)
    pool.submit(record, 2)
    sim.run_until_idle()

    assert offered == [(0, [Candidate(1, "p-1"), Candidate(2, "p-2")])]


def test_a_fifo_run_records_no_departures() -> None:
    chooser = CountingFifo()
    sim = Simulation(chooser=chooser)

    race(sim)

    assert chooser.decisions > 0
    assert sim.scheduler.departures == []
    assert sim.replay_token == "at2:"


def test_a_run_records_each_departure_from_fifo_as_its_step_and_actor() -> None:
    sim = Simulation(chooser=Always(1))
    pool = sim.thread_pool(3, name="p")  # actors 0, 1, 2
    for n in range(3):
        pool.submit(record, n)

    sim.run_until_idle()

    # Step 0: p-1, p-2, p-3 ready, index 1 is p-2. Step 1: p-1, p-3 ready, index 1 is p-3.
    assert [event.actor for event in sim.trace] == ["p-2", "p-3", "p-1"]
    assert sim.scheduler.departures == [(0, 1), (1, 2)]
    assert sim.replay_token == "at2:0:1,1:2"


def test_replaying_a_seeded_run_reproduces_its_trace_exactly() -> None:
    seeded = Simulation(seed=2024)
    original = race(seeded)
    assert seeded.scheduler.departures  # the seed did interleave

    replayed = Simulation(replay=seeded.replay_token)

    assert race(replayed) == original
    assert replayed.replay_token == seeded.replay_token
    assert replayed.replay_diverged_at is None


def test_a_replay_on_a_pool_with_one_fewer_worker_diverges_at_the_step_naming_the_missing_one() -> (
    None
):
    seeded = Simulation(seed=1)
    race(seeded, workers=4)  # actors 0 to 3
    departures = seeded.scheduler.departures
    missing = next(step for step, actor in departures if actor == 3)
    assert departures[0][0] < missing  # departures before it replay on three workers

    replayed = Simulation(replay=seeded.replay_token)
    race(replayed, workers=3)

    assert replayed.replay_diverged_at == missing
    chooser = replayed.scheduler.chooser
    assert isinstance(chooser, ReplayChooser)
    assert chooser.used == sum(1 for step, _ in departures if step < missing)


def test_a_replay_that_no_longer_fits_reports_where_it_diverged() -> None:
    sim = Simulation(replay=encode_token([(0, 1), (1, 9)]))

    race(sim)

    assert sim.replay_diverged_at == 1


def test_the_failure_report_of_a_diverged_replay_names_the_step() -> None:
    sim = Simulation(replay=encode_token([(0, 1), (1, 9)]))
    race(sim)

    assert "the replay diverged at step 1" in sim.failure_report()


def test_the_failure_report_of_a_replay_that_fits_mentions_no_divergence() -> None:
    seeded = Simulation(seed=2024)
    race(seeded)
    replayed = Simulation(replay=seeded.replay_token)
    race(replayed)

    assert "diverged" not in replayed.failure_report()


def test_a_run_without_replay_has_no_divergence() -> None:
    sim = Simulation(seed=3)
    race(sim)

    assert sim.replay_diverged_at is None


def test_a_replay_whose_departure_falls_where_one_actor_is_ready_reports_the_divergence() -> None:
    def two_tasks(sim: Simulation, workers: int) -> None:
        pool = sim.thread_pool(workers, name="p")
        pool.submit(record, 0)
        pool.submit(record, 1)
        sim.run_until_idle()

    recorded = Simulation(chooser=Always(1))
    two_tasks(recorded, workers=2)
    assert recorded.replay_token == "at2:0:1"

    replayed = Simulation(replay=recorded.replay_token)
    two_tasks(replayed, workers=1)  # one fewer worker: at step 0 only p-1 is ready

    assert replayed.replay_diverged_at == 0


def pause_and_race(sim: Simulation) -> list[TraceEvent]:
    """Three workers; the third task blocks in a wait, during which the others run."""

    def pause() -> None:
        never: Result[None] = Result(sim.scheduler)
        never.wait(1.0)

    pool = sim.thread_pool(3, name="p")
    pool.submit(record, 0)
    pool.submit(record, 1)
    pool.submit(pause)
    for n in range(4):
        pool.submit(record, n)
    sim.advance(2)
    return list(sim.trace)


def test_a_run_with_a_task_blocked_in_a_wait_is_reproduced_by_its_replay_token() -> None:
    recorded = Simulation(chooser=Always(2))
    original = pause_and_race(recorded)

    replayed = Simulation(replay=recorded.replay_token)  # ValueError: steps must increase

    assert pause_and_race(replayed) == original


def test_pct_chooser_places_its_change_points_on_decisions_not_steps() -> None:
    # Decisions ten steps apart: change points drawn among the first five *steps* would
    # all fall before the second decision.
    switched_at = set()
    for seed in range(40):
        chooser = PCTChooser(seed, depth=2, expected_decisions=5)
        winners = []
        for decision in range(8):
            ready = [A0, A1] if decision % 2 == 0 else [A1, A0]
            winners.append(ready[chooser.choose(10 * decision, ready)].actor)
        switches = [i for i in range(1, 8) if winners[i] != winners[i - 1]]
        assert len(switches) == 1, f"seed {seed}: {winners}"
        switched_at.add(switches[0])

    assert switched_at == {1, 2, 3, 4}


def test_pct_chooser_counts_the_decisions_it_was_asked() -> None:
    chooser = PCTChooser(1)
    for step in (0, 5, 9):
        chooser.choose(step, READY)

    assert chooser.decisions == 3


def test_pct_chooser_takes_expected_steps_as_the_old_name_of_expected_decisions() -> None:
    assert PCTChooser(1, expected_steps=40).expected_decisions == 40
    with pytest.raises(ValueError, match="not both"):
        PCTChooser(1, expected_decisions=40, expected_steps=40)
