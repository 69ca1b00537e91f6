"""Reports of a StepScheduler: what each simulated thread is doing, and why a run failed.

Error messages of a simulation (DeadlockError, NeverIdleError, StepLimitError) end with
:func:`report`: every simulated thread with what it runs or waits for (the Blocker's
``describe()``), what it holds (the Blockers' ``holders()``), where it blocked (file:line
of the user code), then what is queued in every pool and reactor, and the last steps.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from ..reactor import Reactor, _ToPool
from ..result import CANCELLED, FINISHED, RUNNING
from ..thread_pool import ThreadPool

if TYPE_CHECKING:
    from ..scheduler import Work
    from .sim_thread import SimThread
    from .step_scheduler import StepScheduler

__all__ = [
    "backlog",
    "deadlock_report",
    "describe_result",
    "name_of",
    "never_idle_report",
    "pending",
    "report",
    "step_outcome",
]


def name_of(work: Work) -> str:
    """The name traces and reports give a unit of work."""
    name = getattr(work, "name", None)
    return name if isinstance(name, str) else repr(work)


def owners(scheduler: StepScheduler) -> list[object]:
    """The pools and reactors registered on ``scheduler`` (through ``at_exit``)."""
    return [getattr(callback, "__self__", None) for callback in scheduler._components]


def queued_work(scheduler: StepScheduler) -> list[tuple[object, str, Work]]:
    """(component, what, work) for the work waiting in every queue and timer heap."""
    found: list[tuple[object, str, Work]] = []
    for component in owners(scheduler):
        if isinstance(component, Reactor):
            for deadline, work in component.pending_timers():
                found.append((component, f"timer t={deadline}", work))
            found.extend(
                (component, "queued call", work)
                for work in component._queued_calls()
                if work.future._state != CANCELLED
            )
        elif isinstance(component, ThreadPool):
            found.extend(
                (component, "queued task", work)
                for work in component._queue
                if work.future._state != CANCELLED
            )
    return found


def backlog(scheduler: StepScheduler) -> int:
    """How many units of work wait to run now: queued calls and tasks, and held work."""
    count = len(scheduler._ready)
    for component in owners(scheduler):
        if isinstance(component, Reactor):
            count += len(component._queued_calls())
        elif isinstance(component, ThreadPool):
            count += len(component._queue)
    return count


def describe_result(scheduler: StepScheduler, result: object) -> str:
    """Name a Result by the work it belongs to, where that can be found."""
    for _, _, work in queued_work(scheduler):
        if work.future is result:
            return f"the Result of {name_of(work)}"
    for thread in scheduler._actors:
        if thread.running is not None and thread.running.future is result:
            return f"the Result of {name_of(thread.running)}"
    return repr(result)


def describe_thread(thread: SimThread) -> str:
    """The work a thread runs (or is blocked in) and the thread: "fetch on pool-1"."""
    running = thread.running
    return f"{name_of(running) if running is not None else '?'} on {thread.name}"


def _held_by(scheduler: StepScheduler) -> dict[Any, list[str]]:
    """For each simulated thread, the blockers others wait for that it holds."""
    held: dict[Any, list[str]] = {}
    waiters = [t for t in scheduler._actors if t.blocker is not None]
    test = scheduler.test_thread
    if test.blocker is not None:
        waiters.append(test)  # type: ignore[arg-type]
    for waiter in waiters:
        blocker = waiter.blocker
        assert blocker is not None
        for holder in blocker.holders():
            entries = held.setdefault(holder, [])
            description = blocker.describe()
            if description not in entries:
                entries.append(description)
    return held


def pending(scheduler: StepScheduler) -> list[str]:
    """What each simulated thread is doing or waiting for, and what is queued."""
    lines = [f"virtual time: {scheduler.clock.now()}"]
    held = _held_by(scheduler)
    test = scheduler.test_thread
    if test.blocker is not None:
        lines.append(f"  {test.name} (the test): waits for {test.blocker.describe()}")
    for thread in scheduler._actors:
        if thread.blocker is not None:
            where = thread.where()
            running = thread.running
            what = name_of(running) if running is not None else "?"
            state = f"running {what}, blocked: waits for {thread.blocker.describe()}"
            if thread.resumable:
                state += " (ready to continue)"
            if where is not None:
                state += f" at {where}"
        elif thread.running is not None:
            state = f"running {name_of(thread.running)}"
        elif thread.holding is not None:
            state = f"ready to run {name_of(thread.holding)}"
        elif thread.poll_pending:
            state = "woken, not yet asked for work"
        elif thread in scheduler._timed:
            state = f"idle until t={scheduler._timed[thread]}"
        else:
            state = "idle (waiting to be woken)"
        holds = held.get(thread)
        if holds:
            state += "; holds " + ", ".join(holds)
        lines.append(f"  {thread.name}: {state}")
    queued = queued_work(scheduler)
    for component in owners(scheduler):
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
        lines.extend(f"    {what}: {name_of(work)}" for what, work in entries[:20])
        if len(entries) > 20:
            lines.append(f"    ... and {len(entries) - 20} more")
    return lines


def report(scheduler: StepScheduler, last: int = 20) -> str:
    """:func:`pending` and the last ``last`` trace events, for error messages."""
    events = scheduler.trace.last(last)
    trace = "\n".join(f"  {e}" for e in events) or "  (nothing has run)"
    return "\n".join(pending(scheduler)) + f"\nlast {len(events)} steps:\n" + trace


def find_cycle(scheduler: StepScheduler) -> list[SimThread]:
    """Blocked threads that wait in a circle, each for what the next holds; [] if none."""
    for start in scheduler._actors:
        path: list[SimThread] = []
        thread: Any = start
        while thread is not None and getattr(thread, "blocker", None) is not None:
            if thread in path:
                return path[path.index(thread) :]
            path.append(thread)
            holders = thread.blocker.holders()
            thread = holders[0] if holders else None
    return []


def deadlock_report(scheduler: StepScheduler, waited: str) -> str:
    """Why the test's wait for ``waited`` can never end."""
    blocked = [t for t in scheduler._actors if t.blocker is not None]
    cycle = find_cycle(scheduler)
    if cycle:
        why = "a cycle: " + ", ".join(
            f"{t.name} waits for {t.blocker.describe()}"  # type: ignore[union-attr]
            for t in cycle
        )
    elif blocked:
        why = "every simulated thread is blocked or idle: " + "; ".join(
            f"{describe_thread(t)} waits for {t.blocker.describe()}"  # type: ignore[union-attr]
            for t in blocked
        )
    else:
        why = "no work is ready and no timer is set"
    return (
        f"the test's thread is blocked waiting for {waited}, but nothing can ever complete "
        f"it: {why}\n" + report(scheduler)
    )


def never_idle_report(scheduler: StepScheduler) -> str:
    """What keeps re-scheduling itself at this instant."""
    now = scheduler.clock._now
    recent = scheduler.trace.last(1000)
    counts = Counter(f"{e.actor}: {e.what}" for e in recent if e.time == now)
    top = ", ".join(f"{name} ({n}x)" for name, n in counts.most_common(3))
    return (
        f"more than {scheduler.max_steps_per_instant} steps at t={now} without going idle, "
        "and the work queued at this instant did not shrink over the last of them; what "
        f"keeps re-scheduling itself: {top}\n" + report(scheduler)
    )


def step_outcome(work: Work, before: str) -> str:
    """A step's outcome for the trace, from the state its Result had before it."""
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
