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

import math
import sys
from collections import Counter, deque
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..errors import DeadlockError
from ..periodic import PeriodicTask
from ..reactor import Reactor, _ToPool
from ..result import CANCELLED, FINISHED, RUNNING
from ..scheduler import STOP, Actor, Work
from ..thread_pool import ThreadPool
from .choosers import Candidate, Chooser, FifoChooser
from .trace import RawEvent, Trace, TraceEvent
from .virtual_clock import VirtualClock

if TYPE_CHECKING:
    from ..clock import Clock
    from ..result import Result

__all__ = ["BlockedTaskError", "NeverIdleError", "StepLimitError", "StepScheduler"]


class StepLimitError(RuntimeError):
    """A run of the simulation took more steps than its bound: it would never end."""


class NeverIdleError(StepLimitError):
    """Work kept becoming ready at one instant: the simulation would never go idle."""


class BlockedTaskError(RuntimeError):
    """A task blocked in a wait needs virtual time to pass a point it may not pass.

    A simulation runs a blocked task's wait on the same stack as everything else, so the
    task cannot be suspended while an outer wait times out, an ``advance`` stops, or a
    ``step`` returns. Raised inside the blocked task (whose Result then fails with it).
    """


class _NullLock:
    """The lock of a single-threaded world: acquiring always succeeds at once.

    ``with lock:`` is the production code's hottest statement, and every periodic firing
    in a simulation passes through several. A ``with`` calls ``__enter__`` and
    ``__exit__``; as Python methods they cost about 50 ns more per block than as C
    functions, so both are one C function, ``"".format``, which ignores its arguments
    (however it is called: by ``with``, or as ``type(lock).__enter__(lock)`` by
    ``contextlib.ExitStack``) and returns ``""``. That is false, so an exception raised in
    the block propagates; ``with lock as x`` binds ``""`` where a real lock binds True.
    """

    __slots__ = ()

    if TYPE_CHECKING:

        def __enter__(self) -> str: ...

        def __exit__(
            self,
            exc_type: type[BaseException] | None,
            exc: BaseException | None,
            tb: TracebackType | None,
        ) -> None: ...

    else:
        # staticmethod: the C function is called without the lock as its first argument.
        __enter__ = __exit__ = staticmethod("".format)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return True

    def release(self) -> None:
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

    __slots__ = (
        "actor",
        "holding",
        "name",
        "number",
        "poll_pending",
        "running",
        "scheduler",
        "stopped",
    )

    holding: Work | None
    running: Work | None

    def __init__(self, actor: Actor, scheduler: StepScheduler, number: int) -> None:
        self.actor = actor
        self.name = actor.name
        self.number = number  # in start order: how replay tokens name the actor
        self.scheduler = scheduler
        self.holding = None  # the work it has taken and not yet run
        self.poll_pending = False
        self.running = None  # the work it is running (perhaps blocked in a nested wait)
        self.stopped = False

    def wake(self) -> None:
        # An actor holding or running work is asked again when that work ends (see
        # StepScheduler._run_steps), so only an idle one is listed to be asked.
        if not (
            self.poll_pending
            or self.stopped
            or self.holding is not None
            or self.running is not None
        ):
            self.poll_pending = True
            self.scheduler._to_poll.append(self)

    def join(self) -> None:
        if not self.stopped:
            raise RuntimeError(f"{self.name} has not stopped; only a stopped actor is joined")

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
        # Every decision that departed from FIFO, as (step, actor number): the replay token.
        self.departures: list[tuple[int, int]] = []
        self.steps = 0  # steps run so far
        self._started = 0  # actors started so far (their numbers)
        self.lock = _NullLock()  # an attribute: Results read it on every state change
        self._actors: list[_SimActor] = []  # live actors, in start order
        self._to_poll: deque[_SimActor] = deque()
        # Deques, not lists: each step appends to both and takes from both, and a list
        # that goes from empty to one item and back reallocates its storage each time.
        self._ready: deque[_SimActor] = deque()  # actors holding work, in ready order
        self._timed: dict[_SimActor, float] = {}
        self._running: deque[_SimActor] = deque()  # actors running work, innermost last
        # Virtual times that running drives may not pass: an outer wait's deadline, the
        # target of an advance, the instant of a step. Innermost last, never increasing.
        self._limits: list[float] = []
        self._steps_at_instant = 0  # steps since the simulation was last idle
        self._names: set[str] = set()
        # Components registered through at_exit: the reports list their queues.
        self._components: list[Callable[[], object]] = []

    # -- the Scheduler interface ----------------------------------------------------------

    def condition(self) -> _NoBlockingCondition:
        return _NoBlockingCondition()

    def start(self, actor: Actor, clock: Clock) -> _SimActor:
        if clock is not self.clock:
            raise ValueError(
                f"{actor.name} uses {clock!r}, but this StepScheduler drives {self.clock!r}: "
                "pass the simulation's clock and scheduler together"
            )
        record = _SimActor(actor, self, self._started)
        self._started += 1
        # Actor names label traces and replay decisions, so make them unique here,
        # deterministically (two pools left unnamed would otherwise share worker names).
        name, n = record.name, 1
        while name in self._names:
            n += 1
            name = f"{record.name}#{n}"
        record.name = name
        self._names.add(name)
        self._actors.append(record)
        record.wake()
        return record

    def current_actor(self) -> Actor | None:
        return self._running[-1].actor if self._running else None

    def wait(self, result: Result[Any], timeout: float | None) -> bool:
        blocked = [r for r in self._running if r.actor is result._actor]
        if blocked:
            raise DeadlockError(
                f"{self._describe_blocked(blocked[0])} waits for {self._describe(result)}, "
                f"which only {blocked[0].name} can complete\n" + self.report()
            )
        deadline = None if timeout is None else self.clock.now() + max(0.0, timeout)
        return self._drive(result.done, deadline, result)

    def at_exit(self, callback: Callable[[], object]) -> Callable[[], None]:
        # A simulation ends with its test, not with the interpreter: nothing runs at exit.
        # The registration tells the reports which pools and reactors exist.
        self._components.append(callback)
        return lambda: self._components.remove(callback)

    # -- stepping -------------------------------------------------------------------------

    def step(self) -> TraceEvent | None:
        """Run one unit of ready work at the current instant; None if nothing was ready.

        A task that blocks on a timer meanwhile fails with :class:`BlockedTaskError`:
        a step does not move time.
        """
        self._limits.append(self.clock._now)
        try:
            event = self._run_steps(1)
        finally:
            self._limits.pop()
        return None if event is None else TraceEvent._make(event)

    def _step(self) -> RawEvent | None:
        return self._run_steps(1)

    def _run_steps(self, limit: int, until: float | None = None) -> RawEvent | None:
        """Run ready work, one unit per step, until none is ready or ``limit`` steps ran;
        before each step, ask every actor that may have new work what it will do. Return
        the last step's event, or None if none ran (with ``limit`` 0: only ask).

        With ``until``, when no work is ready, move time to the earliest deadline an
        actor asked for, if it is at or before ``until``, and go on (advance_to).

        The simulation's hottest code: every unit of work runs here, so the polls, the
        choice, the step and the moves of time are one loop rather than calls.
        """
        to_poll = self._to_poll
        ready = self._ready
        timed = self._timed
        running = self._running
        clock = self.clock
        trace = self.trace
        event = None
        ran = 0
        while True:
            # Poll. The time is read again each round: a step blocked in a wait moves it.
            now = clock._now
            while to_poll:
                record = to_poll.popleft()  # idle: see _SimActor.wake
                record.poll_pending = False
                answer = record.actor.next_work(now)
                if answer is None:
                    timed.pop(record, None)
                elif type(answer) is float or isinstance(answer, float):
                    if answer <= now:
                        record.wake()
                    else:
                        # An entry whose time has come (the move that woke this actor
                        # left it: see _move_to) goes first, so the new deadline is
                        # listed last, after those asked for earlier, as a new entry is.
                        stale = timed.get(record)
                        if stale is not None and stale <= now:
                            del timed[record]
                        timed[record] = answer
                elif answer is STOP:
                    record.stopped = True
                    timed.pop(record, None)
                    self._actors.remove(record)
                else:
                    if timed:
                        timed.pop(record, None)
                    record.holding = answer
                    ready.append(record)
            if not ready:
                self._steps_at_instant = 0
                if until is None or not timed:
                    return event
                deadline = min(timed.values())
                if deadline > until:
                    return event
                self._move_to(deadline)
                continue
            if ran == limit:
                return event
            # Choose.
            record = ready.pop()
            if ready:  # several are ready: the chooser picks one
                ready.append(record)
                record = self._choose(ready)
            self._steps_at_instant += 1
            if self._steps_at_instant > self.max_steps_per_instant:
                ready.appendleft(record)
                self._steps_at_instant = 0
                raise NeverIdleError(self._never_idle_report())
            # Step.
            work = record.holding
            assert work is not None, "a ready actor holds work"
            record.holding = None
            before = work.future._state
            periodic = type(work) is PeriodicTask
            # The name now: a deferring Task is re-aimed at its continuation as it runs.
            name: str = work.name if periodic else _name_of(work)  # type: ignore[attr-defined]
            # Counted before it runs, so steps that run while this one is blocked in a wait
            # get numbers of their own (replay tokens name decisions by step number).
            self.steps += 1
            record.running = work
            running.append(record)
            try:
                work.run()
            finally:
                running.pop()
                record.running = None
                if not record.poll_pending:  # record.wake(), inlined: ask it for work again
                    record.poll_pending = True
                    to_poll.append(record)
            # A periodic run that started "returned" (_outcome's answer, without the call).
            outcome = "returned" if periodic and before != CANCELLED else _outcome(work, before)
            event = (now, record.name, name, outcome)  # a RawEvent: see the Trace module
            trace._events.append(event)  # trace.record(event), inlined
            trace.total += 1
            ran += 1
            if ran == limit:
                return event

    def _choose(self, ready: deque[_SimActor]) -> _SimActor:
        """Take the ready actor the chooser picks (of several), noting a departure."""
        candidates = [Candidate(r.number, r.name) for r in ready]
        index = self.chooser.choose(self.steps, candidates)
        if not 0 <= index < len(ready):
            raise ValueError(f"{self.chooser!r} chose {index} of {len(ready)} ready actors")
        if index:
            self.departures.append((self.steps, ready[index].number))
        chosen = ready[index]
        del ready[index]
        return chosen

    def run_until_idle(self) -> int:
        """Run ready work at the current instant until none is left; return the count."""
        self._limits.append(self.clock._now)
        try:
            return self._run_until_idle()
        finally:
            self._limits.pop()

    def _run_until_idle(self) -> int:
        count = 0
        while self._step() is not None:
            count += 1
        return count

    def next_deadline(self) -> float | None:
        """The earliest time an idle actor asked to be polled at, or None."""
        self._run_steps(0)
        return min(self._timed.values()) if self._timed else None

    def _move_to(self, when: float) -> None:
        """Set the clock to ``when`` and wake every actor whose deadline it reaches.

        A woken actor keeps its entry in ``_timed`` until it is polled, which removes it
        (every answer does; a new deadline is then listed last): deleting it here would
        cost more.
        """
        self.clock._move_to(when)
        to_poll = self._to_poll
        for record, deadline in self._timed.items():
            # record.wake(), inlined: a timed actor is idle (it answered with a deadline).
            if deadline <= when and not record.poll_pending:
                record.poll_pending = True
                to_poll.append(record)

    def advance_to(self, when: float) -> None:
        """Move time to ``when``, firing what falls due on the way at its exact time."""
        if when < self.clock.now():
            raise ValueError(f"time never goes backwards: now {self.clock.now()}, asked {when}")
        self._limits.append(min(when, self._limit()))
        try:
            self._run_steps(_ALL, until=when)  # each deadline on the way, in turn
            self._move_to(when)
            self._run_until_idle()
        finally:
            self._limits.pop()

    def _limit(self) -> float:
        return self._limits[-1] if self._limits else math.inf

    def _drive(self, done: Callable[[], bool], deadline: float | None, waited: object) -> bool:
        """Run the simulation until ``done()``; False if virtual time reaches ``deadline``.

        Raises DeadlockError when nothing could ever make it done, BlockedTaskError when
        it would need time to pass an enclosing limit, StepLimitError past max_steps.
        """
        outer = self._limit()
        own = math.inf if deadline is None else deadline
        self._limits.append(min(own, outer))
        try:
            steps = 0
            while not done():
                if self._step() is not None:
                    steps += 1
                    if steps > self.max_steps:
                        raise StepLimitError(
                            f"waited {self.max_steps} steps for {self._describe(waited)} and "
                            "it is still not done\n" + self.report()
                        )
                    continue
                next_time = self.next_deadline()  # asking the actors may have made it done
                if done():
                    break
                timing_out = deadline is not None and own <= outer
                if timing_out and (next_time is None or next_time > own):
                    self._move_to(max(own, self.clock._now))  # the wait times out
                    self._run_until_idle()
                    return done()
                if next_time is None:
                    if deadline is None:
                        raise DeadlockError(self._deadlock_report(waited))
                    # Only its own timeout can end this wait, and that is past the limit.
                    raise BlockedTaskError(self._blocked_report(waited, own, outer))
                if next_time > outer:
                    raise BlockedTaskError(self._blocked_report(waited, next_time, outer))
                self._move_to(next_time)
            return True
        finally:
            self._limits.pop()

    # -- reports --------------------------------------------------------------------------

    def _never_idle_report(self) -> str:
        now = self.clock._now
        recent = self.trace.last(1000)
        counts = Counter(f"{e.actor}: {e.what}" for e in recent if e.time == now)
        top = ", ".join(f"{name} ({n}x)" for name, n in counts.most_common(3))
        return (
            f"more than {self.max_steps_per_instant} steps at t={now} without going "
            f"idle; what keeps re-scheduling itself: {top}\n" + self.report()
        )

    def _describe_blocked(self, record: _SimActor) -> str:
        running = record.running
        return f"{_name_of(running) if running is not None else '?'} on {record.name}"

    def _describe(self, waited: object) -> str:
        """Name a waited-for Result by the work it belongs to, where that can be found."""
        for _, _, work in self._queued_work():
            if work.future is waited:
                return f"the Result of {_name_of(work)}"
        for record in self._running:
            if record.running is not None and record.running.future is waited:
                return f"the Result of {_name_of(record.running)}"
        return repr(waited)

    def _waiter(self) -> str:
        return self._describe_blocked(self._running[-1]) if self._running else "the caller"

    def _deadlock_report(self, waited: object) -> str:
        return (
            f"{self._waiter()} is blocked waiting for {self._describe(waited)}, but nothing "
            "can ever complete it: no work is ready and no timer is set\n" + self.report()
        )

    def _blocked_report(self, waited: object, needed: float, limit: float) -> str:
        return (
            f"{self._waiter()} is blocked waiting for {self._describe(waited)}, which needs "
            f"virtual time t={needed}, past t={limit}, where an enclosing wait times out, an "
            "advance ends or a step returns; a blocked task cannot be suspended in a "
            "simulation (wait for the outer Result without a timeout, advance further, or "
            "let the task schedule a call instead of blocking)\n" + self.report()
        )

    def _queued_work(self) -> list[tuple[object, str, Work]]:
        """(component, what, work) for the work waiting in every queue and timer heap."""
        found: list[tuple[object, str, Work]] = []
        for component in self._owners():
            if isinstance(component, Reactor):
                for deadline, work in component.pending_timers():
                    found.append((component, f"timer t={deadline}", work))
                found.extend(
                    (component, "queued call", work)
                    for work in component._ready
                    if work.future._state != CANCELLED
                )
            elif isinstance(component, ThreadPool):
                found.extend(
                    (component, "queued task", work)
                    for work in component._queue
                    if work.future._state != CANCELLED
                )
        return found

    def _owners(self) -> list[object]:
        return [getattr(callback, "__self__", None) for callback in self._components]

    def pending(self) -> list[str]:
        """What each actor is doing or waiting for, and what is queued, as lines of text."""
        lines = [f"virtual time: {self.clock.now()}"]
        for record in self._actors:
            if record.running is not None:
                state = f"running {_name_of(record.running)}, blocked in a wait"
            elif record.holding is not None:
                state = f"ready to run {_name_of(record.holding)}"
            elif record.poll_pending:
                state = "woken, not yet asked for work"
            elif record in self._timed:
                state = f"idle until t={self._timed[record]}"
            else:
                state = "idle (waiting to be woken)"
            lines.append(f"  {record.name}: {state}")
        queued = self._queued_work()
        for component in self._owners():
            if isinstance(component, ThreadPool):
                lines.append(
                    f"  pool {component.name}: {component.thread_count} worker(s), "
                    f"{component.queued_count} queued task(s)"
                )
            elif isinstance(component, Reactor):
                lines.append(
                    f"  reactor {component.name}: {component.timer_count} timer(s), "
                    f"{component.queued_count} queued call(s)"
                )
            else:
                continue
            entries = [(what, work) for owner, what, work in queued if owner is component]
            lines.extend(f"    {what}: {_name_of(work)}" for what, work in entries[:20])
            if len(entries) > 20:
                lines.append(f"    ... and {len(entries) - 20} more")
        return lines

    def report(self, last: int = 20) -> str:
        """:meth:`pending` and the last ``last`` trace events, for error messages."""
        events = self.trace.last(last)
        trace = "\n".join(f"  {e}" for e in events) or "  (nothing has run)"
        return "\n".join(self.pending()) + f"\nlast {len(events)} steps:\n" + trace


_ALL = sys.maxsize  # a limit of steps that is no limit


def _name_of(work: Work) -> str:
    name = getattr(work, "name", None)
    return name if isinstance(name, str) else repr(work)


def _outcome(work: Work, before: str) -> str:
    result = work.future
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
