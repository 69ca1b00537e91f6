"""What time it is: the ``Clock`` interface and the production ``SystemClock``.

A clock has one method, ``now() -> float``: seconds on a monotonic scale whose origin
means nothing. Reactor deadlines (``call_at``) are in these units. The clock never reads
the wall calendar, so wall-clock jumps never move timers.

A clock that moves only when told (a simulation's ``VirtualClock``) says so with a true
``manual`` attribute; the production ``ThreadScheduler``, which waits in real time,
refuses it (its timers would never fire). A clock without the attribute moves by itself.

A clock comes paired with a scheduler: the production pair is ``SystemClock`` with
``ThreadScheduler``; ``asyncthreads.testing`` pairs a virtual clock with a step scheduler.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """The source of time for a Reactor and its scheduler."""

    def now(self) -> float:
        """Seconds on a monotonic scale; never decreases."""
        ...


class SystemClock:
    """Real monotonic time (:func:`time.monotonic`).

    Immune to freezegun and similar patchers: the real function is captured here, as a
    default argument, where patchers that rewrite ``time.monotonic`` and module-level
    references to it do not look. A production reactor's timers therefore keep firing
    while a test has ``freeze_time`` active.
    """

    __slots__ = ()

    # The builtin itself, so that reading the time costs no Python call. Bound here, at
    # import, as a class attribute: patchers replace module-level names only.
    now: Callable[[], float] = staticmethod(time.monotonic)

    def __repr__(self) -> str:
        return "SystemClock()"
