"""Bounded exhaustive exploration: run a simulated scenario under every schedule it has.

Seeded random choice, PCT and hypothesis *sample* schedules. :func:`explore` enumerates
them: it runs ``scenario(sim)`` on a fresh :class:`Simulation` once per distinct sequence
of decisions, depth first, until every schedule within the bound has run or one fails::

    def scenario(sim):
        cache = PriceCache(sim.reactor(threads=2))
        ...
        assert fetched == ["ACME"]

    print(explore(scenario, max_departures=3))
    # 57 distinct schedules within 3 departures from FIFO, all pass

What a caller may rely on:

* A *decision* is a point where the simulation asked its chooser to pick among several
  ready simulated threads (see :mod:`.choosers`): after a step, at a schedule point
  (``checkpoint()``, ``sim.sleep``, a simulated lock or queue operation), ... Two runs
  are distinct schedules when some decision differs; each is run exactly once.
* The bound counts *departures from FIFO*, the decisions a replay token lists: FIFO
  lets the thread that was ready first run, and lets a thread at a schedule point go
  on, so a departure is a preemption or a thread passed over. Bugs of real programs
  mostly need few (CHESS's observation); ``max_departures=None`` enumerates everything.
* On the first failing schedule the scenario's own exception propagates, with a note
  giving the schedule's replay token (``Simulation(replay=token)`` runs it again) and
  how many schedules passed before it, and, where the scenario used simulated locks,
  conditions, events or queues, a causal report of that schedule replayed (see
  :mod:`.causality`): which thread did what to which of them, in order.
* Otherwise the :class:`Exploration` returned says how many schedules ran and whether
  that was all of them (``complete``; ``max_schedules`` may cut it short). "All pass"
  is a statement at the simulation's granularity: a schedule is a sequence of steps
  between decisions, so a race between two lines of one step is not explored.
* The scenario must be deterministic given the decisions (the simulation is, if the
  scenario does not read real time, random numbers or the like): a run whose decisions
  do not match the ones it replays raises :class:`NondeterministicScenarioError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .causality import causal_report
from .choosers import Candidate
from .simulation import Simulation

__all__ = ["Exploration", "NondeterministicScenarioError", "explore"]


class NondeterministicScenarioError(RuntimeError):
    """A scenario took different decisions when replayed with the same choices."""


@dataclass(frozen=True)
class Exploration:
    """What :func:`explore` ran when no schedule failed."""

    schedules: int  # distinct schedules run, each once
    complete: bool  # every schedule within the bound ran (max_schedules did not cut it)
    max_departures: int | None

    def __str__(self) -> str:
        bound = (
            "with any number of departures from FIFO"
            if self.max_departures is None
            else f"within {self.max_departures} departures from FIFO"
        )
        if self.complete:
            return f"{self.schedules} distinct schedules {bound}, all pass"
        return f"{self.schedules} distinct schedules {bound} pass; stopped at max_schedules"


class _Forced:
    """A chooser that replays a prefix of choices, then takes FIFO, recording every
    decision as (choice, number of candidates)."""

    __slots__ = ("prefix", "taken")

    def __init__(self, prefix: list[tuple[int, int]]) -> None:
        self.prefix = prefix
        self.taken: list[tuple[int, int]] = []

    def choose(self, step: int, ready: Sequence[Candidate]) -> int:
        n = len(self.taken)
        if n < len(self.prefix):
            choice, expected = self.prefix[n]
            if expected != len(ready):
                raise NondeterministicScenarioError(
                    f"decision {n} (step {step}) offered {len(ready)} ready threads when "
                    f"replayed, {expected} the first time: the scenario depends on something "
                    "besides the simulation's decisions"
                )
        else:
            choice = 0
        self.taken.append((choice, len(ready)))
        return choice

    def __repr__(self) -> str:
        return f"explore(prefix={[choice for choice, _ in self.prefix]})"


def _next_prefix(
    taken: list[tuple[int, int]], max_departures: int | None
) -> list[tuple[int, int]] | None:
    """The decisions of the next schedule, depth first: the deepest decision that has an
    untried choice within the bound moves to it. None once every schedule has run."""
    departures = [0]  # departures among the first i decisions, for each i
    for choice, _ in taken:
        departures.append(departures[-1] + (choice != 0))
    for depth in range(len(taken) - 1, -1, -1):
        choice, candidates = taken[depth]
        if choice + 1 >= candidates:
            continue
        if max_departures is not None and departures[depth] + 1 > max_departures:
            continue  # any other choice here departs once more than the bound allows
        return [*taken[:depth], (choice + 1, candidates)]
    return None


def _explain(scenario: Callable[[Simulation], Any], token: str, options: dict[str, Any]) -> str:
    """Replay a failing schedule recording what each thread did to which primitive;
    the causal report of the replay (see :mod:`.causality`), or "" if it shows nothing."""
    options = {**options, "record_operations": True}
    sim = Simulation(replay=token, **options)
    try:
        with sim:
            scenario(sim)
    except Exception:
        log = sim.scheduler.operations
        if log is not None and log.entries:
            return "what each simulated thread did, replayed:\n" + causal_report(log)
        return ""
    return (
        "replayed with record_operations=True, the schedule passed: "
        "the scenario is not deterministic"
    )


def explore(
    scenario: Callable[[Simulation], Any],
    *,
    max_departures: int | None = 3,
    max_schedules: int = 100_000,
    **simulation_options: Any,
) -> Exploration:
    """Run ``scenario(sim)`` under every schedule within ``max_departures`` departures from
    FIFO (see the module docstring); raise the first failure, with its replay token.

    ``simulation_options`` go to each :class:`Simulation` (``start``, ``max_steps``, ...;
    not ``seed``, ``chooser`` or ``replay``: the explorer chooses). The simulation is
    closed after each run.
    """
    if max_departures is not None and (
        isinstance(max_departures, bool) or not isinstance(max_departures, int)
    ):
        raise TypeError(f"max_departures must be an int or None, got {max_departures!r}")
    if max_departures is not None and max_departures < 0:
        raise ValueError(f"max_departures must be at least 0, got {max_departures}")
    if isinstance(max_schedules, bool) or not isinstance(max_schedules, int):
        raise TypeError(f"max_schedules must be an int, got {max_schedules!r}")
    if max_schedules < 1:
        raise ValueError(f"max_schedules must be at least 1, got {max_schedules}")
    if not callable(scenario):
        raise TypeError(f"scenario must be callable, got {scenario!r}")
    given = sorted({"seed", "chooser", "replay"} & simulation_options.keys())
    if given:
        raise TypeError(f"explore chooses the schedules itself; do not pass {given}")
    prefix: list[tuple[int, int]] | None = []
    runs = 0
    while prefix is not None:
        if runs == max_schedules:
            return Exploration(runs, complete=False, max_departures=max_departures)
        chooser = _Forced(prefix)
        sim = Simulation(chooser=chooser, **simulation_options)
        runs += 1
        try:
            with sim:
                scenario(sim)
        except NondeterministicScenarioError:
            raise
        except Exception as failure:
            failure.add_note(
                f"asyncthreads.testing.explore: schedule {runs} failed after "
                f"{runs - 1} passed; replay it with Simulation(replay={sim.replay_token!r})"
            )
            explanation = _explain(scenario, sim.replay_token, simulation_options)
            if explanation:
                failure.add_note(explanation)
            raise
        prefix = _next_prefix(chooser.taken, max_departures)
    return Exploration(runs, complete=True, max_departures=max_departures)
