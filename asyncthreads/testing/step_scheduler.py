"""StepScheduler: a scheduler with no OS threads. Work runs one unit per step.

It implements :class:`asyncthreads.Scheduler` for a :class:`VirtualClock`, so the
production Reactor and ThreadPool run on it unchanged. Each actor (the reactor loop,
each pool worker) is a simulated thread (:mod:`.sim_thread`), and everything runs on the
test's OS thread; the step scheduler models what real threads would do:

* An actor that has nothing in hand is asked for work (``next_work``) as soon as it is
  woken, its deadline passes, or its last unit of work ends. A pool of N workers thus
  holds up to N tasks in flight, as N threads would.
* Each step runs the work of *one* simulated thread holding work, or lets one blocked
  thread that was woken continue. When several are ready, the :mod:`chooser
  <asyncthreads.testing.choosers>` picks which (FIFO by default), and the decision is
  recorded for the replay token. With one worker a pool is strictly FIFO; the reactor
  is always serial and FIFO, whatever the choices.
* A simulated thread that blocks (a Result wait, ``sim.sleep``, any caller of
  :meth:`block`) is suspended on its own stack while the others run. Time moves only
  when no simulated thread is ready (each is blocked, asleep or idle: "durably
  blocked") and the test is waiting or advancing: to each next deadline in turn, so
  work due at an instant runs at that instant, with the clock reading exactly it.
* The test's own thread drives: ``step``, ``run_until_idle``, ``advance_to`` and a wait
  on the test's thread run the simulation until they are done. A wait that nothing can
  ever end raises :class:`asyncthreads.DeadlockError` with a report.
* Schedule points: where a thread blocks (``sim.sleep``, including ``sleep(0)``, a wait
  on a pending Result) the chooser picks who runs next among the ready threads; at
  :meth:`schedule_point` (``checkpoint()``) it decides whether the thread goes on.
* Nothing hangs: at one instant, ``max_steps_per_instant`` steps that do not shrink the
  work queued at that instant raise :class:`NeverIdleError` naming what keeps
  re-scheduling itself, and a wait runs at most ``max_steps`` steps.

The blocking interface (for simulated primitives): :meth:`current_thread`,
:attr:`test_thread`, :meth:`block`, :meth:`wake`, :meth:`schedule_point`; what a thread
waits for is a :class:`~.sim_thread.Blocker`. ``current_thread()`` is a
:class:`~.sim_thread.SimThread`, or on the test's thread the
:class:`~.sim_thread.TestThread`; both have ``name`` and ``ident``. ``block()`` raises
:class:`~.sim_thread.UnsimulatedWaitError` in a done-callback that the scheduler runs
itself, and RuntimeError after :meth:`close`. What a thread holds shows in reports
through the ``holders()`` of what the others wait for.

Suspending: work runs *inline* on a carrier greenlet (see :mod:`.carriers`, which says
why), and only work that blocks keeps its carrier while stepping goes on on another.

Use it from one OS thread: the one the test runs on.
"""

from __future__ import annotations

import math
import sys
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from greenlet import GreenletExit, getcurrent

from ..errors import DeadlockError
from ..periodic import PeriodicTask
from ..result import CANCELLED, UnretrievedException
from ..scheduler import STOP, Actor
from . import reports
from .carriers import Carrier
from .causality import OperationLog
from .choosers import Candidate, Chooser, FifoChooser
from .null_lock import NullLock, ResultCondition
from .reports import step_outcome
from .sim_thread import (
    YIELDED,
    Blocker,
    ResultBlocker,
    SimThread,
    TestThread,
    UnsimulatedWaitError,
)
from .trace import RawEvent, Trace, TraceEvent
from .virtual_clock import VirtualClock

if TYPE_CHECKING:
    from ..clock import Clock
    from ..result import Result

__all__ = ["NeverIdleError", "StepLimitError", "StepScheduler"]


class StepLimitError(RuntimeError):
    """A run of the simulation took more steps than its bound: it would never end."""


class NeverIdleError(StepLimitError):
    """Work kept becoming ready at one instant: the simulation would never go idle."""


