"""The asyncthreads pytest plugin, loaded through its ``pytest11`` entry point: the
``asyncthreads_sim`` fixture, seeds from a marker or the command line, and the
"asyncthreads simulation" section of a failing test's report.

Each test runs pytest in a subprocess on a small generated test file (``pytester``).
"""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from asyncthreads.testing import Simulation
from asyncthreads.testing.choosers import decode_token

pytest_plugins = ["pytester"]

pytestmark = pytest.mark.timeout(120)


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    """Run ``source`` as a test module in a fresh pytest process, plugins autoloaded."""
    pytester.makepyfile(test_generated=source)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def test_plugin_is_loaded_through_its_entry_point(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import asyncthreads.testing.pytest_plugin as plugin

        def test_registered(pytestconfig):
            assert pytestconfig.pluginmanager.is_registered(plugin)
        """,
    )

    result.assert_outcomes(passed=1)


def test_fixture_gives_a_simulation(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        from asyncthreads import Reactor
        from asyncthreads.testing import FifoChooser, Simulation

        def test_it(asyncthreads_sim):
            assert isinstance(asyncthreads_sim, Simulation)
            assert isinstance(asyncthreads_sim.scheduler.chooser, FifoChooser)
            reactor = Reactor(clock=asyncthreads_sim.clock, scheduler=asyncthreads_sim.scheduler)
            reactor.start()
            assert reactor.call_later(5, lambda: 1).result() == 1
            assert asyncthreads_sim.now == 5.0
        """,
    )

    result.assert_outcomes(passed=1)


def test_each_test_gets_a_fresh_simulation(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.parametrize("n", range(3))
        def test_fresh(asyncthreads_sim, n):
            assert asyncthreads_sim.now == 0.0
            assert asyncthreads_sim.trace.total == 0
            reactor = asyncthreads_sim.reactor(1)
            reactor.call_later(10, lambda: None)
            asyncthreads_sim.advance(10)
            assert asyncthreads_sim.trace.total == 1
        """,
    )

    result.assert_outcomes(passed=3)


def test_fixture_shuts_down_what_the_simulation_built(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        built = []

        def test_build(asyncthreads_sim):
            reactor = asyncthreads_sim.reactor(1)
            built.append((reactor, reactor.call_later(100, lambda: None)))

        def test_after():
            (reactor, timer), = built
            assert not reactor.is_running
            assert timer.cancelled()
        """,
    )

    result.assert_outcomes(passed=2)


def test_marker_seed_sets_the_simulation_seed(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.asyncthreads(seed=7)
        def test_seeded(asyncthreads_sim):
            assert asyncthreads_sim.seed == 7
            assert repr(asyncthreads_sim.scheduler.chooser) == "RandomChooser(seed=7)"
        """,
    )

    result.assert_outcomes(passed=1)


def test_marker_passes_other_simulation_options(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.asyncthreads(start=50.0, trace_limit=2)
        def test_options(asyncthreads_sim):
            assert asyncthreads_sim.now == 50.0
            reactor = asyncthreads_sim.reactor(1)
            for _ in range(3):
                reactor.call(lambda: None)
            asyncthreads_sim.run_until_idle()
            assert len(asyncthreads_sim.trace) == 2
        """,
    )

    result.assert_outcomes(passed=1)


def test_command_line_seed_applies_to_unmarked_tests(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        def test_unmarked(asyncthreads_sim):
            assert asyncthreads_sim.seed == 5
        """,
        "--asyncthreads-seed=5",
    )

    result.assert_outcomes(passed=1)


def test_marker_seed_wins_over_the_command_line_seed(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.asyncthreads(seed=7)
        def test_marked(asyncthreads_sim):
            assert asyncthreads_sim.seed == 7

        @pytest.mark.asyncthreads(replay="at2:1:0")
        def test_replayed(asyncthreads_sim):
            assert asyncthreads_sim.seed is None
        """,
        "--asyncthreads-seed=5",
    )

    result.assert_outcomes(passed=2)


