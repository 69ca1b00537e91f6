"""Hypothesis strategies for simulations (needs hypothesis, a test dependency)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import strategies as st

from .choosers import Candidate

__all__ = ["HypothesisChooser", "schedules"]


class HypothesisChooser:
    """Draws each decision from hypothesis, which records and shrinks them.

    Each decision is an integer in ``[0, len(ready))``; hypothesis shrinks integers
    towards 0, which is FIFO, so a failing interleaving shrinks towards the fewest
    departures from FIFO, and to the earliest steps' decisions being FIFO first.
    """

    __slots__ = ("_draw", "decisions")

    def __init__(self, draw: Callable[[st.SearchStrategy[int]], int]) -> None:
        self._draw = draw
        self.decisions = 0

    def choose(self, step: int, ready: Sequence[Candidate]) -> int:
        self.decisions += 1
        return self._draw(st.integers(0, len(ready) - 1))

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
