"""Causal reports: which simulated thread did what to which primitive, and where."""

from __future__ import annotations

import re
import threading

import pytest

from asyncthreads.testing import Simulation, explore
from asyncthreads.testing.causality import causal_report


def split_update(sim: Simulation) -> None:
    """Two pool tasks add one to a count, holding a lock for the read and the store
    separately: a lost update when both read before either stores."""
    with sim.patched():
        lock = threading.Lock()
        pool = sim.thread_pool(2)
        count = {"n": 0}

        def add_one() -> None:
            with lock:
                seen = count["n"]  # the read
            with lock:
                count["n"] = seen + 1  # the store

        for result in [pool.submit(add_one) for _ in range(2)]:
            result.result()
    assert count["n"] == 2, f"lost an update: {count}"


def test_operations_are_not_recorded_unless_asked() -> None:
    sim = Simulation()
    split_update(sim)

    assert sim.scheduler.operations is None


def test_each_lock_operation_is_logged_with_its_thread_and_line() -> None:
    sim = Simulation(record_operations=True)
    split_update(sim)
    assert sim.scheduler.operations is not None

    ops = [(op.thread, op.verb) for op in sim.scheduler.operations.entries]

    assert ops == [
        ("ThreadPool-1", "acquire"),
        ("ThreadPool-1", "release"),
        ("ThreadPool-1", "acquire"),
        ("ThreadPool-1", "release"),
        ("ThreadPool-2", "acquire"),
        ("ThreadPool-2", "release"),
        ("ThreadPool-2", "acquire"),
        ("ThreadPool-2", "release"),
    ]
    lines = {op.where for op in sim.scheduler.operations.entries}
    assert all(re.fullmatch(r"test_causal_report\.py:\d+", where) for where in lines)
    assert len(lines) == 2  # the read's line and the store's


def test_the_report_shows_both_reads_before_either_store_and_the_shared_lock() -> None:
    failing = next(
        seed
        for seed in range(100)
        if not _passes(split_update, Simulation(seed=seed, record_operations=True))
    )
    sim = Simulation(seed=failing, record_operations=True)
    assert not _passes(split_update, sim)
    assert sim.scheduler.operations is not None

    report = causal_report(sim.scheduler.operations)

    runs = [line for line in report.splitlines() if "acquire, release" in line]
    read_line = runs[0].rsplit(":", 1)[1]
    # Both threads' first runs (the reads, on one line) come before any store.
    assert [run.rsplit(":", 1)[1] for run in runs[:2]] == [read_line, read_line]
    assert {run.split(":")[0].split()[-1] for run in runs[:2]} == {"ThreadPool-1", "ThreadPool-2"}
    assert "touched by more than one thread:" in report
    assert re.search(r"Lock 1 \(made at test_causal_report\.py:\d+\): ThreadPool-", report)


def test_a_failure_explore_finds_carries_the_causal_report_of_its_replay() -> None:
    with pytest.raises(AssertionError) as failed:
        explore(split_update)

    notes = failed.value.__notes__
    assert "replay it with Simulation(replay=" in notes[0]
    assert notes[1].startswith("what each simulated thread did, replayed:")
    assert "touched by more than one thread:" in notes[1]


def test_a_simulation_that_records_puts_the_report_in_its_failure_report() -> None:
    sim = Simulation(record_operations=True)
    split_update(sim)

    assert "operations, oldest first" in sim.failure_report()
    assert "operations, oldest first" not in Simulation().failure_report()


def _passes(scenario: object, sim: Simulation) -> bool:
    try:
        with sim:
            scenario(sim)  # type: ignore[operator]
    except AssertionError:
        return False
    return True
