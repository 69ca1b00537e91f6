"""PeriodicTask: a function run every ``interval`` seconds by ``Reactor.call_every``.

The policy, which a caller may rely on:

* **Grid.** Run *n* is due at ``start + n * interval`` (``start`` is when ``call_every``
  was called; the first run is one interval later). Deadlines are computed from the grid,
  never by adding intervals to the previous run's time, so runs do not drift.
* **Late ticks and overruns are skipped, not bunched.** After a run, the next run is the
  next grid point that is not already in the past. A run that overran two intervals, or a
  reactor that was busy, makes the task skip the missed ticks; it never fires a burst to
  catch up (Twisted's ``LoopingCall`` behaves the same; Java's ``scheduleAtFixedRate``
  bunches instead).
* **Never overlapping.** The next run is scheduled only when the current run has returned,
  also with ``in_thread=True``, where runs go to the pool: one run at a time, like Java's
  ``ScheduledThreadPoolExecutor``.
* **Exceptions stop the task.** If a run raises, no further run starts, the exception is
  logged on the ``asyncthreads`` logger and the task's Result fails with it.
* **Ending.** The Result stays pending while the task repeats (``running()`` is False
  between and during runs); it ends cancelled when cancelled or when the reactor shuts
  down, failed when a run raises. Cancelling during a run lets that run finish and starts
  no other. The function's return value is ignored.
"""

from __future__ import annotations

import contextvars
import logging
import math
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from .names import callable_name
from .result import PENDING, Result

if TYPE_CHECKING:
    from .reactor import Reactor

__all__ = ["PeriodicTask"]

logger = logging.getLogger("asyncthreads")


class PeriodicTask:
    """One periodic task; each ``run()`` is one tick. See the module docstring."""

    __slots__ = (
        "call",
        "context",
        "fn",
        "future",
        "in_thread",
        "interval",
        "name",
        "reactor",
        "start",
        "tick",
    )

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        result: Result[None],
        *,
        interval: float,
        start: float,
        in_thread: bool,
        reactor: Reactor,
    ) -> None:
        self.fn = fn
        # What each run calls: the function itself when there are no arguments, because
        # Context.run(fn) costs a third of Context.run(fn, *args, **kwargs) with both empty.
        self.call: Callable[[], Any] = partial(fn, *args, **kwargs) if args or kwargs else fn
        self.context = contextvars.copy_context()
        self.future = result
        self.interval = interval
        self.start = start
        self.tick = 1
        self.in_thread = in_thread
        self.reactor = reactor
        self.name: str = callable_name(fn)

    @property
    def deadline(self) -> float:
        """When the current tick is due."""
        return self.start + self.tick * self.interval

    def advance(self, now: float) -> float:
        """Move to the next tick that is not in the past at ``now``; return its deadline."""
        tick = self.tick + 1
        if self.start + tick * self.interval < now:  # late: skip the ticks already missed
            tick = math.ceil((now - self.start) / self.interval)
            # The division may round up past a tick that is due exactly now.
            if self.start + (tick - 1) * self.interval >= now:
                tick -= 1
        self.tick = tick
        return self.start + tick * self.interval  # self.deadline, inlined: every run

    def run(self) -> None:
        result = self.future
        # Cancelled, perhaps while this tick was queued? One read of the state, without
        # the lock: the lock would order this read against a cancellation no differently,
        # since the run records nothing. A cancellation either comes first (and this run
        # never starts) or finds the run started (and it finishes; the next is never
        # scheduled, as _reschedule checks again under the lock).
        if result._state != PENDING:
            return
        try:
            self.context.run(self.call)
        except BaseException as exc:  # a task must never kill its thread
            logger.error("periodic task %s stopped: it raised %r", self.name, exc, exc_info=exc)
            if result._settle(None, exc):  # (not if cancelled meanwhile)
                result._retrieve()  # just logged: not to be reported again when collected
            return
        self.reactor._reschedule(self)

    def __repr__(self) -> str:
        return f"<PeriodicTask {self.name} every {self.interval}s tick {self.tick}>"
