"""PeriodicTask: a function run every ``interval`` seconds by ``Reactor.call_every``.

The policy, which a caller may rely on:

* **Grid.** Run *n* is due at ``start + n * interval`` (``start`` is when ``call_every``
  was called; the first run is one interval later). Deadlines are computed from the grid,
  never by adding intervals to the previous run's time, so runs do not drift.
* **Late ticks and overruns are skipped, not bunched.** After a run, the next run is the
  next grid point that is not already in the past, nor at the very instant the run
  started. A run that overran two intervals, or a reactor that was busy, makes the task
  skip the missed ticks; it never fires a burst to catch up (Twisted's ``LoopingCall``
  behaves the same; Java's ``scheduleAtFixedRate`` bunches instead), and never runs
  twice at one instant (a late run that starts exactly on a later grid point stands for
  that point too).
* **Never overlapping.** The next run is scheduled only when the current run has returned,
  also with ``in_thread=True``, where runs go to the pool: one run at a time, like Java's
  ``ScheduledThreadPoolExecutor``.
* **Exceptions stop the task.** If a run raises, no further run starts, the exception is
  logged on the ``asyncthreads`` logger and the task's Result fails with it. So does an
  exception in scheduling the next run (a clock that raises, a grid that no longer
  moves at the clock's reading): it never escapes into the reactor thread.
* **Ending.** The Result stays pending between runs and is running during one
  (``running()``); it ends cancelled when cancelled or when the reactor shuts down,
  failed when a run raises. The function's return value is ignored.
* **Cancelling is exact.** ``cancel()`` and ``Reactor.cancel_scheduled`` answer True when
  no run is under way: the task is then cancelled at once and no run starts after the
  answer. During a run they answer False (the function is running) and the task stops
  after that run, its Result then ending cancelled (also if that run raises: the
  exception is logged). A run starts when its Result turns
  running, under the scheduler lock, just before the function is called.
"""

from __future__ import annotations

import contextvars
import logging
import math
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from .names import callable_name
from .result import PENDING, RUNNING, Result

if TYPE_CHECKING:
    from .reactor import Reactor
    from .scheduler import Scheduler

__all__ = ["PeriodicResult", "PeriodicTask"]

logger = logging.getLogger("asyncthreads")


class PeriodicResult(Result[None]):
    """The Result of a periodic task: running during a run, and cancelled during one by
    asking the task to stop after it (see the module docstring)."""

    __slots__ = ("stop_requested",)

    def __init__(self, scheduler: Scheduler, owner: object = None) -> None:
        super().__init__(scheduler, owner)
        self.stop_requested = False  # a cancel came during a run: stop after it

    def cancel(self) -> bool:
        """True if no run was under way: cancelled now, no run ever starts again (or
        already cancelled). False during a run, which then is the last; or once ended."""
        return self._cancel(super().cancel)

    def _cancel_if_pending(self) -> bool:
        """As :meth:`cancel`, but False if already cancelled (``cancel_scheduled``)."""
        return self._cancel(super()._cancel_if_pending)

    def _cancel(self, cancel_pending: Callable[[], bool]) -> bool:
        while True:
            with self._scheduler.lock:
                if self._state == RUNNING:
                    self.stop_requested = True
                    return False
            # Not running a moment ago: pending (cancel it) or ended (say so).
            answer = cancel_pending()
            if answer or self._state != RUNNING:
                return answer
            # A run started in between, so the cancel found it running: ask it to stop.


class PeriodicTask:
    """One periodic task; each ``run()`` is one tick. See the module docstring."""

    __slots__ = (
        "call",
        "context",
        "fn",
        "future",
        "in_thread",
        "interval",
        "last_start",
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
        result: PeriodicResult,
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
        self.last_start = start  # when the latest run started
        self.in_thread = in_thread
        self.reactor = reactor
        self.name: str = callable_name(fn)

    @property
    def deadline(self) -> float:
        """When the current tick is due."""
        return self.start + self.tick * self.interval

    def advance(self, now: float) -> float:
        """Move to the next tick that is not in the past at ``now`` nor at the instant
        the run that just returned started (``last_start``); return its deadline.

        Raises ValueError if the grid no longer moves at this clock reading (an interval
        below the clock's resolution there), OverflowError if the tick count would.
        """
        start, interval, started = self.start, self.interval, self.last_start
        tick = self.tick + 1
        deadline = start + tick * interval
        if deadline < now or deadline <= started:  # late: skip the ticks already missed
            tick = max(tick, math.ceil((now - start) / interval))
            # The division may round either way: step to the first tick that qualifies.
            for _ in range(4):
                deadline = start + tick * interval
                if deadline >= now and deadline > started:
                    break
                tick += 1
            else:
                raise ValueError(
                    f"periodic task {self.name}: the interval {interval!r} no longer moves "
                    f"its deadline at clock time {now!r}"
                )
            while tick > self.tick + 1:
                earlier = start + (tick - 1) * interval
                if earlier < now or earlier <= started:
                    break
                tick -= 1
                deadline = earlier
        self.tick = tick
        return deadline

    def run(self) -> None:
        result = self.future
        # The start, under the lock: from here a cancel answers False and stops the task
        # after this run (a cancel before it answers True, and this run never starts).
        with result._scheduler.lock:
            if result._state != PENDING:
                return
            result._state = RUNNING
        try:
            self.last_start = self.reactor.clock.now()
            self.context.run(self.call)
        except BaseException as exc:  # a task must never kill its thread
            logger.error("periodic task %s stopped: it raised %r", self.name, exc, exc_info=exc)
            if result.stop_requested:  # cancelled during this run: it ends cancelled
                self.reactor._end_cancelled(result)
            elif result._settle(None, exc):
                result._retrieve()  # just logged: not to be reported again when collected
            return
        try:
            self.reactor._reschedule(self)
        except BaseException as exc:  # nor may scheduling the next run
            logger.error(
                "periodic task %s stopped: scheduling its next run raised %r",
                self.name,
                exc,
                exc_info=exc,
            )
            if result._settle(None, exc):
                result._retrieve()  # just logged: not to be reported again when collected

    def __repr__(self) -> str:
        return f"<PeriodicTask {self.name} every {self.interval}s tick {self.tick}>"
