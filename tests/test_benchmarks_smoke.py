"""The benchmarks run: each workload, at ``--quick`` size, exits 0 and prints its table.

Smoke tests only. Nothing here looks at a number: ``--quick`` sizes measure nothing, and
speed on a shared CI machine is not something a test can assert.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.cli import WORKLOADS

ROOT = Path(__file__).resolve().parent.parent

# The header every comparison table prints, and a row compared with asyncthreads.
HEADER = re.compile(r"^ +median +min-max +vs asyncthreads +target$", re.MULTILINE)
RATIO_ROW = re.compile(r"^  \S.* +\d[\d,.]* +\d[\d,.]*-\d[\d,.]* +\d+\.\d\dx", re.MULTILINE)


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )


# Workloads that compare contenders (the races workload counts schedules instead).
COMPARISONS = [name for name in WORKLOADS if name != "races"]


@pytest.mark.timeout(150)
@pytest.mark.parametrize("name", COMPARISONS)
def test_each_workload_prints_a_table(name: str) -> None:
    done = run("-m", "benchmarks", "--quick", "--only", name)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    out = done.stdout
    assert re.search(r"^\d\. " + name + ": ", out, re.MULTILINE), out
    assert HEADER.search(out), out
    assert "(reference)" in out, out
    assert RATIO_ROW.search(out), out
    # One workload ran: only its tables are printed.
    others = [other for other in WORKLOADS if other != name]
    for other in others:
        assert not re.search(r"^\d\. " + other + ": ", out, re.MULTILINE), out


@pytest.mark.timeout(150)
@pytest.mark.timeout(150)
def test_the_races_workload_prints_a_row_per_program_and_explorer() -> None:
    from benchmarks.race_programs import PROGRAMS

    done = run("-m", "benchmarks", "--quick", "--only", "races")

    assert done.returncode == 0, done.stderr
    assert re.search(r"^7\. races: ", done.stdout, re.MULTILINE), done.stdout
    assert re.search(
        r"^  program +seeds +PCT +schedules\(\) +explore +fix clean", done.stdout, re.M
    )
    for program in PROGRAMS:
        assert re.search(rf"^  {program.name} +(\d+|-) \(", done.stdout, re.MULTILINE), program


def test_the_timers_flatness_matrix_has_a_column_per_size() -> None:
    done = run("-m", "benchmarks", "--quick", "--only", "timers")
    assert done.returncode == 0, done.stderr
    assert re.search(r"^pending timers N .* 100 +1,000 +growth$", done.stdout, re.MULTILINE)


@pytest.mark.timeout(150)
def test_python_m_asyncthreads_bench_runs_them_from_the_repository_root() -> None:
    done = run("-m", "asyncthreads", "bench", "--quick", "--only", "call")
    assert done.returncode == 0, done.stderr
    assert re.search(r"^2\. call: ", done.stdout, re.MULTILINE), done.stdout
    assert HEADER.search(done.stdout), done.stdout


@pytest.mark.timeout(60)
def test_python_m_asyncthreads_bench_elsewhere_says_where_to_run_it(tmp_path: Path) -> None:
    done = run("-m", "asyncthreads", "bench", "--quick", cwd=tmp_path)
    assert done.returncode == 2
    assert "no benchmarks/ package in the current directory" in done.stderr
    assert "root of an asyncthreads checkout" in done.stderr
    assert done.stdout == ""


@pytest.mark.timeout(60)
def test_an_unknown_workload_is_a_usage_error() -> None:
    done = run("-m", "benchmarks", "--only", "nope")
    assert done.returncode == 2
    assert "invalid choice: 'nope'" in done.stderr
