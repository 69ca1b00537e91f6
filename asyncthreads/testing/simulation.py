"""Simulation: a virtual clock and a step scheduler, with the verbs a test needs.

::

    sim = Simulation()
    reactor = Reactor(clock=sim.clock, scheduler=sim.scheduler)   # the production class
    reactor.start()
    hits = []
    reactor.call_every(1.0, lambda: hits.append(sim.now))
    sim.advance(10)
    assert hits == [1.0, 2.0, ..., 10.0]

What a test may rely on:

* No OS thread is ever started; all work runs on the test's thread, one unit per step.
  A task that blocks (``sim.sleep``, a Result wait) suspends only its own simulated
  thread; time moves when every simulated thread is blocked, asleep or idle.
* :meth:`advance` / :meth:`advance_to` fire every timer due on the way in (deadline,
  scheduling order) order, the clock reading exactly that timer's deadline while it runs,
  including timers scheduled during the advance; work that becomes ready at an instant
  runs at that instant, before time moves on. Time never goes backwards.
* Waiting on a Result drives the simulation (see :mod:`.step_scheduler`); timeouts are
  virtual seconds.
* The run is deterministic: FIFO by default, seeded random with ``seed=``, any chooser
  with ``chooser=``; its decisions are kept as :attr:`replay_token`, and
  ``Simulation(replay=token)`` runs them again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, TypeVar

from ..reactor import Reactor
from ..result import Result
from ..thread_pool import ThreadPool
from .causality import causal_report
from .choosers import Chooser, FifoChooser, RandomChooser, ReplayChooser, encode_token
from .sim_thread import SleepBlocker
from .step_scheduler import StepScheduler
from .trace import Trace, TraceEvent
from .virtual_clock import VirtualClock

__all__ = ["Simulation"]

T = TypeVar("T")

# Set by the pytest plugin while a test runs: the simulation created last, so that a
# failing test's report shows its replay token and timeline (with hypothesis, the final,
# shrunk example is the last one run). Unset, nothing is kept.
_latest: ContextVar[list[Simulation] | None] = ContextVar("asyncthreads_latest", default=None)


class Simulation:
    """A deterministic world for Reactors and ThreadPools. See the module docstring."""

    def __init__(
        self,
        *,
        seed: int | None = None,
        chooser: Chooser | None = None,
        replay: str | None = None,
        start: float = 0.0,
        max_steps: int = 1_000_000,
        max_steps_per_instant: int = 100_000,
        trace_limit: int | None = 100_000,
        explore_wakeups: bool = False,
        record_operations: bool = False,
    ) -> None:
        given = [
            name
            for name, v in (("seed", seed), ("chooser", chooser), ("replay", replay))
            if v is not None
        ]
        if len(given) > 1:
            raise ValueError(f"give at most one of seed, chooser and replay, got {given}")
        if seed is not None:
            chooser = RandomChooser(seed)
        elif replay is not None:
            chooser = ReplayChooser(replay)
        self.seed = seed
        self.clock = VirtualClock(start)
        self.scheduler = StepScheduler(
            self.clock,
            chooser=chooser,
            max_steps=max_steps,
            max_steps_per_instant=max_steps_per_instant,
            trace_limit=trace_limit,
            explore_wakeups=explore_wakeups,
            record_operations=record_operations,
        )
        self._built: list[Reactor | ThreadPool] = []
        latest = _latest.get()
        if latest is not None:  # a test runner wants to report on this simulation
            latest[:] = [self]

    # -- time and steps -------------------------------------------------------------------

    @property
    def now(self) -> float:
        """The virtual time."""
        return self.clock.now()

    def step(self) -> TraceEvent | None:
        """Run one step at the current instant: a unit of ready work, until it ends or
        blocks, or a blocked thread that may go on, until its work ends or blocks again.
        Return what happened (outcome ``blocked`` if it blocked), or None if nothing was
        ready."""
        return self.scheduler.step()

    def run_until_idle(self) -> int:
        """Run ready work at the current instant until none is left; return how many ran.

        Raises :class:`NeverIdleError` if work keeps re-scheduling itself at this instant.
        """
        return self.scheduler.run_until_idle()

    def advance(self, seconds: float) -> None:
        """Move virtual time forward by ``seconds``, running everything due on the way."""
        seconds = float(seconds)
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be finite and not negative, got {seconds}")
        self.scheduler.advance_to(self.clock.now() + seconds)

    def advance_to(self, when: float) -> None:
        """Move virtual time forward to ``when``, running everything due on the way."""
        when = float(when)
        if not math.isfinite(when):
            raise ValueError(f"when must be finite, got {when}")
        self.scheduler.advance_to(when)

    def advance_to_next_timer(self) -> float | None:
        """Jump to the next deadline and run what is due there; its time, or None."""
        self.run_until_idle()
        deadline = self.scheduler.next_deadline()
        if deadline is not None:
            self.scheduler.advance_to(deadline)
        return deadline

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` virtual seconds, as ``time.sleep`` blocks a thread.

        Called inside a task (a test's stand-in for slow work), it suspends that task's
        simulated thread while the others run and time moves; ``sleep(0)`` is a
        schedule point. Called from the test, it is ``advance``.
        """
        if not seconds >= 0:  # NaN too
            raise ValueError(f"seconds must not be negative, got {seconds}")
        until = self.clock._now + seconds
        self.scheduler.block(SleepBlocker(until), until)

    def run_until(self, result: Result[T], timeout: float | None = None) -> Result[T]:
        """Run until ``result`` is done; return it.

        Raises ``TimeoutError`` after ``timeout`` virtual seconds, and
        :class:`asyncthreads.DeadlockError` if nothing could ever complete it.
        """
        if not isinstance(result, Result):
            raise TypeError(f"run_until takes a Result, got {result!r}")
        if not result.wait(timeout):
            raise TimeoutError(f"{result!r} not done after {timeout} virtual seconds")
        return result

    # -- what happened --------------------------------------------------------------------

    @property
    def trace(self) -> Trace:
        """Every step so far (the newest ``trace_limit``)."""
        return self.scheduler.trace

    @property
    def replay_token(self) -> str:
        """The decisions of this run so far; ``Simulation(replay=token)`` repeats them."""
        return encode_token(self.scheduler.departures)

    @property
    def replay_diverged_at(self) -> int | None:
        """For a replay: the step where the run stopped matching the token, or None."""
        chooser = self.scheduler.chooser
        if isinstance(chooser, ReplayChooser):
            return chooser.divergence(self.scheduler.steps)
        return None

    def pending(self) -> str:
        """What every actor is doing or waiting for, and what is queued, as text."""
        return "\n".join(self.scheduler.pending())

    def timeline(self, last: int | None = None, *, per_actor: bool = True) -> str:
        """The trace as text (see :meth:`Trace.timeline`)."""
        return self.trace.timeline(last, per_actor=per_actor)

    def failure_report(self, last: int = 40) -> str:
        """What a failing test should print: how to replay it, and what ran."""
        diverged = self.replay_diverged_at
        replay = f"; the replay diverged at step {diverged}" if diverged is not None else ""
        chooser = self.scheduler.chooser
        if isinstance(chooser, ReplayChooser) and chooser.unused:
            replay += f"; {chooser.unused} recorded departure(s) were not replayed"
        return (
            f"replay token: {self.replay_token!r}  (Simulation(replay=...) repeats this run; "
            f"it came from {self.scheduler.chooser!r}{replay})\n"
            f"virtual time: {self.now}, steps run: {self.trace.total}\n"
            f"timeline (last {last} steps):\n{self.trace.timeline(last, per_actor=True)}\n"
            f"pending:\n{self.pending()}" + self._causes()
        )

    def _causes(self) -> str:
        log = self.scheduler.operations
        if log is None or not log.entries:
            return ""
        return "\n" + causal_report(log)

    # -- building things on this simulation -----------------------------------------------

    def reactor(self, threads: int = 4, *, name: str = "reactor", start: bool = True) -> Reactor:
        """A Reactor with its own pool of ``threads`` workers on this simulation, started
        unless ``start=False``; :meth:`close` shuts it down."""
        pool = self.thread_pool(threads, name=f"{name}-pool")
        reactor = Reactor(pool, name=name)
        self._built.remove(pool)
        reactor._owns_pool = True
        self._built.append(reactor)
        if start:
            reactor.start()
        return reactor

    def thread_pool(
        self,
        num_threads: int | None = None,
        max_queue_size: int = 0,
        *,
        name: str | None = None,
        thread_name_prefix: str = "",
        initializer: Callable[..., object] | None = None,
        initargs: Iterable[Any] = (),
    ) -> ThreadPool:
        """A ThreadPool on this simulation; :meth:`close` shuts it down. The arguments
        are ThreadPool's. Give ``num_threads``: the default size depends on the
        machine's core count, and so would the run and its replay token."""
        pool = ThreadPool(
            num_threads,
            max_queue_size,
            clock=self.clock,
            scheduler=self.scheduler,
            name=name,
            thread_name_prefix=thread_name_prefix,
            initializer=initializer,
            initargs=initargs,
        )
        self._built.append(pool)
        return pool

    def close(self) -> None:
        """Shut down what :meth:`reactor` and :meth:`thread_pool` built, cancelling what
        has not run, and end every simulated thread still blocked (``GreenletExit`` is
        raised where it waits), so every Result they returned ends. Idempotent."""
        built, self._built = self._built, []
        for thing in reversed(built):
            thing.shutdown(wait=False, cancel_futures=True)
        # The run's decisions are over: a chooser that ended it (hypothesis's StopTest)
        # is not asked again.
        chooser, self.scheduler.chooser = self.scheduler.chooser, FifoChooser()
        try:
            self.scheduler.run_until_idle()
            self.scheduler.close()
        finally:
            self.scheduler.chooser = chooser

    def __enter__(self) -> Simulation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the standard library on this simulation -----------------------------------------

    def patched(self) -> AbstractContextManager[Simulation]:
        """While active, the standard library's clocks, sleeps, locks, queues and thread
        identity run on this simulation, for code on the calling OS thread.

        ``time.sleep``/``monotonic``/``perf_counter``/``time`` (and ``_ns`` forms) read
        and move virtual time (``time.time()`` is :data:`~.patching.EPOCH` plus
        :attr:`now`); the ``threading`` and ``queue`` primitives made inside it are
        simulated; ``threading.current_thread()``, ``get_ident()`` and ``local`` tell
        simulated threads apart. Objects made outside it, and other OS threads, are
        untouched. Nests; undone on exit, even on an error. See
        :mod:`asyncthreads.testing.patching`.
        """
        from .patching import patched

        return patched(self)

    # -- wall-clock time for the code under test ------------------------------------------

    @contextmanager
    def wall_clock(self, start: datetime | str = "2000-01-01 00:00:00") -> Iterator[Any]:
        """While active, ``time.time()``, ``datetime.now()`` and friends read virtual time.

        It uses freezegun: the wall clock reads ``start`` now and moves exactly as the
        simulation's clock moves. Inside a test's own ``freeze_time`` it takes over until
        it exits, and the test's frozen time resumes after. Yields freezegun's factory.
        """
        import freezegun

        freezer = freezegun.freeze_time(start)
        frozen = freezer.start()
        origin = self.clock.now()
        base = frozen()

        def follow(now: float) -> None:
            frozen.move_to(base + timedelta(seconds=now - origin))

        stop_following = self.clock._listen(follow)
        try:
            yield frozen
        finally:
            stop_following()
            freezer.stop()

    def __repr__(self) -> str:
        return f"<Simulation t={self.now} steps={self.trace.total} token={self.replay_token!r}>"
