"""The race catalogue (benchmarks/race_programs.py): each bug is found, each fix is not.

``python -m benchmarks --only races`` prints how soon each explorer finds each bug; these
tests hold the catalogue to the issue's bar: every bug found by at least one explorer
within 300 schedules, and every fixed program clean under every explorer's 300.
"""

from __future__ import annotations

import pytest

from benchmarks.race_programs import PROGRAMS, RaceProgram
from benchmarks.races import BUDGET, EXPLORERS, first_failure

# Bugs no explorer can reach yet, and why: each is a strict xfail, so reaching it fails
# the suite until it moves out of this table.
UNREACHABLE: dict[str, str] = {}


def _params(programs: tuple[RaceProgram, ...]) -> list[object]:
    return [
        pytest.param(
            program,
            id=program.name,
            marks=[pytest.mark.xfail(reason=UNREACHABLE[program.name], strict=True)]
            if program.name in UNREACHABLE
            else [],
        )
        for program in programs
    ]


@pytest.mark.parametrize("program", _params(PROGRAMS))
def test_some_explorer_finds_the_bug_within_the_budget(program: RaceProgram) -> None:
    found = {
        explorer: first_failure(explorer, program.buggy, BUDGET).schedules for explorer in EXPLORERS
    }

    assert any(n is not None for n in found.values()), found


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.name for p in PROGRAMS])
@pytest.mark.parametrize("explorer", list(EXPLORERS))
def test_the_fix_never_fails(program: RaceProgram, explorer: str) -> None:
    assert first_failure(explorer, program.fixed, BUDGET).schedules is None


def test_the_bug_hides_under_fifo() -> None:
    # A bug FIFO shows would be no race: every program passes its default order.
    from asyncthreads.testing import Simulation
    from benchmarks.races import _fails

    shown = [p.name for p in PROGRAMS if _fails(p.buggy, Simulation())]

    assert shown == []
