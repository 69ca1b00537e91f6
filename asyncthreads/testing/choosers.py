"""Choosers: who runs next when several actors have work ready at once.

Every nondeterministic decision of a simulation goes through its chooser: which of the
actors holding ready work (or blocked and now free to continue) runs next, and, at a
schedule point (``checkpoint()``), whether the running thread goes on (index 0, the
running thread being the first candidate) or another runs first. That covers which of
a pool's in-flight tasks lands first, and whether a pool task lands before or after a
reactor call; it never reorders one actor's own work, so the reactor stays serial and
FIFO and same-deadline timers stay in scheduling order.

A decision is offered as ``choose(step, ready)``: ``step`` is the number of steps run so
far, ``ready`` the candidates (two or more) in the order they became ready, each with its
actor's number in the simulation (actors are numbered as they start: a reactor's pool
workers, then the reactor loop, ...) and name. The chooser returns an index into
``ready``; index 0 is FIFO.

A run's decisions are recorded as *departures from FIFO*, ``(step, actor)`` pairs, and
:func:`encode_token` makes them a short replay token. Because a token names logical
decisions (which actor ran at which step), not bytecode, it stays valid across Python
versions and small edits; :class:`ReplayChooser` replays it as far as it still fits and
records where it stopped fitting.

Choosers here: :class:`FifoChooser` (the default), :class:`RandomChooser` (seeded),
:class:`PCTChooser` (probabilistic concurrency testing), :class:`ReplayChooser`, and, for
hypothesis, :func:`asyncthreads.testing.schedules`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import NamedTuple, Protocol, runtime_checkable

__all__ = [
    "Candidate",
    "Chooser",
    "FifoChooser",
    "PCTChooser",
    "RandomChooser",
    "ReplayChooser",
    "decode_token",
    "encode_token",
]

_TOKEN_PREFIX = "at2:"


class Candidate(NamedTuple):
    """An actor holding ready work at a decision."""

    actor: int  # the actor's number in its simulation, in start order from 0
    name: str


@runtime_checkable
class Chooser(Protocol):
    """Picks which ready actor runs next."""

    def choose(self, step: int, ready: Sequence[Candidate]) -> int:
        """Return an index into ``ready`` (two or more candidates, in ready order)."""
        ...


class FifoChooser:
    """Always the actor that became ready first: fully reproducible, no interleaving."""

    __slots__ = ()

    def choose(self, step: int, ready: Sequence[Candidate]) -> int:
        return 0

    def __repr__(self) -> str:
        return "FifoChooser()"


class RandomChooser:
    """A seeded uniform random choice: the same seed gives the same run."""

    __slots__ = ("_random", "seed")

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._random = random.Random(seed)

    def choose(self, step: int, ready: Sequence[Candidate]) -> int:
        return self._random.randrange(len(ready))

    def __repr__(self) -> str:
        return f"RandomChooser(seed={self.seed})"


class PCTChooser:
    """Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010), seeded.

    Each actor gets a random priority when first seen, and the highest-priority ready
    actor runs. At ``depth - 1`` change points, decisions drawn at random from the 2nd to the
    ``expected_decisions``-th, the actor about to run drops below every initial priority. A
    bug that needs ``depth`` ordering constraints is found with probability at least
    1 / (actors * expected_decisions ** (depth - 1)) per run, far better than uniform
    random choice for bugs that need one actor to be starved for a while.

    Change points count *decisions* (the times the chooser is asked, when several actors
    are ready), not steps: a step where only one actor could run is no place to change
    anything. Set ``expected_decisions`` near the number a run makes, which
    :attr:`decisions` tells after a run; more wastes change points past the run's end,
    fewer never reaches its later decisions. (``expected_steps`` is its old name.)
    """

    __slots__ = (
        "_changes",
        "_priorities",
        "_random",
        "decisions",
        "depth",
        "expected_decisions",
        "seed",
    )

    def __init__(
        self,
        seed: int,
        *,
        depth: int = 3,
        expected_decisions: int | None = None,
        expected_steps: int | None = None,
    ) -> None:
        if expected_decisions is not None and expected_steps is not None:
            raise ValueError("give expected_decisions or its old name expected_steps, not both")
        expected = expected_decisions if expected_decisions is not None else expected_steps
        if expected is None:
            expected = 200
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        if expected < depth:
            raise ValueError(f"expected_decisions must be at least depth, got {expected}")
        self.seed = seed
        self.depth = depth
        self.expected_decisions = expected
        self.decisions = 0  # decisions made so far
        self._random = random.Random(seed)
        points = self._random.sample(range(1, expected), depth - 1)
        # Change point i (at decision points[i]) gives priority depth - 1 - i: below every
        # initial priority (all >= depth), later change points lower still.
        self._changes = sorted((point, float(depth - 1 - i)) for i, point in enumerate(points))
        self._priorities: dict[int, float] = {}

    def choose(self, step: int, ready: Sequence[Candidate]) -> int:
        decision = self.decisions
        self.decisions += 1
        priorities = self._priorities
        for candidate in ready:
            if candidate.actor not in priorities:
                priorities[candidate.actor] = self.depth + self._random.random()
        best = max(range(len(ready)), key=lambda i: priorities[ready[i].actor])
        while self._changes and self._changes[0][0] <= decision:
            _, lowered = self._changes.pop(0)
            priorities[ready[best].actor] = lowered
            best = max(range(len(ready)), key=lambda i: priorities[ready[i].actor])
        return best

    def __repr__(self) -> str:
        return (
            f"PCTChooser(seed={self.seed}, depth={self.depth}, "
            f"expected_decisions={self.expected_decisions})"
        )


class ReplayChooser:
    """Replays a token's decisions; where one no longer fits (the program changed), it
    records the step in :attr:`diverged_at` and goes on FIFO.

    A recorded departure no longer fits when its actor is not ready at its step, or when
    the run reaches a later decision without that step having been a decision at all.
    """

    __slots__ = ("_departures", "_next", "diverged_at", "used")

    def __init__(self, token: str) -> None:
        self._departures = decode_token(token)
        self._next = 0  # index of the next departure to replay
        self.diverged_at: int | None = None
        self.used = 0  # departures replayed so far

    def choose(self, step: int, ready: Sequence[Candidate]) -> int:
        if self.diverged_at is not None or self._next >= len(self._departures):
            return 0
        recorded_step, actor = self._departures[self._next]
        if recorded_step < step:  # that step was no decision this time: the run changed
            self.diverged_at = recorded_step
            return 0
        if recorded_step > step:
            return 0
        self._next += 1
        for index, candidate in enumerate(ready):
            if candidate.actor == actor:
                self.used += 1
                return index
        self.diverged_at = step
        return 0

    def divergence(self, steps_run: int) -> int | None:
        """The step where the run stopped fitting the token, given how many steps it ran
        (a recorded departure whose step passed without being a decision counts)."""
        if self.diverged_at is not None:
            return self.diverged_at
        if self._next < len(self._departures) and self._departures[self._next][0] < steps_run:
            return self._departures[self._next][0]
        return None

    @property
    def unused(self) -> int:
        """Departures the run has not reached (or could not use after diverging)."""
        return len(self._departures) - self.used

    def __repr__(self) -> str:
        return f"ReplayChooser({encode_token(self._departures)!r})"


def encode_token(departures: Sequence[tuple[int, int]]) -> str:
    """A short text for departures from FIFO: ``(step, actor)`` pairs, as ``at2:3:1,9:0``.

    Steps must strictly increase and both numbers be non-negative ints.
    """
    previous = -1
    for step, actor in departures:
        if not (type(step) is int and type(actor) is int and step > previous and actor >= 0):
            raise ValueError(f"departures must be increasing (step, actor) ints: {departures!r}")
        previous = step
    return _TOKEN_PREFIX + ",".join(f"{step}:{actor}" for step, actor in departures)


_PART = re.compile(r"([0-9]+):([0-9]+)")


def decode_token(token: str) -> list[tuple[int, int]]:
    """The ``(step, actor)`` departures in a token made by :func:`encode_token`."""
    if not isinstance(token, str) or not token.startswith(_TOKEN_PREFIX):
        raise ValueError(f"not a replay token (they start with {_TOKEN_PREFIX!r}): {token!r}")
    body = token[len(_TOKEN_PREFIX) :]
    departures: list[tuple[int, int]] = []
    if not body:
        return departures
    for part in body.split(","):
        match = _PART.fullmatch(part)
        if match is None:
            raise ValueError(f"malformed replay token part {part!r} in {token!r}")
        departures.append((int(match.group(1)), int(match.group(2))))
    steps = [step for step, _ in departures]
    if steps != sorted(set(steps)):
        raise ValueError(f"replay token steps must increase: {token!r}")
    return departures