def test_without_a_seed_the_fixture_is_fifo(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        def test_unseeded(asyncthreads_sim):
            assert asyncthreads_sim.seed is None
        """,
    )

    result.assert_outcomes(passed=1)


FAILING = """
        def test_fails(asyncthreads_sim):
            reactor = asyncthreads_sim.reactor(2, name="loop")
            reactor.call(print, "hello")
            reactor.call_in_thread(print, "world")
            reactor.call_later(3, print, "later")
            asyncthreads_sim.advance(3)
            assert False, "the scenario went wrong"

        def test_passes(asyncthreads_sim):
            pass
        """


def test_failing_test_report_has_the_simulation_section(pytester: pytest.Pytester) -> None:
    result = run(pytester, FAILING)

    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*- asyncthreads simulation -*",
            "replay token: 'at2:'  *FifoChooser()*",
            "virtual time: 3.0, steps run: 3",
            "timeline (last * steps):",
            "loop:",
            "  t=0 * print -> returned",
            "  t=3 * print -> returned",
        ]
    )


def test_passing_test_report_has_no_simulation_section(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        def test_passes(asyncthreads_sim):
            asyncthreads_sim.advance(1)
        """,
        "-rA",
    )

    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*asyncthreads simulation*")


RACE = """
        import pytest

        def scenario(sim):
            pool = sim.thread_pool(3, name="p")
            for n in range(9):
                pool.submit(print, n)
            sim.run_until_idle()
            return [event.actor for event in sim.trace]
        """


def test_failing_report_gives_a_replay_token_that_reproduces_the_run(
    pytester: pytest.Pytester,
) -> None:
    failed = run(
        pytester,
        RACE
        + """
        @pytest.mark.asyncthreads(seed=11)
        def test_fails(asyncthreads_sim):
            actors = scenario(asyncthreads_sim)
            print("ACTORS", actors)
            assert False
        """,
    )
    failed.assert_outcomes(failed=1)
    (token_line,) = [line for line in failed.outlines if line.startswith("replay token: ")]
    assert "RandomChooser(seed=11)" in token_line
    (actors_line,) = [line for line in failed.outlines if line.startswith("ACTORS ")]
    token = token_line.split("'")[1]
    actors = actors_line.removeprefix("ACTORS ")

    replayed = run(
        pytester,
        RACE
        + f"""
        @pytest.mark.asyncthreads(replay={token!r})
        def test_replays(asyncthreads_sim):
            assert scenario(asyncthreads_sim) == {actors}
            assert asyncthreads_sim.replay_diverged_at is None
        """,
    )

    replayed.assert_outcomes(passed=1)


