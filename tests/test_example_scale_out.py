"""examples/scale_out.py runs, on a process pool and on Dask; and the program it scales
out runs unchanged on the simulation, where ``sim.reactor(threads=2)`` stands in for
any executor."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from asyncthreads.testing import Simulation
from examples.scale_out import PrimeCensus, census

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(120)
def test_the_example_runs_on_a_process_pool_and_on_a_dask_cluster() -> None:
    done = subprocess.run(
        [sys.executable, "examples/scale_out.py", "--limits", "100", "1000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        stdin=subprocess.DEVNULL,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "process pool: {100: 25, 1000: 168} in " in done.stdout
    if importlib.util.find_spec("distributed") is None:
        assert "dask: not installed" in done.stdout
    else:
        assert "dask local cluster: {100: 25, 1000: 168} in " in done.stdout


def test_the_census_runs_unchanged_on_the_simulation(sim: Simulation) -> None:
    assert census(sim.reactor(threads=2), [10, 100]) == {10: 4, 100: 25}


def test_the_census_keeps_each_count_as_it_arrives(sim: Simulation) -> None:
    prime_census = PrimeCensus(sim.reactor(threads=2))
    first = prime_census.count(10)
    sim.run_until(first)
    sim.run_until_idle()

    assert sim.run_until(prime_census.snapshot()).result() == {10: 4}
