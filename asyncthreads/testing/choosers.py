"""Choosers: who runs next when several actors have work ready at once.

In a simulation, each decision point is the list of actors holding ready work, in the
order they became ready (the reactor's loop, pool workers with a task in hand). A chooser
returns the index of the one to run. Decisions with only one candidate are not asked.

Every run records its decisions; :func:`encode_token` makes them a short replay token and
``Simulation(replay=token)`` replays them with :class:`ReplayChooser`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

__all__ = [
    "Chooser",
    "FifoChooser",
    "RandomChooser",
    "ReplayChooser",
    "decode_token",
    "encode_token",
]

_TOKEN_PREFIX = "at1:"


@runtime_checkable
class Chooser(Protocol):
    """Picks which ready actor runs next."""

    def choose(self, ready: Sequence[str]) -> int:
        """Return an index into ``ready`` (actor names, at least two, in ready order)."""
        ...


class FifoChooser:
    """Always the actor that became ready first: fully reproducible, no interleaving."""

    __slots__ = ()

    def choose(self, ready: Sequence[str]) -> int:
        return 0

    def __repr__(self) -> str:
        return "FifoChooser()"


class RandomChooser:
    """A seeded uniform random choice: the same seed gives the same run."""

    __slots__ = ("_random", "seed")

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._random = random.Random(seed)

    def choose(self, ready: Sequence[str]) -> int:
        return self._random.randrange(len(ready))

    def __repr__(self) -> str:
        return f"RandomChooser(seed={self.seed})"


class ReplayChooser:
    """Replays recorded decisions; past their end, or where one no longer fits (the
    program changed), it falls back to FIFO and records where it diverged."""

    __slots__ = ("_choices", "_position", "diverged_at")

    def __init__(self, token: str) -> None:
        self._choices = decode_token(token)
        self._position = 0
        self.diverged_at: int | None = None  # the decision number where replay stopped fitting

    def choose(self, ready: Sequence[str]) -> int:
        position = self._position
        self._position += 1
        if self.diverged_at is None:
            if position < len(self._choices) and self._choices[position] < len(ready):
                return self._choices[position]
            if position < len(self._choices):
                self.diverged_at = position
        return 0

    @property
    def exhausted(self) -> bool:
        """True once every recorded decision has been used."""
        return self._position >= len(self._choices)

    def __repr__(self) -> str:
        return f"ReplayChooser({encode_token(self._choices)!r})"


def encode_token(choices: Sequence[int]) -> str:
    """A short text for a list of decisions: indices with runs compressed (``0x12``)."""
    parts: list[str] = []
    i = 0
    while i < len(choices):
        j = i
        while j < len(choices) and choices[j] == choices[i]:
            j += 1
        run = j - i
        parts.append(f"{choices[i]}x{run}" if run > 1 else str(choices[i]))
        i = j
    return _TOKEN_PREFIX + ".".join(parts)


_PART = re.compile(r"^(\d+)(?:x(\d+))?$")


def decode_token(token: str) -> list[int]:
    """The decisions in a token made by :func:`encode_token`."""
    if not isinstance(token, str) or not token.startswith(_TOKEN_PREFIX):
        raise ValueError(f"not a replay token (they start with {_TOKEN_PREFIX!r}): {token!r}")
    body = token[len(_TOKEN_PREFIX) :]
    choices: list[int] = []
    if not body:
        return choices
    for part in body.split("."):
        match = _PART.match(part)
        if match is None:
            raise ValueError(f"malformed replay token part {part!r} in {token!r}")
        choices.extend([int(match.group(1))] * int(match.group(2) or 1))
    return choices
