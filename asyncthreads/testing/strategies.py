"""Hypothesis strategies for simulations (needs hypothesis, a test dependency)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import strategies as st

from .choosers import Candidate

__all__ = ["HypothesisChooser", "schedules"]

_DEPART = st.booleans()


class HypothesisChooser:
    """Draws each decision from hypothesis, which records and shrinks them.

    Each decision is a boolean, "depart from FIFO?", and only for a departure an index
    among the other ready actors. Hypothesis shrinks the sequence of draws shortest
    first, and each departure costs one extra draw, so a failing interleaving shrinks to
    the fewest departures from FIFO, then to the lowest-numbered choices.
    """

    __slots__ = ("_draw", "decisions")

    def __init__(self, draw: Callable[[st.SearchStrategy[int]], int]) -> None:
        self._draw = draw
        self.decisions = 0

    def choose(self, step: int, ready: Sequence[Candidate]) -> int:
        self.decisions += 1
        if not self._draw(_DEPART):
            return 0
        return self._draw(st.integers(1, len(ready) - 1))

    def __repr__(self) -> str:
        return "schedules()"


@st.composite
def _schedules(draw: Callable[[st.SearchStrategy[Any]], Any]) -> HypothesisChooser:
    # The chooser keeps `draw` and draws lazily, while the simulation runs inside the
    # test: the decisions become part of the example without one printed line each.
    return HypothesisChooser(draw)


def schedules() -> st.SearchStrategy[HypothesisChooser]:
    """A strategy for choosers driven by hypothesis::

    @given(st.data())
    def test_no_lost_update(data):
        sim = Simulation(chooser=data.draw(schedules()))
        ...
    """
    return _schedules()
