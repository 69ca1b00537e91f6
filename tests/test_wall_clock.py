"""``sim.wall_clock(start)``: freezegun driven by the simulation, so that ``time.time()``
and ``datetime.now()`` in the code under test read virtual time from ``start``.

Nesting: inside a test's own ``freeze_time`` the simulation's wall clock takes over while
it is active, and the test's frozen time resumes, unchanged, after it exits.
"""

from __future__ import annotations

import datetime
import time

import freezegun
import pytest

from asyncthreads import Reactor
from asyncthreads.testing import Simulation

NEW_YEAR = datetime.datetime(2024, 1, 1)


@pytest.fixture
def reactor(sim: Simulation) -> Reactor:
    return sim.reactor(1)


def test_wall_clock_reads_the_start_time(sim: Simulation) -> None:
    with sim.wall_clock("2024-01-01 00:00:00"):
        assert datetime.datetime.now() == NEW_YEAR
        assert time.time() == NEW_YEAR.replace(tzinfo=datetime.timezone.utc).timestamp()


def test_wall_clock_accepts_a_datetime_start(sim: Simulation) -> None:
    with sim.wall_clock(datetime.datetime(2024, 6, 30, 12, 0)):
        assert datetime.datetime.now() == datetime.datetime(2024, 6, 30, 12, 0)


def test_wall_clock_moves_exactly_with_advance(sim: Simulation) -> None:
    with sim.wall_clock("2024-01-01 00:00:00"):
        before = time.time()
        sim.advance(3600)

        assert datetime.datetime.now() == datetime.datetime(2024, 1, 1, 1, 0, 0)
        assert time.time() - before == 3600.0


def test_wall_clock_does_not_move_without_the_simulation(sim: Simulation) -> None:
    with sim.wall_clock("2024-01-01 00:00:00"):
        first = time.time()
        sim.run_until_idle()

        assert time.time() == first


def test_wall_clock_starts_at_start_whatever_the_virtual_time(sim: Simulation) -> None:
    sim.advance(500)

    with sim.wall_clock("2024-01-01 00:00:00"):
        assert datetime.datetime.now() == NEW_YEAR
        sim.advance(1.5)
        assert datetime.datetime.now() == datetime.datetime(2024, 1, 1, 0, 0, 1, 500000)


def test_a_timer_callback_sees_its_virtual_deadline(sim: Simulation, reactor: Reactor) -> None:
    seen: list[datetime.datetime] = []

    with sim.wall_clock("2024-01-01 00:00:00"):
        reactor.call_later(90, lambda: seen.append(datetime.datetime.now()))
        reactor.call_later(150.25, lambda: seen.append(datetime.datetime.now()))
        sim.advance(200)

    assert seen == [
        datetime.datetime(2024, 1, 1, 0, 1, 30),
        datetime.datetime(2024, 1, 1, 0, 2, 30, 250000),
    ]


def test_waiting_on_a_result_moves_the_wall_clock(sim: Simulation, reactor: Reactor) -> None:
    with sim.wall_clock("2024-01-01 00:00:00"):
        reactor.call_later(60, lambda: None).result()

        assert datetime.datetime.now() == datetime.datetime(2024, 1, 1, 0, 1)


def test_inside_a_tests_freeze_time_the_simulation_takes_over(sim: Simulation) -> None:
    with freezegun.freeze_time("2030-05-05 12:00:00"), sim.wall_clock("2024-01-01 00:00:00"):
        assert datetime.datetime.now() == NEW_YEAR
        sim.advance(60)
        assert datetime.datetime.now() == datetime.datetime(2024, 1, 1, 0, 1)


def test_the_tests_frozen_time_resumes_after_the_wall_clock_exits(sim: Simulation) -> None:
    with freezegun.freeze_time("2030-05-05 12:00:00"):
        with sim.wall_clock("2024-01-01 00:00:00"):
            sim.advance(60)

        assert datetime.datetime.now() == datetime.datetime(2030, 5, 5, 12, 0)
        assert (
            time.time()
            == datetime.datetime(2030, 5, 5, 12, tzinfo=datetime.timezone.utc).timestamp()
        )


def test_the_outer_freeze_time_still_ticks_after_the_wall_clock_exits(sim: Simulation) -> None:
    with freezegun.freeze_time("2030-05-05 12:00:00") as outer:
        with sim.wall_clock("2024-01-01 00:00:00"):
            sim.advance(60)
        outer.tick(5)

        assert datetime.datetime.now() == datetime.datetime(2030, 5, 5, 12, 0, 5)


def test_advancing_after_the_wall_clock_exits_leaves_the_outer_frozen_time(
    sim: Simulation,
) -> None:
    with freezegun.freeze_time("2030-05-05 12:00:00"):
        with sim.wall_clock("2024-01-01 00:00:00"):
            pass
        sim.advance(3600)

        assert datetime.datetime.now() == datetime.datetime(2030, 5, 5, 12, 0)


def test_after_the_wall_clock_exits_time_is_real_again(sim: Simulation) -> None:
    real_time, real_datetime = time.time, datetime.datetime

    with sim.wall_clock("2024-01-01 00:00:00"):
        assert time.time is not real_time
        sim.advance(10)

    assert time.time is real_time
    assert datetime.datetime is real_datetime
    assert time.time() > NEW_YEAR.replace(tzinfo=datetime.timezone.utc).timestamp() + 10


def test_the_wall_clock_is_released_when_the_block_raises(sim: Simulation) -> None:
    real_time = time.time

    with pytest.raises(KeyError), sim.wall_clock("2024-01-01 00:00:00"):
        raise KeyError("inside")

    assert time.time is real_time
