"""StepScheduler: a scheduler with no threads. Work runs one unit per step, on the caller.

It implements :class:`asyncthreads.Scheduler` for a :class:`VirtualClock`, so the
production Reactor and ThreadPool run on it unchanged. Each actor (the reactor loop,
each pool worker) is a record here, not a thread; the step scheduler models what real
threads would do:

* An actor that has nothing in hand is asked for work (``next_work``) as soon as it is
  woken, its deadline passes, or its last unit of work ends. A pool of N workers thus
  holds up to N tasks in flight, as N threads would.
* Each step runs the work of *one* actor holding work. When several hold work, the
  :mod:`chooser <asyncthreads.testing.choosers>` picks which (FIFO by default), and the
  decision is recorded for the replay token. With one worker a pool is strictly FIFO; the
  reactor is always serial and FIFO, whatever the choices.
* Time moves only in :meth:`advance_to` and in waits: to each next deadline in turn, so
  work due at an instant runs at that instant, with the clock reading exactly it.
* Waiting on a Result (``result()``, ``get_result()``, ``wait()``) *drives* the
  simulation: ready work first, then a jump to the next deadline, until the Result is
  done, the (virtual) timeout passes, or nothing can ever complete it, which raises
  :class:`asyncthreads.DeadlockError` with a report. Called inside a task, the wait
  drives the *other* actors while this one stays blocked, as a blocked thread would.
* Nothing hangs: at one instant at most ``max_steps_per_instant`` steps may run (a
  livelock raises :class:`NeverIdleError` naming what keeps re-scheduling itself), and a
  wait or ``run_until`` runs at most ``max_steps`` steps.

Use it from one thread: the one the test runs on.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..errors import DeadlockError
from ..reactor import _Loop, _ToPool
from ..result import CANCELLED, FINISHED, RUNNING
from ..scheduler import STOP, Actor, Work
from ..thread_pool import _Worker
from .choosers import Chooser, FifoChooser
from .trace import Trace, TraceEvent
from .virtual_clock import VirtualClock

if TYPE_CHECKING:
    from ..clock import Clock
    from ..result import Result

__all__ = ["NeverIdleError", "StepScheduler"]


class NeverIdleError(RuntimeError):
    """Work kept becoming ready at one instant: the simulation would never go idle."""


class _NullLock:
    """The lock of a single-threaded world: acquiring always succeeds at once."""

    __slots__ = ()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return True

    def release(self) -> None:
        pass

    def __enter__(self) -> bool:
        return True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        pass


class _NoBlockingCondition(_NullLock):
    """Result waiters in a simulation drive it instead of blocking; a raw blocking wait
    (``concurrent.futures.wait`` on a pending Result) cannot work, and says so."""

    __slots__ = ()

    def wait(self, timeout: float | None = None) -> bool:
        raise RuntimeError(
            "a simulated Result cannot be waited on by blocking (for instance with "
            "concurrent.futures.wait); use result.wait(), result.result() or sim.run_until()"
        )

    def wait_for(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:
        if predicate():
            return True
        return self.wait(timeout)

    def notify_all(self) -> None:
        pass


class _SimActor:
    """The step scheduler's record of one actor; also the actor's handle."""

    __slots__ = ("actor", "holding", "name", "poll_pending", "running", "scheduler", "stopped")

    running: Work | None

    def __init__(self, actor: Actor, scheduler: StepScheduler) -> None:
        self.actor = actor
        self.name = actor.name
        self.scheduler = scheduler
        self.holding = False  # it has taken work that has not run yet
        self.poll_pending = False
        self.running = None  # the work it is running (perhaps blocked in a nested wait)
        self.stopped = False

    def wake(self) -> None:
        if not self.poll_pending and not self.stopped:
            self.poll_pending = True
            self.scheduler._to_poll.append(self)

    def __repr__(self) -> str:
        return f"<simulated actor {self.name}>"


class StepScheduler:
    """A scheduler that runs actors in steps, on the calling thread. See module docstring."""

    def __init__(
        self,
        clock: VirtualClock,
        *,
        chooser: Chooser | None = None,
        max_steps: int = 1_000_000,
        max_steps_per_instant: int = 100_000,
        trace_limit: int | None = 100_000,
    ) -> None:
        if not isinstance(clock, VirtualClock):
            raise TypeError(f"a StepScheduler needs a VirtualClock, got {clock!r}")
        self.clock = clock
        self.chooser: Chooser = chooser if chooser is not None else FifoChooser()
        self.max_steps = max_steps
        self.max_steps_per_instant = max_steps_per_instant
        self.trace = Trace(trace_limit)
        self.choices: list[int] = []  # every decision taken, for the replay token
        self._lock = _NullLock()
        self._actors: list[_SimActor] = []  # live actors, in start order
        self._to_poll: deque[_SimActor] = deque()
        self._ready: list[tuple[_SimActor, Work]] = []  # actors holding work, ready order
        self._timed: dict[_SimActor, float] = {}
        self._running: list[_SimActor] = []  # actors whose work is running, innermost last
        self._instant = clock.now()
        self._steps_at_instant = 0

    # -- the Scheduler interface ----------------------------------------------------------

    @property
    def lock(self) -> _NullLock:
        return self._lock

    def condition(self) -> _NoBlockingCondition:
        return _NoBlockingCondition()

    def start(self, actor: Actor, clock: Clock) -> _SimActor:
        if clock is not self.clock:
            raise ValueError(
                f"{actor.name} uses {clock!r}, but this StepScheduler drives {self.clock!r}: "
                "pass the simulation's clock and scheduler together"
            )
        record = _SimActor(actor, self)
        self._actors.append(record)
        record.wake()
        return record

    def current_actor(self) -> Actor | None:
        return self._running[-1].actor if self._running else None

    def wait(self, result: Result[Any], timeout: float | None) -> bool:
        deadline = None if timeout is None else self.clock.now() + max(0.0, timeout)
        return self._drive(result.done, deadline, what=repr(result))

    def at_exit(self, callback: Callable[[], object]) -> Callable[[], None]:
        # A simulation ends with its test, not with the interpreter.
        return _nothing

    # -- stepping -------------------------------------------------------------------------

    def _poll(self) -> None:
        """Ask every actor that may have new work what it will do."""
        to_poll = self._to_poll
        now = self.clock._now
        while to_poll:
            record = to_poll.popleft()
            record.poll_pending = False
            if record.running is not None or record.stopped or record.holding:
                continue
            answer = record.actor.next_work(now)
            if answer is None:
                self._timed.pop(record, None)
            elif type(answer) is float:
                if answer <= now:
                    record.wake()
                else:
                    self._timed[record] = answer
            elif answer is STOP:
                record.stopped = True
                self._timed.pop(record, None)
                self._actors.remove(record)
            else:
                self._timed.pop(record, None)
                record.holding = True
                self._ready.append((record, answer))  # type: ignore[arg-type]

    def step(self) -> TraceEvent | None:
        """Run one unit of ready work at the current instant; None if nothing was ready."""
        self._poll()
        ready = self._ready
        if not ready:
            return None
        if len(ready) == 1:
            record, work = ready.pop()
        else:
            index = self.chooser.choose([r.name for r, _ in ready])
            if not 0 <= index < len(ready):
                raise ValueError(f"{self.chooser!r} chose {index} of {len(ready)} ready actors")
            self.choices.append(index)
            record, work = ready.pop(index)
        now = self.clock._now
        if now != self._instant:
            self._instant = now
            self._steps_at_instant = 0
        self._steps_at_instant += 1
        if self._steps_at_instant > self.max_steps_per_instant:
            self._ready.insert(0, (record, work))
            raise NeverIdleError(self._never_idle_report())
        return self._run(record, work)

    def _run(self, record: _SimActor, work: Work) -> TraceEvent:
        record.holding = False
        result = work.result
        before = result._state
        record.running = work
        self._running.append(record)
        try:
            work.run()
        finally:
            self._running.pop()
            record.running = None
            record.wake()
        event = TraceEvent(self.clock._now, record.name, _name_of(work), _outcome(work, before))
        self.trace.record(event)
        return event

    def run_until_idle(self) -> int:
        """Run ready work at the current instant until none is left; return the count."""
        count = 0
        while self.step() is not None:
            count += 1
        return count

    def next_deadline(self) -> float | None:
        """The earliest time an idle actor asked to be polled at, or None."""
        self._poll()
        return min(self._timed.values()) if self._timed else None

    def _move_to(self, when: float) -> None:
        self.clock._move_to(when)
        for record, deadline in list(self._timed.items()):
            if deadline <= when:
                del self._timed[record]
                record.wake()

    def advance_to(self, when: float) -> None:
        """Move time to ``when``, firing what falls due on the way at its exact time."""
        if when < self.clock.now():
            raise ValueError(f"time never goes backwards: now {self.clock.now()}, asked {when}")
        while True:
            self.run_until_idle()
            deadline = self.next_deadline()
            if deadline is None or deadline > when:
                break
            self._move_to(deadline)
        self._move_to(when)
        self.run_until_idle()

    def _drive(self, done: Callable[[], bool], deadline: float | None, *, what: str) -> bool:
        """Run the simulation until ``done()``; False if virtual time reaches ``deadline``."""
        steps = 0
        while not done():
            if self.step() is not None:
                steps += 1
                if steps > self.max_steps:
                    raise NeverIdleError(
                        f"waited {self.max_steps} steps for {what} and it is still not done\n"
                        + self.report()
                    )
                continue
            next_time = self.next_deadline()
            if deadline is not None and (next_time is None or next_time > deadline):
                self._move_to(max(deadline, self.clock.now()))
                self.run_until_idle()
                return done()
            if next_time is None:
                raise DeadlockError(self._deadlock_report(what))
            self._move_to(next_time)
        return True

    # -- reports --------------------------------------------------------------------------

    def _never_idle_report(self) -> str:
        recent = self.trace.last(1000)
        counts = Counter(f"{e.actor}: {e.what}" for e in recent if e.time == self._instant)
        top = ", ".join(f"{name} ({n}x)" for name, n in counts.most_common(3))
        return (
            f"more than {self.max_steps_per_instant} steps at t={self._instant} without going "
            f"idle; what keeps re-scheduling itself: {top}\n" + self.report()
        )

    def _deadlock_report(self, what: str) -> str:
        if self._running:
            blocked = self._running[-1]
            task = _name_of(blocked.running) if blocked.running is not None else "?"
            head = f"{blocked.name}, running {task}, is blocked waiting for {what}"
        else:
            head = f"waiting for {what}"
        return (
            f"{head}, but nothing can ever complete it: no work is ready and no timer is set\n"
            + (self.report())
        )

    def pending(self) -> list[str]:
        """What each actor is doing or waiting for, and what is queued, as lines of text."""
        lines = [f"virtual time: {self.clock.now()}"]
        in_hand = {id(r): w for r, w in self._ready}
        pools: dict[int, Any] = {}
        for record in self._actors:
            if record.running is not None:
                state = f"running {_name_of(record.running)}, blocked in a wait"
            elif id(record) in in_hand:
                state = f"ready to run {_name_of(in_hand[id(record)])}"
            elif record in self._timed:
                state = f"idle until t={self._timed[record]}"
            else:
                state = "idle (waiting to be woken)"
            lines.append(f"  {record.name}: {state}")
            actor = record.actor
            if isinstance(actor, _Loop):
                reactor = actor.reactor
                for deadline, work in reactor.pending_timers():
                    lines.append(f"    timer t={deadline}: {_name_of(work)}")
                for work in list(reactor._ready):
                    if work.result._state != CANCELLED:
                        lines.append(f"    queued call: {_name_of(work)}")
            elif isinstance(actor, _Worker):
                pools[id(actor.pool)] = actor.pool
        for pool in pools.values():
            queued = [w for w in pool._queue if w.result._state != CANCELLED]
            lines.append(f"  {pool.name}: {len(queued)} queued task(s)")
            lines.extend(f"    queued task: {_name_of(w)}" for w in queued[:20])
        return lines

    def report(self, last: int = 20) -> str:
        """:meth:`pending` and the last ``last`` trace events, for error messages."""
        events = self.trace.last(last)
        trace = "\n".join(f"  {e}" for e in events) or "  (nothing has run)"
        return "\n".join(self.pending()) + f"\nlast {len(events)} steps:\n" + trace


def _nothing() -> None:
    pass


def _name_of(work: Work) -> str:
    name = getattr(work, "name", None)
    return name if isinstance(name, str) else repr(work)


def _outcome(work: Work, before: str) -> str:
    result = work.result
    after = result._state
    if before == CANCELLED:
        return "cancelled"
    if isinstance(work, _ToPool):
        return (
            "raised " + type(result._exception).__name__ if after == FINISHED else "handed to pool"
        )
    if after == FINISHED and result._exception is not None:
        return f"raised {type(result._exception).__name__}"
    if after == RUNNING:
        return "deferred"
    return "returned"  # a periodic run: its Result stays pending between runs
