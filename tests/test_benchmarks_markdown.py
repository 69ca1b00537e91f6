"""``python -m benchmarks --markdown PATH`` writes the results as the page the manual
includes: the same rows and figures as the text tables, labelled with the kind of run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.harness import Group, Matrix, Row, Table, Target, Verdict
from benchmarks.markdown import Run, render_page

ROOT = Path(__file__).resolve().parent.parent

QUICK_RUN = Run(
    command="python -m benchmarks --quick --markdown results.md",
    quick=True,
    machine="2 cores, a CPU, CPython 3.11.7, Linux",
    load="; load average 1.00 (1 min), 1.00 (5 min)",
    peers="twisted (not installed), trio (not installed)",
    commit="abc1234",
    seconds=3.2,
)

TABLE = Table(
    "1. pool: 10 tasks",
    [
        Group(
            "time per task",
            "us",
            [
                Row("asyncthreads pool", [2.0, 3.0, 4.0], role="asyncthreads"),
                Row("their pool", [9.0], target=Target(2)),
                Row("bare queue", [0.5], role="floor"),
            ],
        )
    ],
    notes=["timed from the first submit | to the last result"],
)

MATRIX = Matrix(
    "3b. timers: cost per op",
    "us",
    [100, 1000],
    "pending timers N",
    [("asyncthreads cancel", {100: [1.0], 1000: [1.5]})],
)


def test_a_table_becomes_a_markdown_table_with_the_same_figures() -> None:
    page = render_page(QUICK_RUN, [TABLE], [])

    assert "### 1. pool: 10 tasks" in page
    assert "| | median | min-max | vs asyncthreads | target |" in page
    assert "| **time per task [us]** | | | | |" in page
    assert "| asyncthreads pool | 3.00 | 2.00-4.00 | (reference) |  |" in page
    assert "| their pool | 9.00 | 9.00-9.00 | 3.00x | >= 2x ok |" in page
    assert "| floor: bare queue | 0.500 | 0.500-0.500 | 0.17x |  |" in page
    assert "- timed from the first submit \\| to the last result" in page


def test_a_matrix_becomes_a_table_with_a_column_per_size_and_the_growth() -> None:
    page = render_page(QUICK_RUN, [MATRIX], [])

    assert "| pending timers N [us, median] | 100 | 1,000 | growth |" in page
    assert "| asyncthreads cancel | 1.00 | 1.50 | 1.50x |" in page


class TextReport:
    def render(self) -> str:
        return "7. races: schedules to the first failure\n  program   seeds  \n  rmw       1      "


def test_a_report_of_another_kind_keeps_its_text_under_its_title() -> None:
    page = render_page(QUICK_RUN, [TextReport()], [])

    assert "### 7. races: schedules to the first failure\n\n```text\n" in page
    assert "```text\n  program   seeds\n  rmw       1\n```\n" in page


def test_a_quick_run_is_labelled_as_no_measurement_and_names_its_command_and_commit() -> None:
    page = render_page(QUICK_RUN, [TABLE], [])

    assert page.startswith("<!-- Written by `python -m benchmarks --quick --markdown")
    assert "**Their numbers are not measurements.**" in page
    assert "quick smoke run (not a measurement) at commit `abc1234`" in page
    assert "- **Machine**: 2 cores, a CPU, CPython 3.11.7, Linux; load average" in page


def test_a_full_run_has_no_warning() -> None:
    full = Run(**{**QUICK_RUN.__dict__, "quick": False, "command": "python -m benchmarks"})

    page = render_page(full, [TABLE], [])

    assert "not measurements" not in page
    assert "- **Run**: full run at commit `abc1234`" in page


def test_the_targets_close_the_page() -> None:
    verdicts = [Verdict("pool", "ours vs theirs", "3.00x", ">= 2x", True)]

    page = render_page(QUICK_RUN, [TABLE], verdicts)

    assert page.rstrip().endswith("| pool | ours vs theirs | 3.00x | >= 2x | ok |")
    assert "### Targets: 1 of 1 met" in page


@pytest.mark.timeout(150)
def test_the_command_line_writes_the_page(tmp_path: Path) -> None:
    page = tmp_path / "results.md"

    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "call", "--markdown", str(page)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert f"wrote {page}" in done.stdout
    text = page.read_text(encoding="utf-8")
    assert re.search(r"^### 2\. call: ", text, re.MULTILINE), text
    assert re.search(r"^\| asyncthreads Reactor\.call \| [\d.]+ \| ", text, re.MULTILINE), text
    assert "--quick --only call --markdown" in text
