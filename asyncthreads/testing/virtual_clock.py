"""VirtualClock: time that moves only when the test says so."""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["VirtualClock"]


class VirtualClock:
    """A :class:`asyncthreads.Clock` whose ``now()`` changes only through its Simulation.

    Time never goes backwards. Listeners (such as the freezegun bridge) are told of every
    move.
    """

    __slots__ = ("_listeners", "_now")

    # Moves only when told: the production ThreadScheduler refuses it (see asyncthreads.clock).
    manual = True

    def __init__(self, start: float = 0.0) -> None:
        start = float(start)
        if not math.isfinite(start):
            raise ValueError(f"start must be finite, got {start}")
        self._now = start
        self._listeners: list[Callable[[float], object]] = []

    def now(self) -> float:
        return self._now

    def _move_to(self, when: float) -> None:
        """Set the time (the Simulation's job: it runs what falls due on the way)."""
        if when < self._now:
            raise ValueError(f"time never goes backwards: now {self._now}, asked for {when}")
        if when != self._now:
            self._now = when
            for listener in self._listeners:
                listener(when)

    def _listen(self, listener: Callable[[float], object]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def __repr__(self) -> str:
        return f"VirtualClock(now={self._now})"
