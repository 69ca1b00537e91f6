"""ReactorMachine: a ready-made hypothesis state machine for a Reactor and its ThreadPool.

:class:`ReactorMachine` drives the production :class:`~asyncthreads.Reactor` and its
:class:`~asyncthreads.ThreadPool` on a :class:`~asyncthreads.testing.Simulation` whose
chooser hypothesis draws, so that hypothesis explores interleavings as well as programs,
and shrinks both. Its rules queue every kind of call (``call``, ``call_later``,
``call_at``, ``call_in_thread``, ``call_in_thread_later``, ``call_every`` on either side,
and calls that hand the rest of their work over with ``defer_to_thread`` and ``defer``),
cancel them with ``Result.cancel()`` and ``Reactor.cancel_scheduled``, resize the pool,
move the simulation (``step``, ``run_until_idle``, ``advance``, ``advance_to_next_timer``)
and shut the reactor down. Every task records into a model when (virtual time and step),
where (which actor) and in what order it ran; a done-callback records how and when each
Result ended; the simulation's trace tells when a fired timer was handed to the pool.
From that record the model checks the contract, as each thing happens and after every
rule:

* **The reactor is FIFO and serial.** Its calls run on the reactor actor, one at a time,
  queued calls in the order queued; timers in (deadline, scheduling order), and a timer
  behind a call queued before it fell due. (Where the contract leaves the order open, for
  a call queued after a timer fell due but perhaps before the loop noticed, nothing is
  required.)
* **Timers never fire early, nor late.** A timer runs (or, for the pool, is handed over)
  at or after its deadline; with :attr:`~ReactorMachine.exact_timing` exactly then, or
  when it was scheduled if its deadline had passed, since the simulation fires every
  timer at its deadline. Once the simulation is idle at time t (after ``run_until_idle``
  or an advance), every timer due by t has fired, no queued call is left, and, while the
  pool has workers, no pool task is left waiting.
* **Cancellation is exact.** ``cancel_scheduled`` answers True exactly when the call had
  not started and had not ended (for a periodic task: had not ended), and ``cancel()``
  also when it was already cancelled; after True no part of it ever runs, and the
  Result is cancelled at once. The model predicts each answer.
* **At most once.** Every part of every call runs at most once; a step that dispatches
  the machine's work without running it (a task handed out twice) is caught in the trace.
* **The pool keeps its bounds.** Its tasks run on its workers; no task starts while more
  tasks queued before it are waiting than there are other workers (so a one-worker pool is
  FIFO), the tasks taken but not finished never outnumber the workers, and
  ``thread_count`` is the size last asked for.
* **Every Result ends once, as it should.** With the value the call returned, the
  exception it raised, cancelled (by a cancel that answered True, or by the shutdown),
  or failed with ``RuntimeError`` because the shutdown left its continuation nowhere to
  run. Before the shutdown the model predicts which Results have ended and which are
  running; once the reactor has shut down and the simulation is idle, every Result has
  ended: nothing lost, nothing run twice. A call that ends by running ends on the actor
  that ran it (its done-callbacks run there), and after the shutdown every way of
  queueing work raises ``RuntimeError``.
* **Periodic tasks stay on their grid.** Run *n* is due at ``start + n * interval``; the
  next run is the first grid point not in the past when a run returns, scheduled only
  then, so runs never overlap and missed ticks are skipped, not bunched.

Use it as it is::

    from asyncthreads.testing import ReactorMachine

    TestReactorMachine = ReactorMachine.TestCase

or extend it with rules and invariants of your own for objects built on the same
simulation and reactor: see :class:`ReactorMachine`.

Needs hypothesis (a test dependency): ``asyncthreads.testing`` imports this module only
when ``ReactorMachine`` is first asked for.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, NamedTuple, NoReturn

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from ..deferral import defer, defer_to_thread
from ..reactor import Reactor
from ..result import Result
from ..thread_pool import ThreadPool
from .choosers import Chooser
from .simulation import Simulation
from .strategies import schedules

__all__ = [
    "Job",
    "ModelViolation",
    "Moment",
    "Part",
    "ReactorMachine",
    "Run",
    "TaskError",
    "must_precede",
]

Side = Literal["reactor", "pool"]

# What the simulation's trace calls a fired timer's hand-over to the pool.
_HANDED = "to pool: "

# Delays, offsets and intervals: a few round values, so that deadlines often coincide
# (ties must fire in scheduling order), and any float in range.
_DELAYS = st.sampled_from([0.0, 0.5, 1.0, 2.5]) | st.floats(0, 4)
_OFFSETS = st.sampled_from([-1.0, 0.0, 1.0, 2.0]) | st.floats(-2, 4)
_INTERVALS = st.sampled_from([0.5, 1.0, 1.5]) | st.floats(0.25, 2)
_STEPS = st.sampled_from([0.0, 0.5, 1.0, 2.0]) | st.floats(0, 3)
_POOL_SIZES = st.integers(0, 4)


class ModelViolation(AssertionError):
    """The Reactor or its ThreadPool broke their contract, as the model saw it."""


class TaskError(Exception):
    """What a task of the machine raises when it was told to fail."""


class Moment(NamedTuple):
    """When something happened, comparable with every other moment of the same run.

    ``step`` is the number of simulation steps run before it (``sim.trace.total``);
    ``phase`` is 0 for the test's own actions, between steps, and 1 for what happens
    inside step ``step``; ``serial`` orders the model's events within.
    """

    step: int
    phase: int
    serial: int


class Run(NamedTuple):
    """One thing an actor did: run a part, or hand a fired timer to the pool."""

    moment: Moment
    time: float
    actor: str


@dataclass(eq=False)
class Part:
    """One function of a call, run once on one side: a plain call has one part, a call
    that defers has two (the second is its continuation), a periodic task one per tick.

    A part waits in the reactor's queue (``side == "reactor"``, or a pool timer until
    the reactor hands it over) or in the pool's queue. Timers have a ``deadline`` and
    were ``scheduled`` at a moment; other parts ``entered`` their queue at a moment.
    """

    job: Job
    index: int  # the part's number, or the tick's for a periodic task
    side: Side
    deadline: float | None = None
    scheduled: Moment | None = None
    scheduled_time: float = 0.0
    entered: Moment | None = None  # joined the queue of its side (pool timers: handed over)
    entered_time: float = 0.0
    handed_over: Run | None = None  # pool timers: the reactor gave it to the pool
    ran: Run | None = None

    @property
    def is_timer(self) -> bool:
        return self.deadline is not None

    @property
    def due_time(self) -> float:
        """When the reactor should run it (or hand it over): at its deadline, or at once
        if that had passed when it was scheduled, or when it was queued."""
        if self.deadline is None:
            return self.entered_time
        return max(self.deadline, self.scheduled_time)

    def __repr__(self) -> str:
        label = f"tick {self.index}" if self.job.periodic else f"part {self.index}"
        return f"<{self.job.name} {label} on the {self.side}>"


@dataclass(eq=False)
class Job:
    """One call the machine made, its Result, its parts and what became of them."""

    id: int
    kind: str  # the Reactor method, or "call + defer_to_thread" / "call_in_thread + defer"
    submitted: Moment
    raises: bool = False
    interval: float = 0.0  # periodic tasks
    start: float = 0.0  # periodic tasks: the time call_every was called
    in_thread: bool = False  # periodic tasks
    parts: list[Part] = field(default_factory=list)  # periodic tasks: the open tick, if any
    functions: list[Callable[[], Any]] = field(default_factory=list)
    result: Result[Any] = field(init=False)
    error: TaskError = field(init=False)
    ticks: int = 0  # periodic tasks: runs so far
    cancelled: Moment | None = None  # a cancel answered True then
    ended: Moment | None = None  # its Result ended then (its done-callback ran)
    end_count: int = 0

    def __post_init__(self) -> None:
        self.error = TaskError(f"{self.name} was told to fail")

    @property
    def name(self) -> str:
        return f"job{self.id}"

    @property
    def periodic(self) -> bool:
        return self.kind == "call_every"

    @property
    def started(self) -> bool:
        """Some part of it ran (for a periodic task: some tick)."""
        return self.ticks > 0 if self.periodic else self.parts[0].ran is not None

    @property
    def completed(self) -> bool:
        """Its last part ran, so its Result ends (never, for a periodic task)."""
        return not self.periodic and self.parts[-1].ran is not None

    def __repr__(self) -> str:
        return f"{self.name} ({self.kind})"


class ReactorMachine(RuleBasedStateMachine):
    """A Reactor and its ThreadPool on a Simulation, explored by hypothesis; see the
    module docstring for what it checks.

    **Extending it.** Subclass it: hypothesis collects the rules and invariants of the
    whole class hierarchy. Build your own objects in :meth:`setup` (it runs once
    :attr:`sim`, :attr:`reactor` and :attr:`pool` exist; an ``@initialize`` rule of your
    own is not ordered after the machine's), drive them from your rules, check them in
    your invariants, and raise through :meth:`fail` so the message says where the
    simulation was::

        from hypothesis.stateful import invariant, precondition, rule

        from asyncthreads.testing import ReactorMachine

        class DebouncerMachine(ReactorMachine):
            def setup(self) -> None:  # self.sim, self.reactor and self.pool exist now
                self.flushes: list[float] = []
                self.debouncer = Debouncer(  # your code, on the machine's reactor
                    self.reactor, delay=1.0, flush=lambda: self.flushes.append(self.sim.now)
                )

            @precondition(lambda self: self.accepting_work)
            @rule()
            def trigger(self) -> None:
                self.debouncer.trigger()

            @invariant()
            def flushes_at_least_a_delay_apart(self) -> None:
                gaps = [b - a for a, b in zip(self.flushes, self.flushes[1:])]
                if any(gap < 1.0 for gap in gaps):
                    self.fail(f"flushes too close together: {self.flushes}")

        TestDebouncer = DebouncerMachine.TestCase

    (``property_tests/test_reactor_machine.py`` has a complete example of this kind.)

    What to keep in mind:

    * Queue work of your own on :attr:`reactor` and :attr:`pool` freely: the model
      checks only the machine's own calls, and its bounds stay sound with other work
      around. Resize the pool only through :meth:`resize_pool`, which the model follows.
    * Guard rules that queue work with ``@precondition(lambda self:
      self.accepting_work)``: after the ``shutdown`` rule the reactor refuses work.
    * The checks that need the simulation idle run after the machine's own verbs
      (:meth:`run_until_idle`, :meth:`advance`, :meth:`advance_to_next_timer`, a
      waiting :meth:`shutdown`); call those rather than ``self.sim``'s to get them.
      :attr:`settled` tells your invariants whether the simulation is idle.
    * Hypothesis finds invariants by their decorator: if you override
      :meth:`check_model`, decorate the override with ``@invariant()`` too.
    * If your tasks block (wait on a Result) on the reactor, the machine's timers may
      fire late while they do: set :attr:`exact_timing` to False.
    * Override :meth:`choosers` for another chooser (say, a seeded ``RandomChooser``),
      :meth:`make_simulation` / :meth:`make_reactor` to build them differently, and
      call ``super()`` when you override :meth:`teardown`.
    * Helpers are public and typed: :meth:`moment`, :meth:`sync_trace`, :attr:`jobs`,
      :attr:`shutdown_started`, :attr:`settled`; the check methods (``check_*``) can be
      called from your own invariants; new rules may call the machine's rules as plain
      methods, and take one of its calls with ``job=ReactorMachine.jobs_bundle``.

    Settings: ``ReactorMachine.TestCase`` runs under the active hypothesis profile; set
    ``TestCase.settings`` or pass ``settings=`` to
    :func:`hypothesis.stateful.run_state_machine_as_test` to choose.
    """

    #: Whether every timer must fire exactly at its deadline (or when scheduled, if that
    #: had passed) and every call run at the time it was queued. True for the machine's
    #: own tasks, which never block; set False in a subclass whose tasks block.
    exact_timing: ClassVar[bool] = True

    jobs_bundle: ClassVar[Bundle[Job]] = Bundle("jobs")

    sim: Simulation
    reactor: Reactor
    pool: ThreadPool

    def __init__(self) -> None:
        super().__init__()
        self.initialized = False
        #: Every call the machine made, in order.
        self.jobs: list[Job] = []
        #: When the shutdown rule ran, if it has.
        self.shutdown_started: Moment | None = None
        # (steps run, changes made) when a verb of the machine left the simulation idle.
        self._idle_mark: tuple[int, int] | None = None
        self._changes = 0  # work queued, pool resizes and shutdowns by the machine
        #: The pool's size, as last asked for.
        self.pool_size = 0
        #: At most this many workers can exist (retiring ones included): the size, or
        #: more while workers told to retire may still hold a task.
        self.worker_bound = 0
        # Parts waiting in the reactor's queue (or its timer heap) and in the pool's, in
        # the order they got there: neither run nor ended. Dicts as ordered sets.
        self.reactor_waiting: dict[Part, None] = {}
        self.pool_waiting: dict[Part, None] = {}
        self._serial = itertools.count()
        self._ids = itertools.count()
        self._names: dict[str, Job] = {}  # function names, as the trace shows them
        self._trace_seen = 0  # trace events already read
        self._runs_at: dict[int, Job] = {}  # step -> the job whose part ran in it
        self._cancelling: Job | None = None
        self._shutdown_queued = False  # a call that shuts the reactor down is queued
        #: The first contract violation seen, raised by the next :meth:`check_model`.
        self.violation: ModelViolation | None = None

    # -- setting up -----------------------------------------------------------------------

    def choosers(self) -> st.SearchStrategy[Chooser]:
        """Where the simulation's chooser comes from: drawn by hypothesis by default, so
        interleavings are explored and shrink towards FIFO."""
        return schedules()

    def make_simulation(self, chooser: Chooser) -> Simulation:
        """The simulation to run on (every trace event kept: the model reads them all)."""
        return Simulation(chooser=chooser, trace_limit=None)

    def make_reactor(self, threads: int) -> Reactor:
        """A started Reactor on :attr:`sim` with its own pool of ``threads`` workers."""
        return self.sim.reactor(threads, name="reactor")

    def setup(self) -> None:
        """Called once :attr:`sim`, :attr:`reactor` and :attr:`pool` exist: build your own
        objects on them here."""

    @initialize(data=st.data(), threads=_POOL_SIZES)
    def start(self, data: st.DataObject, threads: int) -> None:
        """Build the simulation (its chooser drawn by hypothesis) and a started reactor."""
        self.sim = self.make_simulation(data.draw(self.choosers(), label="chooser"))
        self.reactor = self.make_reactor(threads)
        self.pool = self.reactor.thread_pool
        self.pool_size = self.worker_bound = threads
        self.initialized = True
        self.setup()

    @property
    def accepting_work(self) -> bool:
        """Whether rules may queue work: set up, and not shut down."""
        return self.initialized and self.shutdown_started is None

    # -- the model's clock ----------------------------------------------------------------

    def moment(self) -> Moment:
        """Now, as a :class:`Moment`, after reading the trace up to now (so the model
        sees what happened in the order it happened)."""
        self.sync_trace()
        in_step = self.sim.scheduler.current_actor() is not None
        return Moment(self.sim.trace.total, 1 if in_step else 0, next(self._serial))

    def fail(self, message: str) -> NoReturn:
        """Raise :class:`ModelViolation`, saying where the simulation was.

        Inside a task the exception only fails the task's Result (a task never kills its
        thread), and inside a done-callback it is only logged: so the first violation is
        also kept, and :meth:`check_model` raises it after the rule. Once one is kept,
        every later ``fail`` raises that first one, the cause of the rest.
        """
        if self.violation is None:
            self.violation = ModelViolation(
                f"{message}\n(virtual time {self.sim.now}, after {self.sim.trace.total} "
                f"steps; replay token {self.sim.replay_token!r})"
            )
        raise self.violation

    # -- queueing work --------------------------------------------------------------------

    def _new_job(self, kind: str, sides: Iterable[Side], *, raises: bool = False) -> Job:
        job = Job(next(self._ids), kind, self.moment(), raises=raises)
        sides = list(sides)
        labels = (
            ["tick"] if kind == "call_every" else ["run"] if len(sides) == 1 else ["first", "rest"]
        )
        for index, side in enumerate(sides):
            job.parts.append(Part(job, index, side))
            job.functions.append(self._task_function(job, index, labels[index]))
        self.jobs.append(job)
        self._changes += 1
        return job

    def _task_function(self, job: Job, index: int, label: str) -> Callable[[], Any]:
        def task() -> Any:
            return self._on_run(job, index)

        task.__name__ = task.__qualname__ = f"{job.name}.{label}"
        self._names[task.__qualname__] = job
        return task

    def _submitted(self, job: Job, result: Result[Any]) -> Job:
        job.result = result
        result.add_done_callback(lambda _: self._on_end(job))
        return job

    def _queue_call(self, part: Part, moment: Moment) -> None:
        part.entered, part.entered_time = moment, self.sim.now
        self.reactor_waiting[part] = None

    def _queue_timer(self, part: Part, deadline: float, moment: Moment) -> None:
        part.deadline, part.scheduled, part.scheduled_time = deadline, moment, self.sim.now
        self.reactor_waiting[part] = None

    def _accept_in_pool(self, part: Part, moment: Moment) -> None:
        part.entered, part.entered_time = moment, self.sim.now
        self.pool_waiting[part] = None

    @precondition(lambda self: self.accepting_work)
    @rule(target=jobs_bundle, raises=st.booleans())
    def call(self, raises: bool) -> Job:
        """``reactor.call``: a task that returns its job's id, or raises."""
        job = self._new_job("call", ["reactor"], raises=raises)
        self._queue_call(job.parts[0], job.submitted)
        return self._submitted(job, self.reactor.call(job.functions[0]))

    @precondition(lambda self: self.accepting_work)
    @rule(target=jobs_bundle, delay=_DELAYS)
    def call_later(self, delay: float) -> Job:
        """``reactor.call_later(delay, ...)``."""
        job = self._new_job("call_later", ["reactor"])
        self._queue_timer(job.parts[0], self.sim.now + delay, job.submitted)
        return self._submitted(job, self.reactor.call_later(delay, job.functions[0]))

    @precondition(lambda self: self.accepting_work)
    @rule(target=jobs_bundle, offset=_OFFSETS)
    def call_at(self, offset: float) -> Job:
        """``reactor.call_at(now + offset, ...)``: in the past, too."""
        job = self._new_job("call_at", ["reactor"])
        when = self.sim.now + offset
        self._queue_timer(job.parts[0], when, job.submitted)
        return self._submitted(job, self.reactor.call_at(when, job.functions[0]))

    @precondition(lambda self: self.accepting_work)
    @rule(target=jobs_bundle, raises=st.booleans())
    def call_in_thread(self, raises: bool) -> Job:
        """``reactor.call_in_thread``."""
        job = self._new_job("call_in_thread", ["pool"], raises=raises)
        self._accept_in_pool(job.parts[0], job.submitted)
        return self._submitted(job, self.reactor.call_in_thread(job.functions[0]))

    @precondition(lambda self: self.accepting_work)
    @rule(target=jobs_bundle, delay=_DELAYS)
    def call_in_thread_later(self, delay: float) -> Job:
        """``reactor.call_in_thread_later(delay, ...)``: a reactor timer that hands the
        task to the pool when it fires."""
        job = self._new_job("call_in_thread_later", ["pool"])
        self._queue_timer(job.parts[0], self.sim.now + delay, job.submitted)
        return self._submitted(job, self.reactor.call_in_thread_later(delay, job.functions[0]))

    @precondition(lambda self: self.accepting_work)
    @rule(target=jobs_bundle, interval=_INTERVALS, in_thread=st.booleans())
    def call_every(self, interval: float, in_thread: bool) -> Job:
        """``reactor.call_every(interval, ..., in_thread=...)``."""
        job = self._new_job("call_every", ["pool" if in_thread else "reactor"])
        job.interval, job.start, job.in_thread = interval, self.sim.now, in_thread
        tick = job.parts[0]
        tick.index = 1
        self._queue_timer(tick, job.start + 1 * interval, job.submitted)
        result = self.reactor.call_every(interval, job.functions[0], in_thread=in_thread)
        return self._submitted(job, result)

    @precondition(lambda self: self.accepting_work)
    @rule(target=jobs_bundle, raises=st.booleans())
    def call_then_defer_to_thread(self, raises: bool) -> Job:
        """A reactor call that returns ``defer_to_thread(rest)``: the rest runs in the pool
        and ends the call's Result."""
        job = self._new_job("call + defer_to_thread", ["reactor", "pool"], raises=raises)
        self._queue_call(job.parts[0], job.submitted)
        return self._submitted(job, self.reactor.call(job.functions[0]))

    @precondition(lambda self: self.accepting_work)
    @rule(target=jobs_bundle, raises=st.booleans())
    def call_in_thread_then_defer(self, raises: bool) -> Job:
        """A pool call that returns ``defer(rest)``: the rest runs on the reactor, behind
        the calls queued before it."""
        job = self._new_job("call_in_thread + defer", ["pool", "reactor"], raises=raises)
        self._accept_in_pool(job.parts[0], job.submitted)
        return self._submitted(job, self.reactor.call_in_thread(job.functions[0]))

    # -- cancelling -----------------------------------------------------------------------

    def expected_state(self, job: Job) -> str:
        """What the model says the job's Result is: pending, running, finished (ended by
        running) or cancelled. Before the shutdown only: the shutdown's effects are
        checked as Results end, not predicted."""
        if job.cancelled is not None:
            return "cancelled"
        if job.completed:
            return "finished"
        if job.started and not job.periodic:
            return "running"  # between its first part and its continuation
        return "pending"  # a periodic task stays pending between and during runs

    @precondition(lambda self: self.accepting_work)
    @rule(job=jobs_bundle)
    def cancel(self, job: Job) -> None:
        """``result.cancel()``: True if it now never runs, or was already cancelled."""
        self._check_cancel(job, "Result.cancel()", job.result.cancel, ("pending", "cancelled"))

    @precondition(lambda self: self.accepting_work)
    @rule(job=jobs_bundle)
    def cancel_scheduled(self, job: Job) -> None:
        """``reactor.cancel_scheduled(result)``: True only if this stopped it running."""

        def cancel() -> bool:
            return self.reactor.cancel_scheduled(job.result)

        self._check_cancel(job, "cancel_scheduled", cancel, ("pending",))

    def _check_cancel(
        self,
        job: Job,
        how: str,
        cancel: Callable[[], bool],
        true_when: tuple[str, ...],
    ) -> None:
        moment = self.moment()
        state = self.expected_state(job)
        ended_before = job.ended
        self._cancelling = job
        try:
            answer = cancel()
        finally:
            self._cancelling = None
        expected = state in true_when
        if answer != expected:
            self.fail(f"{how} of {job}, which was {state}, answered {answer}, not {expected}")
        if state == "pending" and answer:
            job.cancelled = moment
            if job.ended is None or not job.result.cancelled():
                self.fail(f"{how} of {job} answered True, but its Result is not cancelled")
        elif job.ended != ended_before:
            self.fail(f"{how} of {job} answered {answer}, yet its Result ended meanwhile")

    # -- the pool -------------------------------------------------------------------------

    @precondition(lambda self: self.accepting_work)
    @rule(threads=_POOL_SIZES)
    def resize_pool(self, threads: int) -> None:
        """``pool.resize_pool(threads)``."""
        self.moment()
        self.pool.resize_pool(threads)
        self.pool_size = threads
        self.worker_bound = max(self.worker_bound, threads)
        self._changes += 1

    # -- moving the simulation ------------------------------------------------------------

    @property
    def settled(self) -> bool:
        """Whether the simulation is idle: a verb of the machine left it idle, and since
        then no step has run and the machine has queued no work (work of a subclass's
        own is not counted: it is for the subclass's invariants to reckon with)."""
        return self._idle_mark == (self.sim.trace.total, self._changes)

    def mark_idle(self) -> None:
        """Note that the simulation has just gone idle: workers told to retire have all
        gone, so the pool has exactly the workers asked for."""
        self._idle_mark = (self.sim.trace.total, self._changes)
        if self.shutdown_started is None:
            self.worker_bound = self.pool_size

    @rule()
    def step(self) -> None:
        """``sim.step()``: one unit of work, whichever the chooser picks."""
        self.sim.step()

    @rule()
    def run_until_idle(self) -> None:
        """``sim.run_until_idle()``: everything ready now; time stands still."""
        self.sim.run_until_idle()
        self.mark_idle()

    @rule(seconds=_STEPS)
    def advance(self, seconds: float) -> None:
        """``sim.advance(seconds)``: every timer due on the way, at its deadline."""
        self.sim.advance(seconds)
        self.mark_idle()

    @rule()
    def advance_to_next_timer(self) -> None:
        """``sim.advance_to_next_timer()``."""
        self.sim.advance_to_next_timer()
        self.mark_idle()

    @precondition(lambda self: self.accepting_work and not self._shutdown_queued)
    @rule(
        wait=st.booleans(),
        cancel_futures=st.booleans(),
        where=st.sampled_from(["test", "reactor", "pool"]),
    )
    def shutdown(self, wait: bool, cancel_futures: bool, where: str = "test") -> None:
        """``reactor.shutdown(wait, cancel_futures=...)``, from the test, or from a call
        queued on the reactor (which must not wait for itself) or in the pool (which
        waits for the reactor while the pool drains). Once it has run the machine queues
        nothing more, and once the simulation is idle every Result must have ended."""
        if where == "test":
            self._shut_down(wait, cancel_futures)
            if wait:
                self.run_until_idle()
            return

        def shut_down_here() -> None:
            self._shut_down(wait, cancel_futures)

        self._shutdown_queued = True
        self._changes += 1
        if where == "reactor":
            self.reactor.call(shut_down_here)
        else:
            self.reactor.call_in_thread(shut_down_here)

    def _shut_down(self, wait: bool, cancel_futures: bool) -> None:
        if self.shutdown_started is None:
            self.shutdown_started = self.moment()
        self._changes += 1
        self.reactor.shutdown(wait=wait, cancel_futures=cancel_futures)

    @precondition(lambda self: self.shutdown_started is not None)
    @rule(method=st.sampled_from(["call", "call_later", "call_in_thread", "call_every"]))
    def call_after_shutdown(self, method: str) -> None:
        """Queueing work once the reactor is shut down raises RuntimeError at once."""

        def never() -> None:
            self.fail(f"a function queued with {method} after the shutdown ran")

        attempts: dict[str, Callable[[], object]] = {
            "call": lambda: self.reactor.call(never),
            "call_later": lambda: self.reactor.call_later(0.0, never),
            "call_in_thread": lambda: self.reactor.call_in_thread(never),
            "call_every": lambda: self.reactor.call_every(1.0, never),
        }
        try:
            attempts[method]()
        except RuntimeError:
            return
        self.fail(f"reactor.{method} after the shutdown did not raise RuntimeError")

    def teardown(self) -> None:
        """Shut down (unless a failure is on its way out) and check that nothing was lost."""
        if self.initialized and sys.exc_info()[1] is None:
            if self.shutdown_started is None:
                self.shutdown(wait=True, cancel_futures=False)
            self.run_until_idle()
            self.check_model()
        super().teardown()

    # -- what tasks record ----------------------------------------------------------------

    def _on_run(self, job: Job, index: int) -> Any:
        moment = self.moment()
        actor = self.sim.scheduler.current_actor()
        if actor is None:
            self.fail(f"{job} ran outside every actor")
        run = Run(moment, self.sim.now, actor.name)
        if job.periodic:
            part = job.parts[0] if job.parts else None
            if part is None or part.ran is not None:
                self.fail(f"{job} ran at t={run.time} with no tick due: runs overlap or repeat")
        else:
            part = job.parts[index]
        if part.ran is not None:
            self.fail(
                f"{part} ran twice: on {part.ran.actor} at step {part.ran.moment.step}, "
                f"and now on {run.actor}"
            )
        if job.cancelled is not None:
            self.fail(f"{part} ran though a cancel answered True at {job.cancelled}")
        if job.ended is not None:
            self.fail(f"{part} ran after its Result had ended")
        part.ran = run
        self._runs_at[moment.step] = job
        if part.side == "reactor":
            if actor.name != self.reactor.name:
                self.fail(f"{part} ran on {actor.name}, not on the reactor")
            self._reactor_executed(part, run)
        else:
            self._pool_started(part, run)
        if job.periodic:
            job.ticks += 1
            return self._tick_ran(job, part, run)
        if index + 1 < len(job.parts):
            rest = job.parts[index + 1]
            if rest.side == "pool":
                self._accept_in_pool(rest, self.moment())
                return defer_to_thread(job.functions[index + 1])
            self._queue_call(rest, self.moment())
            return defer(job.functions[index + 1])
        if job.raises:
            raise job.error
        return job.id

    def _tick_ran(self, job: Job, tick: Part, run: Run) -> None:
        """A periodic run returned: its next tick is the first grid point not in the past
        and after the instant the run started (runs here take no time, so after
        ``run.time``), unless the reactor is shutting down (then the task is cancelled)."""
        job.parts.clear()
        if self.shutdown_started is not None:
            return
        n = tick.index + 1
        while job.start + n * job.interval <= run.time:
            n += 1
        following = Part(job, n, tick.side)
        job.parts.append(following)
        self._queue_timer(following, job.start + n * job.interval, self.moment())

    def _reactor_executed(self, part: Part, run: Run) -> None:
        """The reactor ran ``part`` (or handed a pool timer over): check time and order."""
        self.reactor_waiting.pop(part, None)
        if part.deadline is not None and run.time < part.deadline:
            self.fail(f"{part} fired early: at t={run.time}, due at t={part.deadline}")
        if self.exact_timing and run.time != part.due_time:
            what = f"due at t={part.deadline}" if part.is_timer else "queued"
            self.fail(f"{part} {what} ran at t={run.time}, not at t={part.due_time}")
        for earlier in self.reactor_waiting:
            if must_precede(earlier, part):
                self.fail(
                    f"the reactor is not FIFO: {part} ({_describe(part)}) ran at step "
                    f"{run.moment.step} before {earlier} ({_describe(earlier)}), still waiting"
                )

    def _pool_started(self, part: Part, run: Run) -> None:
        if part.entered is None:
            self.fail(f"{part} ran in the pool before the reactor handed it over")
        if self.worker_bound == 0:
            self.fail(f"{part} ran in a pool of no workers")
        if not run.actor.startswith(f"{self.pool.name}-"):
            self.fail(f"{part} ran on {run.actor}, not on a worker of {self.pool.name}")
        self.pool_waiting.pop(part, None)
        if part.handed_over is not None and run.time < part.handed_over.time:
            self.fail(f"{part} ran at t={run.time}, before it was handed over")
        ahead = [p for p in self.pool_waiting if p.entered is not None and p.entered < part.entered]
        if len(ahead) > self.worker_bound - 1:
            self.fail(
                f"the pool started {part} while {len(ahead)} task(s) queued before it were "
                f"still waiting ({ahead[:3]}), with at most {self.worker_bound} worker(s): "
                "tasks must start in the order queued"
            )

    def _on_end(self, job: Job) -> None:
        """The done-callback of every Result the machine got."""
        moment = self.moment()
        job.end_count += 1
        if job.end_count > 1:
            self.fail(f"the Result of {job} ended {job.end_count} times")
        job.ended = moment
        for part in job.parts:
            self.reactor_waiting.pop(part, None)
            self.pool_waiting.pop(part, None)
        self.check_ending(job)

    def check_ending(self, job: Job) -> None:
        """How ``job``'s Result ended is something the contract allows."""
        result = job.result
        shutting_down = self.shutdown_started is not None
        if not result.done():
            self.fail(f"the done-callback of {job} ran, but its Result is not done")
        if result.cancelled():
            if job.started and not job.periodic:
                self.fail(f"{job} was cancelled after it started")
            if self._cancelling is not job and not shutting_down:
                self.fail(f"{job} was cancelled, though nobody cancelled it")
            return
        exception = result.exception()
        last = job.parts[-1].ran if job.parts else None
        if last is not None and not job.periodic:  # it ended by running: in that actor
            actor = self.sim.scheduler.current_actor()
            if actor is None or actor.name != last.actor:
                where = "outside every actor" if actor is None else f"on {actor.name}"
                self.fail(f"the done-callback of {job} ran {where}, not on {last.actor}")
        if job.periodic:
            if not (shutting_down and isinstance(exception, RuntimeError)):
                self.fail(f"periodic {job} ended with {exception!r}, not cancelled")
        elif exception is None:
            if not job.completed:
                self.fail(f"{job} finished before its last part ran")
            elif result.result() != job.id:
                self.fail(f"{job} finished with {result.result()!r}, not {job.id}")
        elif exception is job.error:
            if not (job.raises and job.completed):
                self.fail(f"{job} failed with the error of a part that had not run")
        elif not (shutting_down and isinstance(exception, RuntimeError)):
            self.fail(f"{job} failed with {exception!r}")

    # -- the trace ------------------------------------------------------------------------

    def sync_trace(self) -> None:
        """Read the simulation's trace up to now: hand-overs of fired timers to the pool,
        and steps that dispatched the machine's work (each must have run it once)."""
        trace = self.sim.trace
        total = trace.total
        first = total - len(trace)  # events older than this were dropped (trace_limit)
        for index in range(max(self._trace_seen, first), total):
            self._trace_seen = index + 1
            event = trace[index - first]
            handed = event.what.startswith(_HANDED)
            job = self._names.get(event.what[len(_HANDED) :] if handed else event.what)
            if job is None:
                continue  # not the machine's work
            if event.outcome == "cancelled":
                if job.ended is None or not job.result.cancelled():
                    self.fail(f"step {index} skipped {job} as cancelled, but it is not")
            elif handed:
                self._handed_over(
                    job,
                    Run(Moment(index, 1, -1), event.time, event.actor),
                    refused=event.outcome != "handed to pool",
                )
            elif self._runs_at.pop(index, None) is not job:
                self.fail(
                    f"step {index} ({event}) dispatched {job} without running it: "
                    "work handed out twice?"
                )

    def _handed_over(self, job: Job, run: Run, *, refused: bool) -> None:
        part = job.parts[0] if job.parts else None
        if part is None or not part.is_timer or part.side != "pool":
            self.fail(f"the reactor handed {job} to the pool with no timer of it due")
        if part.handed_over is not None:
            self.fail(f"the reactor handed {part} to the pool twice")
        if run.actor != self.reactor.name:
            self.fail(f"{run.actor}, not the reactor, handed {part} to the pool")
        part.handed_over = run
        self._reactor_executed(part, run)
        if not refused and job.ended is None:
            part.entered, part.entered_time = run.moment, run.time
            self.pool_waiting[part] = None

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def check_model(self) -> None:
        """After every rule: read the trace, compare the model with the Results and the
        pool, and, if the simulation is idle, check nothing is late or lost."""
        if self.violation is not None:
            raise self.violation
        self.sync_trace()
        if self.shutdown_started is None:
            self.check_results_as_predicted()
        self.check_pool()
        if self.settled:
            self.check_idle()

    def check_results_as_predicted(self) -> None:
        """Before the shutdown the model knows which Results have ended and which run."""
        for job in self.jobs:
            state = self.expected_state(job)
            ended = state in ("cancelled", "finished")
            if job.result.done() != ended or (job.ended is not None) != ended:
                self.fail(
                    f"{job} should be {state}, but its Result is {job.result!r}"
                    f"{'' if job.ended is None else ' (its done-callback ran)'}"
                )
            if job.result.running() != (state == "running"):
                self.fail(f"{job} should be {state}, but its Result is {job.result!r}")

    def check_pool(self) -> None:
        """``thread_count`` is the size asked for; tasks in flight fit the workers."""
        if self.shutdown_started is None and self.pool.thread_count != self.pool_size:
            self.fail(f"thread_count is {self.pool.thread_count}, not {self.pool_size}")
        # Tasks the pool accepted that have neither run nor been counted as queued: workers
        # hold them (taken, not yet run), so at most one a worker; any more were lost.
        in_flight = len(self.pool_waiting) - self.pool.queued_count
        if in_flight > self.worker_bound:
            self.fail(
                f"{in_flight} of the pool's tasks have neither run nor are queued (it counts "
                f"{self.pool.queued_count} queued): more than its at most "
                f"{self.worker_bound} worker(s) can hold, so some were lost"
            )

    def check_idle(self) -> None:
        """The simulation is idle at ``now``: nothing due is left waiting."""
        now = self.sim.now
        for part in self.reactor_waiting:
            if not part.is_timer:
                self.fail(f"{part} was queued on the reactor and is still waiting at idle")
            elif part.due_time <= now:
                self.fail(f"{part}, due at t={part.deadline}, has not fired by t={now}: late")
        if self.shutdown_started is None:
            if self.pool_size > 0 and self.pool_waiting:
                waiting = list(self.pool_waiting)
                self.fail(
                    f"{waiting[:3]} still wait in the pool at idle, with {self.pool_size} worker(s)"
                )
            return
        lost = [job for job in self.jobs if job.ended is None or not job.result.done()]
        if lost:
            self.fail(f"the reactor has shut down, yet these Results never ended: {lost[:5]}")
        if self.pool_waiting or self.reactor_waiting:
            self.fail("the reactor has shut down, yet the model has work waiting")


