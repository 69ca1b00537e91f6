"""TimerHeap: pending timers in (deadline, scheduling order) order.

Equal deadlines come out in the order they were pushed. Cancelled timers are deleted
lazily: a cancelled Result counts itself in the heap (``CancelCounting``), the heap skips
cancelled entries as they surface, and rebuilds itself without them once they are more
than half of it (asyncio's rule), so a program that schedules and cancels many timeouts
keeps a heap the size of its live timers. The heap does no locking: its owner holds the lock.

How it is stored, and why: a heap of the distinct deadlines (plain floats) beside a dict
from each deadline to its work, or to a list of works in scheduling order when several
share it. A float heap compares in C and allocates no entry object per timer; a
``(deadline, sequence, work)`` tuple per timer would be one more object for the garbage
collector to track and to traverse on every pass, which with many pending timers costs
more than the dict lookup.
"""

from __future__ import annotations

from collections import deque
from heapq import heapify, heappop, heappush
from typing import Any

from .result import CANCELLED, Result
from .scheduler import Work

__all__ = ["TimerHeap"]

# Rebuild only past this many cancelled entries, so small heaps never churn.
_MIN_CANCELLED_TO_REBUILD = 100


class TimerHeap:
    """Timers by deadline, ties in scheduling order; see the module docstring."""

    __slots__ = ("_cancelled", "_deadlines", "_prune_at", "_size", "_works")

    def __init__(self) -> None:
        # A heap of distinct deadlines; the owner may peek at _deadlines[0] unlocked.
        self._deadlines: list[float] = []
        # Each deadline's work, or list of works (never a list of one) in push order.
        self._works: dict[float, Work | list[Work]] = {}
        self._size = 0  # works stored, cancelled ones included
        # Stored works whose Result was cancelled, counted by the Result (CancelCounting).
        self._cancelled = 0
        self._prune_at = _MIN_CANCELLED_TO_REBUILD + 1

    def __len__(self) -> int:
        """The number of live (not cancelled) timers. Read under the owner's lock for an
        exact figure; never negative (an unlocked read may pair an old size with a new
        count)."""
        return max(0, self._size - self._cancelled)

    @property
    def stored_count(self) -> int:
        """Timers still held, cancelled ones not yet deleted included."""
        return self._size

    def push(self, deadline: float, work: Work, future: Result[Any]) -> None:
        """Add a timer; ``future`` (``work.future``) must be pending, and is now watched
        for cancellation."""
        # In an order that an exception (a signal handler's KeyboardInterrupt) between any
        # two steps leaves harmless: at worst a count one too high, or a deadline in the
        # heap with no work, which the readers skip. The work is stored last.
        future._on_cancel = self  # only this call holds `future` until it is stored
        self._size += 1
        works = self._works
        earlier = works.get(deadline)
        if earlier is None:  # a new deadline: the usual case
            heappush(self._deadlines, deadline)
            works[deadline] = work
        elif isinstance(earlier, list):
            earlier.append(work)
        else:
            works[deadline] = [earlier, work]

    def _prune(self) -> None:
        """Under the owner's lock, once ``_prune_at`` timers were cancelled (see
        :class:`asyncthreads.result.CancelCounting`): rebuild if they are over half."""
        if 2 * self._cancelled > self._size:
            self._rebuild()
        # Look again when cancelled entries could first be over half of what is held now.
        self._prune_at = max(_MIN_CANCELLED_TO_REBUILD + 1, self._size // 2 + 1)

    def _rebuild(self) -> None:
        live: dict[float, Work | list[Work]] = {}
        for deadline, works in self._works.items():
            if isinstance(works, list):
                kept = [w for w in works if w.future._state != CANCELLED]
                if kept:
                    live[deadline] = kept if len(kept) > 1 else kept[0]
            elif works.future._state != CANCELLED:
                live[deadline] = works
        deadlines = list(live)
        heapify(deadlines)
        self._works = live
        self._deadlines = deadlines  # a new list: an unlocked peek may hold the old one
        self._size -= self._cancelled
        self._cancelled = 0

    def next_deadline(self) -> float | None:
        """The earliest live deadline, or None if there are no timers."""
        deadlines = self._deadlines
        works = self._works
        while deadlines:
            deadline = deadlines[0]
            head = works.get(deadline)
            if head is None:  # left by an interrupted push (see push)
                heappop(deadlines)
                continue
            if isinstance(head, list):
                for work in head:  # a loop, not any(): no generator per look
                    if work.future._state != CANCELLED:
                        return deadline
                dropped = len(head)
            elif head.future._state != CANCELLED:
                return deadline  # the usual case
            else:
                dropped = 1
            heappop(deadlines)
            del works[deadline]
            self._size -= dropped
            self._cancelled -= dropped
        # Empty: nothing is cancelled. Said, not asserted: a cancel interrupted between
        # its state change and its count (a signal handler's exception) leaves the count
        # low, and the reactor thread that asks here must not die of it.
        self._cancelled = 0
        return None

    def pop_due(self, now: float, into: deque[Work]) -> None:
        """Move every live timer with deadline <= now to ``into``, in timer order."""
        deadlines = self._deadlines
        works = self._works
        while deadlines and deadlines[0] <= now:
            due = works.pop(heappop(deadlines), None)
            if due is None:  # left by an interrupted push (see push)
                continue
            if isinstance(due, list):
                self._take_all(due, into)
                continue
            self._size -= 1
            result = due.future
            if result._state == CANCELLED:
                self._cancelled -= 1
            else:
                result._on_cancel = None
                into.append(due)

    def _take_all(self, due: list[Work], into: deque[Work]) -> None:
        # pop_due's loop body, for the works that share one deadline.
        self._size -= len(due)
        for work in due:
            result = work.future
            if result._state == CANCELLED:
                self._cancelled -= 1
            else:
                result._on_cancel = None
                into.append(work)

    def drain(self) -> list[Work]:
        """Remove and return every live timer (in no particular order)."""
        live = [work for _, work in self._entries() if work.future._state != CANCELLED]
        for work in live:
            work.future._on_cancel = None
        self._deadlines = []
        self._works = {}
        self._size = self._cancelled = 0
        return live

    def pending(self) -> list[tuple[float, Work]]:
        """Live timers as (deadline, work), earliest first, for reports."""
        live = [entry for entry in self._entries() if entry[1].future._state != CANCELLED]
        live.sort(key=lambda entry: entry[0])  # stable: ties stay in scheduling order
        return live

    def _entries(self) -> list[tuple[float, Work]]:
        entries: list[tuple[float, Work]] = []
        for deadline, works in self._works.items():
            if isinstance(works, list):
                entries.extend((deadline, work) for work in works)
            else:
                entries.append((deadline, works))
        return entries