def test_plugin_works_under_xdist(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_parallel(asyncthreads_sim, n):
            assert asyncthreads_sim.seed == 3
            assert asyncthreads_sim.now == 0.0

        """
        + FAILING,
        "-p",
        "xdist",
        "-n",
        "2",
        "--asyncthreads-seed=3",
    )

    result.assert_outcomes(passed=4 + 1, failed=1)
    result.stdout.fnmatch_lines(
        ["*- asyncthreads simulation -*", "replay token: 'at2:*RandomChooser(seed=3)*"]
    )


def test_failing_report_shows_the_simulation_the_test_created_last(
    pytester: pytest.Pytester,
) -> None:
    result = run(
        pytester,
        """
        from asyncthreads.testing import Simulation

        def test_fails(asyncthreads_sim):
            asyncthreads_sim.advance(3)
            first, last = Simulation(), Simulation(seed=4)
            last.advance(7)
            first.advance(5)
            assert False
        """,
    )

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- asyncthreads simulation -*",
            "replay token: *RandomChooser(seed=4)*",
            "virtual time: 7.0, steps run: 0",
        ]
    )


FINISH_ORDER = """
        from hypothesis import given, settings, strategies as st

        from asyncthreads.testing import Simulation, schedules

        def finish_order(sim):
            pool = sim.thread_pool(3, name="p")
            finished = []
            for n in range(9):
                pool.submit(finished.append, n)
            sim.run_until_idle()
            return finished
        """


def test_failing_hypothesis_report_gives_the_shrunk_examples_replay_token(
    pytester: pytest.Pytester,
) -> None:
    failed = run(
        pytester,
        FINISH_ORDER
        + """
        @settings(database=None, derandomize=True, max_examples=40)
        @given(st.data())
        def test_finishes_in_order(data):
            sim = Simulation(chooser=data.draw(schedules()))
            finished = finish_order(sim)
            if finished != sorted(finished):
                print("FAILING", sim.replay_token)
            assert finished == sorted(finished)
        """,
    )
    failed.assert_outcomes(failed=1)
    failed.stdout.fnmatch_lines(["*- asyncthreads simulation -*", "replay token: *schedules()*"])
    (token_line,) = [line for line in failed.outlines if line.startswith("replay token: ")]
    token = token_line.split("'")[1]
    failing = [line.split()[1] for line in failed.outlines if line.startswith("FAILING ")]
    assert len(set(failing)) > 1  # hypothesis found several failing interleavings
    assert token == failing[-1]  # the report gives the last one: the final, shrunk example
    assert len(decode_token(token)) == 1

    # The same scenario, replayed here with the reported token, fails again.
    scenario: dict[str, Any] = {}
    exec(textwrap.dedent(FINISH_ORDER), scenario)
    replayed = Simulation(replay=token)
    finished = scenario["finish_order"](replayed)
    assert finished != sorted(finished)
    assert replayed.replay_diverged_at is None


PATCHED_TEST = """
import threading
import time

from asyncthreads.testing.sim_locks import SimLock

def test_it(asyncthreads_sim):
    asyncthreads_sim.advance(5)
    assert time.monotonic() == 5.0
    assert isinstance(threading.Lock(), SimLock)
"""


def test_the_patched_marker_runs_the_test_inside_the_patch(pytester: pytest.Pytester) -> None:
    source = "import pytest\n" + PATCHED_TEST.replace(
        "def test_it", "@pytest.mark.asyncthreads(patched=True)\ndef test_it"
    )
    run(pytester, source).assert_outcomes(passed=1)


def test_the_patched_option_runs_every_test_inside_the_patch(pytester: pytest.Pytester) -> None:
    run(pytester, PATCHED_TEST, "--asyncthreads-patched").assert_outcomes(passed=1)
    run(pytester, PATCHED_TEST).assert_outcomes(failed=1)


def test_a_marker_saying_patched_false_overrides_the_option(pytester: pytest.Pytester) -> None:
    source = """
import time
import pytest

@pytest.mark.asyncthreads(patched=False)
def test_it(asyncthreads_sim):
    asyncthreads_sim.advance(5)
    assert time.monotonic() != 5.0
"""
    run(pytester, source, "--asyncthreads-patched").assert_outcomes(passed=1)


def test_the_patch_is_undone_when_the_test_ends(pytester: pytest.Pytester) -> None:
    source = """
import threading
import time

import pytest

REAL_SLEEP, REAL_LOCK = time.sleep, threading.Lock

@pytest.mark.asyncthreads(patched=True)
def test_patched(asyncthreads_sim):
    assert time.sleep is not REAL_SLEEP
    raise AssertionError("fails inside the patch")

def test_after():
    assert time.sleep is REAL_SLEEP and threading.Lock is REAL_LOCK
"""
    run(pytester, source).assert_outcomes(passed=1, failed=1)


# -- exceptions nobody retrieved ----------------------------------------------------------

UNREAD_FAILURE = """
    import pytest

    def fail_quietly():
        raise ValueError("nobody looks")

    {marker}
    def test_leaves_a_failure_unread(asyncthreads_sim):
        pool = asyncthreads_sim.thread_pool(1)
        result = pool.submit(fail_quietly)
        asyncthreads_sim.run_until_idle()
        assert result.done()
        {read}
"""


def test_a_failure_nobody_retrieved_fails_the_test(pytester: pytest.Pytester) -> None:
    result = run(pytester, UNREAD_FAILURE.format(marker="", read=""))

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*1 exception(s) raised in the simulation were never retrieved*",
            "*in fail_quietly (Task at *",
            "*ValueError: nobody looks*",
        ]
    )


def test_a_failure_read_with_exception_passes(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        UNREAD_FAILURE.format(marker="", read="assert isinstance(result.exception(), ValueError)"),
    )

    result.assert_outcomes(passed=1)


def test_the_marker_turns_the_check_off_for_one_test(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        UNREAD_FAILURE.format(marker="@pytest.mark.asyncthreads(check_unretrieved=False)", read=""),
    )

    result.assert_outcomes(passed=1)


def test_the_ini_option_turns_the_check_off_for_the_run(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        UNREAD_FAILURE.format(marker="", read=""),
        "-o",
        "asyncthreads_check_unretrieved=false",
    )

    result.assert_outcomes(passed=1)