def must_precede(earlier: Part, later: Part) -> bool:
    """Whether the reactor must run (or hand over) ``earlier`` before ``later``.

    Calls run in the order queued. A call runs before a timer that was scheduled after
    it was queued, or that was not yet due when it was queued (a due timer joins the
    queue behind the calls already in it). Timers pop in (deadline, scheduling order),
    but only those in the heap together: ``earlier`` precedes ``later`` if it comes first
    and was scheduled before ``later``, or before ``later`` fell due. A timer never
    has to precede a call: when the loop noticed it fell due is not observable.
    """
    if later.deadline is None:  # later is a call
        return (
            earlier.deadline is None
            and earlier.entered is not None
            and later.entered is not None
            and earlier.entered < later.entered
        )
    assert later.scheduled is not None
    if earlier.deadline is None:  # a call before a timer
        assert earlier.entered is not None
        return earlier.entered < later.scheduled or earlier.entered_time < later.deadline
    assert earlier.scheduled is not None
    if (earlier.deadline, earlier.scheduled) >= (later.deadline, later.scheduled):
        return False
    return earlier.scheduled < later.scheduled or earlier.scheduled_time < later.deadline


def _describe(part: Part) -> str:
    """A part's place in the reactor's order, for messages."""
    if part.deadline is None:
        return f"queued at step {part.entered.step if part.entered else '?'}"
    step = part.scheduled.step if part.scheduled else "?"
    return f"due at t={part.deadline}, scheduled at t={part.scheduled_time} step {step}"
