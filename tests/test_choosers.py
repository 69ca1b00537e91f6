"""Choosers decide who runs next when several actors hold ready work; replay tokens record
and repeat those decisions."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncthreads import ThreadPool
from asyncthreads.testing import (
    Chooser,
    FifoChooser,
    RandomChooser,
    ReplayChooser,
    Simulation,
    TraceEvent,
)
from asyncthreads.testing.choosers import decode_token, encode_token

READY = ["a", "b", "c"]


def record(n: int) -> int:
    return n


def race(sim: Simulation) -> list[TraceEvent]:
    """Eight tasks on four workers, twice, so that the chooser has decisions to make."""
    pool = ThreadPool(4, clock=sim.clock, scheduler=sim.scheduler, name="race")
    for round_ in range(2):
        for n in range(8):
            pool.submit(record, n)
        sim.advance(round_ + 1)
    return list(sim.trace)


# -- tokens -------------------------------------------------------------------------------


@given(st.lists(st.integers(min_value=0, max_value=12), max_size=60))
def test_a_token_decodes_to_the_choices_it_encodes(choices: list[int]) -> None:
    assert decode_token(encode_token(choices)) == choices


def test_a_token_compresses_runs() -> None:
    assert encode_token([0, 0, 0, 0, 2, 1, 1]) == "at1:0x4.2.1x2"


@pytest.mark.parametrize(
    "token",
    ["", "0x3", "at2:0", "at1:x", "at1:1.", "at1:.1", "at1:-1", "at1:1x", "at1:1y2", "at1: 1"],
)
def test_a_malformed_token_raises_value_error(token: str) -> None:
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
    choosers: list[object] = [FifoChooser(), RandomChooser(1), ReplayChooser("at1:")]

    assert all(isinstance(chooser, Chooser) for chooser in choosers)


def test_fifo_chooser_always_picks_the_first_ready() -> None:
    chooser = FifoChooser()

    assert [chooser.choose(READY[:size]) for size in (2, 3, 2, 3)] == [0, 0, 0, 0]


def test_random_chooser_with_the_same_seed_makes_the_same_choices() -> None:
    first, second = RandomChooser(99), RandomChooser(99)

    picks = [first.choose(READY) for _ in range(50)]

    assert picks == [second.choose(READY) for _ in range(50)]
    assert set(picks) == {0, 1, 2}  # it does choose, within range


def test_random_choosers_with_different_seeds_differ() -> None:
    first, second = RandomChooser(1), RandomChooser(2)

    assert [first.choose(READY) for _ in range(50)] != [second.choose(READY) for _ in range(50)]


def test_replay_chooser_replays_the_recorded_choices_then_falls_back_to_fifo() -> None:
    chooser = ReplayChooser(encode_token([2, 1, 1]))

    picks = [chooser.choose(READY) for _ in range(5)]

    assert picks == [2, 1, 1, 0, 0]
    assert chooser.exhausted
    assert chooser.diverged_at is None


def test_replay_chooser_falls_back_to_fifo_where_a_choice_no_longer_fits() -> None:
    chooser = ReplayChooser(encode_token([1, 2, 1]))

    picks = [chooser.choose(READY[:2]) for _ in range(3)]

    assert picks == [1, 0, 0]  # the third, though it fits, is past the divergence
    assert chooser.diverged_at == 1


# -- choosers in a Simulation ---------------------------------------------------------------


def test_simulation_takes_a_seed_or_a_replay_not_both() -> None:
    with pytest.raises(ValueError, match="at most one"):
        Simulation(seed=1, replay="at1:0")


def test_simulation_takes_a_seed_or_a_chooser_not_both() -> None:
    with pytest.raises(ValueError, match="at most one"):
        Simulation(seed=1, chooser=FifoChooser())


def test_simulation_with_a_seed_uses_a_seeded_random_chooser() -> None:
    sim = Simulation(seed=5)

    assert sim.seed == 5
    assert repr(sim.scheduler.chooser) == "RandomChooser(seed=5)"


class OutOfRange:
    def choose(self, ready: Sequence[str]) -> int:
        return len(ready)


def test_a_chooser_returning_an_index_out_of_range_raises_a_clear_value_error() -> None:
    sim = Simulation(chooser=OutOfRange())
    pool = sim.thread_pool(2, name="p")
    pool.submit(record, 1)
    pool.submit(record, 2)

    with pytest.raises(ValueError, match=r"chose 2 of 2 ready actors"):
        sim.step()


def test_a_fifo_run_records_only_first_choices() -> None:
    sim = Simulation()
    race(sim)

    choices = decode_token(sim.replay_token)
    assert choices
    assert set(choices) == {0}


def test_replaying_a_seeded_run_reproduces_its_trace_exactly() -> None:
    seeded = Simulation(seed=2024)
    original = race(seeded)
    assert set(decode_token(seeded.replay_token)) != {0}  # the seed did interleave

    replayed = Simulation(replay=seeded.replay_token)

    assert race(replayed) == original
    assert replayed.replay_token == seeded.replay_token
    assert replayed.replay_diverged_at is None


def test_a_replay_that_no_longer_fits_reports_where_it_diverged() -> None:
    sim = Simulation(replay=encode_token([0, 9]))

    race(sim)

    assert sim.replay_diverged_at == 1


def test_a_run_without_replay_has_no_divergence() -> None:
    sim = Simulation(seed=3)
    race(sim)

    assert sim.replay_diverged_at is None
