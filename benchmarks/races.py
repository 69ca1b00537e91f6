"""How soon each explorer finds each planted race (:mod:`benchmarks.race_programs`).

For every program and explorer: the number of schedules run up to and including the first
failing one (``-`` if none failed within the budget), and the seconds that took. Then each
fixed program under the same budget: it must never fail. Explorers:

Every explorer runs with ``explore_wakeups=True``, so that a thread waking from a timed
wait may run before the timers due at the same instant.

* ``seeds``: ``Simulation(seed=s)`` for s = 0, 1, ...
* ``PCT``: ``Simulation(chooser=PCTChooser(s, depth=3, expected_decisions=20))``;
* ``schedules()``: hypothesis drawing every decision (``derandomize=True``);
* ``explore``: ``explore(scenario, max_departures=3)``, depth first.

Target (the issue's): every bug found by at least one explorer within 300 schedules, and
no fixed program failing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from asyncthreads import DeadlockError
from asyncthreads.testing import PCTChooser, Simulation, explore, schedules

from .config import Config
from .harness import Verdict
from .race_programs import PROGRAMS, RaceProgram, Scenario

__all__ = ["EXPLORERS", "first_failure", "run"]

BUDGET = 300  # schedules per explorer and program
QUICK_BUDGET = 30

# What a failing schedule raises: the program's assertion, or a deadlock it walked into.
FAILURES = (AssertionError, DeadlockError)


def _fails(scenario: Scenario, sim: Simulation) -> bool:
    try:
        with sim:
            scenario(sim)
    except FAILURES:
        return True
    return False


def _seeded(make: Callable[[int], Simulation]) -> Callable[[Scenario, int], int | None]:
    def search(scenario: Scenario, budget: int) -> int | None:
        for n in range(budget):
            if _fails(scenario, make(n)):
                return n + 1
        return None

    return search


def _hypothesis(scenario: Scenario, budget: int) -> int | None:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    runs = [0]

    @settings(
        max_examples=budget,
        derandomize=True,
        database=None,
        phases=[Phase.generate],  # the first failure, not its shrinking
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(st.data())
    def search(data: st.DataObject) -> None:
        runs[0] += 1
        if _fails(scenario, Simulation(chooser=data.draw(schedules()), explore_wakeups=True)):
            raise _Found

    try:
        search()
    except _Found:
        return runs[0]
    return None


class _Found(Exception):
    """Raised inside hypothesis's search to stop it at the first failure."""


def _exhaustive(scenario: Scenario, budget: int) -> int | None:
    runs = [0]

    def counted(sim: Simulation) -> None:
        runs[0] += 1
        scenario(sim)

    try:
        explore(counted, max_departures=3, max_schedules=budget, explore_wakeups=True)
    except FAILURES:
        return runs[0]
    return None


EXPLORERS: dict[str, Callable[[Scenario, int], int | None]] = {
    "seeds": _seeded(lambda s: Simulation(seed=s, explore_wakeups=True)),
    "PCT": _seeded(
        lambda s: Simulation(
            chooser=PCTChooser(s, depth=3, expected_decisions=20), explore_wakeups=True
        )
    ),
    "schedules()": _hypothesis,
    "explore": _exhaustive,
}


@dataclass(frozen=True)
class Outcome:
    schedules: int | None  # up to and including the first failure; None: none failed
    seconds: float


def first_failure(explorer: str, scenario: Scenario, budget: int) -> Outcome:
    started = time.perf_counter()
    found = EXPLORERS[explorer](scenario, budget)
    return Outcome(found, time.perf_counter() - started)


@dataclass
class RaceTable:
    budget: int
    found: dict[tuple[str, str], Outcome]  # (program, explorer) -> outcome on the bug
    fixed_failures: dict[str, list[str]]  # program -> explorers its fix failed under

    def render(self) -> str:
        explorers = list(EXPLORERS)
        header = ["program", *explorers, "fix clean"]
        rows = [header]
        for program in PROGRAMS:
            cells = [program.name]
            for explorer in explorers:
                outcome = self.found[program.name, explorer]
                found = "-" if outcome.schedules is None else str(outcome.schedules)
                cells.append(f"{found} ({outcome.seconds:.2f}s)")
            failed = self.fixed_failures[program.name]
            cells.append("yes" if not failed else "FAILED: " + ", ".join(failed))
            rows.append(cells)
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = [
            f"7. races: schedules to the first failure (and seconds), of {self.budget} per "
            "explorer; '-' = not found",
        ]
        for row in rows:
            lines.append(
                "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            )
        return "\n".join(lines)

    def verdicts(self, workload: str) -> list[Verdict]:
        found = sum(
            any(self.found[p.name, e].schedules is not None for e in EXPLORERS) for p in PROGRAMS
        )
        clean = sum(not self.fixed_failures[p.name] for p in PROGRAMS)
        return [
            Verdict(
                workload,
                f"bugs found within {self.budget} schedules",
                f"{found}/{len(PROGRAMS)}",
                "all",
                found == len(PROGRAMS),
            ),
            Verdict(
                workload,
                "fixes that never failed",
                f"{clean}/{len(PROGRAMS)}",
                "all",
                clean == len(PROGRAMS),
            ),
        ]


def _cells(programs: tuple[RaceProgram, ...]) -> Iterator[tuple[RaceProgram, str]]:
    for program in programs:
        for explorer in EXPLORERS:
            yield program, explorer


def run(config: Config) -> list[RaceTable]:
    budget = config.size(BUDGET, QUICK_BUDGET)
    found = {
        (program.name, explorer): first_failure(explorer, program.buggy, budget)
        for program, explorer in _cells(PROGRAMS)
    }
    fixed_failures = {
        program.name: [
            explorer
            for explorer in EXPLORERS
            if first_failure(explorer, program.fixed, budget).schedules is not None
        ]
        for program in PROGRAMS
    }
    return [RaceTable(budget, found, fixed_failures)]
