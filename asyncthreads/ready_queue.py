"""ReadyQueue: the reactor's FIFO of calls ready to run, which sheds cancelled calls.

A cancelled call stays queued until the reactor thread reaches it and skips it. So that a
busy reactor does not hold every call cancelled meanwhile (a million queued and cancelled
calls would hold a million entries), the queue counts its cancelled entries
(``CancelCounting``, like the timer heap) and, once they are more than half of it, rebuilds
itself without them, in place. Its size therefore stays within a small multiple of its live
calls.

Every operation on it, the rebuild included, happens under the scheduler lock: the
rebuild moves entries, and a producer appending or the reactor taking without the lock in
the middle of it would reorder them (see the discipline at the top of
:mod:`asyncthreads.reactor`).
"""

from __future__ import annotations

from collections import deque

from .result import CANCELLED
from .scheduler import Work

__all__ = ["ReadyQueue"]

# Rebuild only past this many cancelled entries, so a short queue never churns.
_MIN_CANCELLED_TO_REBUILD = 64


class ReadyQueue(deque[Work]):
    """Calls in the order queued; see the module docstring. Guarded by the scheduler lock."""

    __slots__ = ("_cancelled", "_prune_at")

    def __init__(self) -> None:
        super().__init__()
        # Cancellations counted since the last rebuild, by Results that were queued here
        # (CancelCounting). An entry the reactor took after it was cancelled stays counted
        # until then: the count only decides when to look.
        self._cancelled = 0
        self._prune_at = _MIN_CANCELLED_TO_REBUILD

    def _prune(self) -> None:
        """Under the lock, once ``_prune_at`` queued calls were cancelled (see
        :class:`asyncthreads.result.CancelCounting`): drop them if over half the queue."""
        dead = sum(1 for work in self if work.future._state == CANCELLED)
        if 2 * dead > len(self):
            for _ in range(len(self)):
                work = self.popleft()
                if work.future._state != CANCELLED:
                    self.append(work)
        self._cancelled = 0
        # Look again once cancellations could first be over half of what is held now:
        # each rebuild costs the queue's length, paid for by as many cancellations.
        self._prune_at = max(_MIN_CANCELLED_TO_REBUILD, len(self) // 2 + 1)
