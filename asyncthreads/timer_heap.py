"""TimerHeap: pending timers in (deadline, scheduling order) order.

Equal deadlines come out in the order they were pushed. Cancelled timers are deleted
lazily: the heap is told of each cancellation (``note_cancelled``), skips cancelled
entries as they surface, and rebuilds itself without them once they are more than half
of it (asyncio's rule), so a program that schedules and cancels many timeouts keeps a
heap the size of its live timers. The heap does no locking: its owner holds the lock.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from typing import Any

from .result import CANCELLED, Result
from .scheduler import Work

__all__ = ["TimerHeap"]

# Rebuild only past this many cancelled entries, so small heaps never churn.
_MIN_CANCELLED_TO_REBUILD = 100


class TimerHeap:
    """Timers as (deadline, sequence, work) entries; see the module docstring."""

    __slots__ = ("_cancelled", "_heap", "_hook", "_sequence")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Work]] = []
        self._cancelled = 0  # entries in _heap whose Result was cancelled there
        self._sequence = itertools.count()
        # One bound method for every timer, rather than a new one per push.
        self._hook = self.note_cancelled

    def __len__(self) -> int:
        """The number of live (not cancelled) timers."""
        return len(self._heap) - self._cancelled

    def push(self, deadline: float, work: Work, future: Result[Any]) -> None:
        """Add a timer; ``future`` (``work.future``) must be pending, and is now watched
        for cancellation."""
        future._on_cancel = self._hook
        heapq.heappush(self._heap, (deadline, next(self._sequence), work))

    def note_cancelled(self, result: Result[Any]) -> None:
        """Called (under the owner's lock) when a timer's Result is cancelled."""
        self._cancelled += 1
        heap = self._heap
        if self._cancelled > _MIN_CANCELLED_TO_REBUILD and 2 * self._cancelled > len(heap):
            self._heap = [entry for entry in heap if entry[2].future._state != CANCELLED]
            heapq.heapify(self._heap)
            self._cancelled = 0

    def _drop_cancelled_head(self) -> None:
        heap = self._heap
        while heap and heap[0][2].future._state == CANCELLED:
            heapq.heappop(heap)
            self._cancelled -= 1
        assert self._cancelled >= 0, "a cancelled timer was counted twice"

    def next_deadline(self) -> float | None:
        """The earliest live deadline, or None if there are no timers."""
        heap = self._heap
        if heap and heap[0][2].future._state != CANCELLED:  # the usual case, quickly
            return heap[0][0]
        self._drop_cancelled_head()
        heap = self._heap
        return heap[0][0] if heap else None

    def pop_due(self, now: float, into: deque[Work]) -> None:
        """Move every live timer with deadline <= now to ``into``, in timer order."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            work = heapq.heappop(heap)[2]
            result = work.future
            if result._state == CANCELLED:
                self._cancelled -= 1
            else:
                result._on_cancel = None
                into.append(work)

    def drain(self) -> list[Work]:
        """Remove and return every live timer (in no particular order)."""
        live = [entry[2] for entry in self._heap if entry[2].future._state != CANCELLED]
        for work in live:
            work.future._on_cancel = None
        self._heap = []
        self._cancelled = 0
        return live

    def pending(self) -> list[tuple[float, Work]]:
        """Live timers as (deadline, work), earliest first, for reports."""
        entries = sorted(e for e in self._heap if e[2].future._state != CANCELLED)
        return [(deadline, work) for deadline, _, work in entries]