class _Request:
    """What the test's thread asked the stepping loop for; whichever carrier is
    stepping reads it (a request outlives the carrier that began it)."""

    __slots__ = ("bounded", "stop_at", "until", "waiter")

    def __init__(
        self,
        stop_at: int,
        until: float | None,
        waiter: TestThread | None = None,
        bounded: bool = False,
    ) -> None:
        self.stop_at = stop_at  # stop once self.steps reaches it
        # None: never move time. A time: move to each deadline up to it, then to it.
        # math.inf: a wait with no timeout (only a wake ends it, or a DeadlockError).
        self.until = until
        self.waiter = waiter  # the test's thread, if it waits: stop once it is woken
        self.bounded = bounded  # reaching stop_at is a StepLimitError


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
        explore_wakeups: bool = False,
        record_operations: bool = False,
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
        self.steps = 0  # steps (and schedule-point decisions) so far
        self._started = 0  # actors started so far (their numbers)
        self.lock = NullLock()  # an attribute: Results read it on every state change
        # Each failed Result's report of an exception nobody retrieved (see
        # asyncthreads.result.UnretrievedException): the pytest plugin fails a test for them.
        self.unretrieved: list[UnretrievedException] = []
        self.test_thread = TestThread()
        self._actors: list[SimThread] = []  # live actors, in start order
        self._to_poll: deque[SimThread] = deque()
        # Deques, not lists: each step appends to both and takes from both, and a list
        # that goes from empty to one item and back reallocates its storage each time.
        self._ready: deque[SimThread] = deque()  # threads holding work or resumable
        self._timed: dict[SimThread, float] = {}  # idle actors: when to ask them again
        self._sleepers: dict[SimThread, float] = {}  # blocked threads with a deadline
        self._current: SimThread | None = None  # the thread whose work is on the stack
        self._steps_at_instant = 0  # steps since the simulation was last idle
        self._backlog_at_check: int | None = None  # see _check_never_idle
        self._names: set[str] = set()
        # Components registered through at_exit: the reports list their queues.
        self._components: list[Callable[[], object]] = []
        # Stepping runs on carrier greenlets (see the module docstring).
        self._carriers: list[Any] = []  # idle carriers
        self._test_greenlet: Any = None  # the test's greenlet, while it drives
        self._request: _Request | None = None
        self._handoffs = 0  # bumped whenever a carrier leaves its stepping loop
        self._last_event: RawEvent | None = None
        self._failure: BaseException | None = None  # for the test's thread
        self._forced = False  # a schedule point chose the next thread (front of _ready)
        self._closed = False
        # With explore_wakeups: the chooser may let a thread that wakes from a timed wait
        # run before the actors due at the same instant are asked for work; those actors
        # wait here until it has run (see _move_choosing).
        self.explore_wakeups = explore_wakeups
        self._held: list[SimThread] = []
        # What each thread did to which primitive, for causal reports (see .causality);
        # None unless asked for: each entry costs a walk up the stack.
        self.operations: OperationLog | None = OperationLog() if record_operations else None

    # -- the Scheduler interface ----------------------------------------------------------

    def condition(self) -> ResultCondition:
        return ResultCondition(self)

    def start(self, actor: Actor, clock: Clock) -> SimThread:
        if clock is not self.clock:
            raise ValueError(
                f"{actor.name} uses {clock!r}, but this StepScheduler drives {self.clock!r}: "
                "pass the simulation's clock and scheduler together"
            )
        record = SimThread(actor, self, self._started)
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
        current = self._current
        return current.actor if current is not None else None

    def wait(self, result: Result[Any], timeout: float | None) -> bool:
        current = self._current
        if current is not None and result._actor is current.actor:
            raise DeadlockError(
                f"{reports.describe_thread(current)} waits for "
                f"{reports.describe_result(self, result)}, which only {current.name} can "
                "complete\n" + reports.report(self)
            )
        deadline = None if timeout is None else self.clock._now + max(0.0, timeout)
        condition = result._condition
        assert isinstance(condition, ResultCondition), "a simulated Result's condition"
        thread = current if current is not None else self.test_thread
        condition.waiting.append(thread)
        try:
            self.block(ResultBlocker(result, self), deadline)
        finally:
            condition.waiting.remove(thread)
        return result.done()

    def at_exit(self, callback: Callable[[], object]) -> Callable[[], None]:
        # A simulation ends with its test, not with the interpreter: nothing runs at exit.
        # The registration tells the reports which pools and reactors exist.
        self._components.append(callback)
        return lambda: self._components.remove(callback)

    # -- the blocking interface -----------------------------------------------------------

    def current_thread(self) -> SimThread | TestThread:
        """The simulated thread running now; :attr:`test_thread` on the test's thread."""
        current = self._current
        return current if current is not None else self.test_thread

    def block(self, waiting_for: Blocker, deadline: float | None) -> bool:
        """Suspend the calling simulated thread until :meth:`wake` (True) or virtual time
        reaches ``deadline`` (False). See the module docstring and SimThread.

        On the test's thread it drives the simulation instead, until woken or the
        deadline; if nothing can ever wake it and no deadline is set, it raises
        :class:`asyncthreads.DeadlockError`. A deadline at or before now returns after
        the other ready threads had their chance (a schedule point).
        """
        thread = self._current
        if thread is None:
            if self._request is not None:
                raise UnsimulatedWaitError(
                    "a done-callback run while the simulation asked an actor for work "
                    f"blocked waiting for {waiting_for.describe()}: such a wait cannot be "
                    "suspended"
                )
            return self._block_test(waiting_for, deadline)
        if self._closed:
            raise RuntimeError("the simulation is closed: nothing can block in it")
        if self.operations is not None:
            target = getattr(waiting_for, "label", None)
            self.operations.add(self, "blocks on", target or waiting_for.describe())
        thread.greenlet = getcurrent()
        thread.blocker = waiting_for
        thread.woken = False
        now = self.clock._now
        if deadline is not None and deadline <= now:
            thread.resumable = True
            self._ready.append(thread)
        else:
            thread.resumable = False
            if deadline is not None:
                self._sleepers[thread] = deadline
        running = thread.running
        event = (
            now,
            thread.name,
            reports.name_of(running) if running is not None else "?",
            "blocked",
        )
        trace = self.trace
        trace._events.append(event)  # trace.record(event), inlined
        trace.total += 1
        self._last_event = event
        self._suspend()
        thread.greenlet = None
        thread.blocker = None
        woken = thread.woken
        thread.woken = False
        return woken

    def wake(self, thread: SimThread | TestThread) -> None:
        """Make ``thread``, blocked in :meth:`block`, continue at the current instant;
        its ``block()`` then returns True. Harmless if it is not blocked. Never switches
        threads by itself."""
        if isinstance(thread, TestThread):
            thread.woken = True
            return
        if thread.greenlet is None or thread.woken:
            return
        thread.woken = True
        if not thread.resumable:
            self._sleepers.pop(thread, None)
            thread.resumable = True
            self._ready.append(thread)

    def schedule_point(self) -> None:
        """Let the chooser run another ready simulated thread first; recorded like any
        decision. FIFO continues the current thread; on the test's thread, nothing."""
        thread = self._current
        if thread is None:
            return
        self._poll()
        ready = self._ready
        if not ready:
            return
        if type(self.chooser) is FifoChooser:
            # FIFO always continues the current thread: a decision, counted, with no
            # candidates to build (every simulated lock operation passes here: the
            # handoff benchmark ran 145,000 handoffs/s without this, 354,000 with it).
            self.steps += 1
            return
        candidates = [Candidate(thread.number, thread.name)]
        candidates.extend(Candidate(r.number, r.name) for r in ready)
        step = self.steps
        self.steps += 1
        try:
            index = self.chooser.choose(step, candidates)
        except BaseException as exc:
            # Never into the task's own error handling: the thread stays suspended and
            # the stepping loop raises it to the test.
            self._failure = exc
            index = -1
        else:
            if not 0 <= index < len(candidates):
                self._failure = ValueError(
                    f"{self.chooser!r} chose {index} of {len(candidates)} ready threads"
                )
                index = -1
        if index == 0:
            return
        if index > 0:
            self.departures.append((step, candidates[index].actor))
            chosen = ready[index - 1]
            del ready[index - 1]
            ready.appendleft(chosen)
            self._forced = True
            thread.resumable = True
            thread.woken = True
            ready.append(thread)
        else:
            thread.resumable = False
        thread.greenlet = getcurrent()
        thread.blocker = YIELDED
        running = thread.running
        what = reports.name_of(running) if running is not None else "?"
        self._record((self.clock._now, thread.name, what, "preempted"))
        self._suspend()
        thread.greenlet = None
        thread.blocker = None
        thread.woken = False

    def _suspend(self) -> None:
        """Leave the current carrier to the blocked thread; go on stepping elsewhere.
        Returns when the stepping loop lets the thread continue."""
        self._current = None
        self._handoffs += 1
        carrier = self._carriers.pop() if self._carriers else self._new_carrier()
        try:
            carrier.switch()
        except GreenletExit:  # the carrier is being ended (close(), or freed): no more
            self._closed = True  # stepping on it once the thread's work unwinds
            raise

    def _new_carrier(self) -> Any:
        return Carrier(self, self._test_greenlet)

    def _record(self, event: RawEvent) -> None:
        self.trace.record(event)
        self._last_event = event

    # -- driving, from the test's thread --------------------------------------------------

    def _run(self, request: _Request) -> RawEvent | None:
        """Step ``request`` on a carrier; return the last event it recorded."""
        if self._request is not None or self._current is not None:
            raise RuntimeError(
                "the simulation is driven from the test's thread (step, run_until_idle, "
                "advance): inside simulated work, block instead (sim.sleep, a Result wait)"
            )
        self._test_greenlet = getcurrent()
        self._request = request
        self._handoffs += 1
        self._last_event = None
        carrier = self._carriers.pop() if self._carriers else self._new_carrier()
        try:
            carrier.switch()
        finally:
            self._request = None
        failure = self._failure
        if failure is not None:
            self._failure = None
            raise failure
        return self._last_event

    def _block_test(self, waiting_for: Blocker, deadline: float | None) -> bool:
        test = self.test_thread
        test.woken = False
        test.blocker = waiting_for
        until = math.inf if deadline is None else deadline
        try:
            self._run(_Request(self.steps + self.max_steps, until, test, bounded=True))
        finally:
            test.blocker = None
        woken = test.woken
        test.woken = False
        return woken

    # -- stepping -------------------------------------------------------------------------

    def step(self) -> TraceEvent | None:
        """Run one step at the current instant; None if nothing was ready."""
        before = self.steps
        event = self._run(_Request(self.steps + 1, None))
        if self.steps == before or event is None:
            return None
        return TraceEvent._make(event)

    def run_until_idle(self) -> int:
        """Run ready work at the current instant until none is left; return the count."""
        before = self.trace.total
        self._run(_Request(_ALL, None))
        return self.trace.total - before

    def next_deadline(self) -> float | None:
        """The earliest time an idle actor asked to be polled at, or a blocked thread
        times out; None if none."""
        self._run(_Request(self.steps, None))
        return self._earliest()

    def advance_to(self, when: float) -> None:
        """Move time to ``when``, firing what falls due on the way at its exact time."""
        if when < self.clock.now():
            raise ValueError(f"time never goes backwards: now {self.clock.now()}, asked {when}")
        self._run(_Request(_ALL, when))

    def _earliest(self) -> float | None:
        timed = self._timed
        sleepers = self._sleepers
        if sleepers:
            if timed:
                return min(min(timed.values()), min(sleepers.values()))
            return min(sleepers.values())
        return min(timed.values()) if timed else None

    def _poll(self) -> None:
        """Ask every woken actor for work (the loop in _drive does this inline)."""
        to_poll = self._to_poll
        now = self.clock._now
        while to_poll:
            record = to_poll.popleft()
            record.poll_pending = False
            self._take_answer(record, record.actor.next_work(now), now)

    def _take_answer(self, record: SimThread, answer: object, now: float) -> None:
        timed = self._timed
        if answer is None:
            timed.pop(record, None)
        elif isinstance(answer, float):
            if answer <= now:
                record.wake()
            else:
                stale = timed.get(record)
                if stale is not None and stale <= now:
                    del timed[record]
                timed[record] = answer
        elif answer is STOP:
            record.stopped = True
            timed.pop(record, None)
            self._actors.remove(record)
        else:
            timed.pop(record, None)
            record.holding = answer  # type: ignore[assignment]
            self._ready.append(record)

    def _drive(self) -> SimThread | None:
        """Step the current request on this carrier. Return None once it is answered
        (its last event in ``_last_event``), or a blocked thread that must continue now
        (on its own carrier: see :mod:`.carriers`). Raises what the test's thread must raise.

        The simulation's hottest code: every unit of work runs here, inline, so the
        polls, the choice, the step and the moves of time are one loop rather than calls.
        Work that blocks takes this carrier with it; when it ends, the request may have
        changed meanwhile, so the loop reads it again (``_handoffs`` tells).
        """
        failure = self._failure
        if failure is not None:  # a schedule point's chooser failed: see schedule_point
            raise failure
        to_poll = self._to_poll
        ready = self._ready
        timed = self._timed
        clock = self.clock
        trace = self.trace
        request = self._request
        assert request is not None, "a carrier steps only for a request"
        stop_at, until, waiter = request.stop_at, request.until, request.waiter
        handoffs = self._handoffs
        while True:
            # Poll. The time is read again each round: moves of time change it.
            now = clock._now
            while to_poll:
                record = to_poll.popleft()  # idle: see SimThread.wake
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
            if waiter is not None and waiter.woken:
                return None
            if not ready:
                self._steps_at_instant = 0
                self._backlog_at_check = None
                if until is None:
                    return None
                deadline = self._earliest()
                if deadline is not None and deadline <= until:
                    self._move_to(deadline)
                    continue
                if until == math.inf:  # only a wait without timeout asks this
                    assert waiter is not None
                    assert waiter.blocker is not None
                    raise DeadlockError(reports.deadlock_report(self, waiter.blocker.describe()))
                if now < until:
                    self._move_to(until)
                    continue
                return None
            if self.steps >= stop_at:
                if request.bounded:
                    raise StepLimitError(
                        f"waited {self.max_steps} steps and it is still not done\n"
                        + reports.report(self)
                    )
                return None
            # Choose.
            record = ready.pop()
            if ready:  # several are ready: the chooser picks one
                ready.append(record)
                if self._forced:  # a schedule point or a wake-up order chose it already
                    self._forced = False
                    record = ready.popleft()
                    if self._held:
                        self._release_held()
                else:
                    record = self._choose(ready)
            elif self._held:  # a woken thread chosen to run first, alone in _ready
                self._release_held()
            self._steps_at_instant += 1
            if self._steps_at_instant > self.max_steps_per_instant:
                self._check_never_idle(record)
            work = record.holding
            self.steps += 1
            if work is None:  # a blocked thread continues: on its own carrier
                record.resumable = False
                return record
            # Step.
            record.holding = None
            before = work.future._state
            periodic = type(work) is PeriodicTask
            # The name now: a deferring Task is re-aimed at its continuation as it runs.
            name: str = work.name if periodic else reports.name_of(work)  # type: ignore[attr-defined]
            self._current = record
            record.running = work
            work.run()
            self._current = None
            record.running = None
            if not record.poll_pending:  # record.wake(), inlined: ask it for work again
                record.poll_pending = True
                to_poll.append(record)
            if self._handoffs != handoffs:  # the work blocked: this carrier was away
                if self._closed:
                    raise GreenletExit
                request = self._request
                assert request is not None, "a blocked thread continues only in a request"
                stop_at, until, waiter = request.stop_at, request.until, request.waiter
                handoffs = self._handoffs
                now = clock._now
            # A periodic run that started "returned" (step_outcome's answer, without the
            # call).
            outcome = "returned" if periodic and before != CANCELLED else step_outcome(work, before)
            event = (now, record.name, name, outcome)  # a RawEvent: see the Trace module
            trace._events.append(event)  # trace.record(event), inlined
            trace.total += 1
            if self.steps >= stop_at and waiter is None:  # as asked (a wait goes on)
                self._last_event = event  # what step() returns
                return None

    def _choose(self, ready: deque[SimThread]) -> SimThread:
        """Take the ready thread the chooser picks (of several), noting a departure."""
        candidates = [Candidate(r.number, r.name) for r in ready]
        index = self.chooser.choose(self.steps, candidates)
        if not 0 <= index < len(ready):
            raise ValueError(f"{self.chooser!r} chose {index} of {len(ready)} ready actors")
        if index:
            self.departures.append((self.steps, ready[index].number))
        chosen = ready[index]
        del ready[index]
        return chosen

    def _check_never_idle(self, record: SimThread) -> None:
        """Called every ``max_steps_per_instant`` steps at one instant: raise
        NeverIdleError unless the work queued at this instant shrank since the last
        call. A long queue drained at one instant shrinks; work that re-schedules itself
        does not (issue 11, item 17: 150,000 calls queued at once are no livelock)."""
        backlog = reports.backlog(self) + 1  # + 1: the record taken out of _ready
        previous = self._backlog_at_check
        if previous is None or backlog < previous:
            self._backlog_at_check = backlog
            self._steps_at_instant = 1
            return
        self._ready.appendleft(record)
        self._steps_at_instant = 0
        self._backlog_at_check = None
        raise NeverIdleError(reports.never_idle_report(self))

    def _move_to(self, when: float) -> None:
        """Set the clock to ``when``; wake every actor whose deadline it reaches, and let
        every blocked thread whose deadline it reaches continue (timed out).

        A woken actor keeps its entry in ``_timed`` until it is polled, which removes it
        (every answer does; a new deadline is then listed last): deleting it here would
        cost more.
        """
        if self.explore_wakeups and self._sleepers:
            self._move_choosing(when)
            return
        self.clock._move_to(when)
        to_poll = self._to_poll
        for record, deadline in self._timed.items():
            # record.wake(), inlined: a timed actor is idle (it answered with a deadline).
            if deadline <= when and not record.poll_pending:
                record.poll_pending = True
                to_poll.append(record)
        sleepers = self._sleepers
        if sleepers:
            for thread in [t for t, deadline in sleepers.items() if deadline <= when]:
                del sleepers[thread]
                thread.resumable = True
                self._ready.append(thread)

    def _move_choosing(self, when: float) -> None:
        """:meth:`_move_to`, when threads wake from timed waits (``sim.sleep``, a wait's
        timeout) at ``when`` and actors are due then too: the chooser decides whether the
        actors are asked for work first (FIFO, as without ``explore_wakeups``) or one of
        the threads runs a step first, as a real thread waking a hair earlier would. A
        reply that such a thread queues on the reactor then runs before the reactor's
        own timers due at that instant, which join its queue behind queued calls."""
        self.clock._move_to(when)
        actors = [r for r, d in self._timed.items() if d <= when and not r.poll_pending]
        waking = [t for t, d in self._sleepers.items() if d <= when]
        ready = self._ready
        for thread in waking:
            del self._sleepers[thread]
            thread.resumable = True
            ready.append(thread)
        for record in actors:  # listed, so that nothing else asks them meanwhile
            record.poll_pending = True
        index = 0
        if actors and waking:
            candidates = [Candidate(actors[0].number, actors[0].name)]
            candidates.extend(Candidate(t.number, t.name) for t in waking)
            step = self.steps
            self.steps += 1
            index = self.chooser.choose(step, candidates)
            if not 0 <= index < len(candidates):
                raise ValueError(f"{self.chooser!r} chose {index} of {len(candidates)} wake-ups")
            if index:
                self.departures.append((step, candidates[index].actor))
                chosen = waking[index - 1]
                ready.remove(chosen)
                ready.appendleft(chosen)
                if len(ready) > 1:
                    self._forced = True
                self._held = actors
                return
        self._to_poll.extend(actors)

    def _release_held(self) -> None:
        """The thread chosen to wake first is taking its step: ask the held actors."""
        held, self._held = self._held, []
        self._to_poll.extend(held)

    # -- the end --------------------------------------------------------------------------

    def close(self) -> None:
        """End every blocked simulated thread: ``GreenletExit`` is raised where it is
        blocked (its ``finally`` blocks run; its task's Result fails with it), and no
        thread can block any more. A simulation whose threads stay blocked is otherwise
        kept alive by their suspended stacks. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for thread in list(self._actors):
            carrier = thread.greenlet
            if carrier is not None and not carrier.dead:
                self._sleepers.pop(thread, None)
                if thread.resumable:
                    self._ready.remove(thread)
                    thread.resumable = False
                self._current = thread
                try:
                    carrier.throw(GreenletExit)
                finally:
                    self._current = None
        self._carriers.clear()
        # The Results those threads were running failed with the GreenletExit that ended
        # them: the simulation's doing, not an error of the test's to report.
        for report in self.unretrieved:
            if isinstance(report.exception, GreenletExit):
                report.retrieved()

    # -- reports --------------------------------------------------------------------------

    def pending(self) -> list[str]:
        """What each simulated thread is doing or waiting for, and what is queued."""
        return reports.pending(self)

    def report(self, last: int = 20) -> str:
        """:meth:`pending` and the last ``last`` trace events, for error messages."""
        return reports.report(self, last)


_ALL = sys.maxsize  # a limit of steps that is no limit
