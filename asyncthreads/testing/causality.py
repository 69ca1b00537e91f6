"""What each simulated thread did to which lock, condition, event, queue and Result, in
order: the operation log behind a causal report.

A replay token reproduces a failing schedule; the causal report explains it. With
``Simulation(record_operations=True)`` every operation of a simulated primitive (acquire,
release, wait, notify; so every Event set or wait and every Queue put or get, which are
made of those) and every blocking wait (a Result, ``sim.sleep``) is logged with the
simulated thread that did it, the step and virtual time, and the line of user code that
did it. :func:`causal_report` prints the log, one line per run of operations by one
thread on one object from one line, and names the objects more than one thread touched:
where the race is.

Recording is off by default: finding the line of user code costs a walk up the stack per
operation. :func:`asyncthreads.testing.explore` turns it on to replay a failing schedule,
and adds the report to the failure.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from typing import TYPE_CHECKING, NamedTuple

from .sim_thread import user_frame

if TYPE_CHECKING:
    from .step_scheduler import StepScheduler

__all__ = ["Operation", "OperationLog", "causal_report"]


class Operation(NamedTuple):
    """One logged operation."""

    step: int  # the scheduler's step count when it happened
    time: float  # virtual time
    thread: str  # the simulated thread's name
    verb: str  # "acquire", "release", "wait", "notify", "blocks on", ...
    target: str  # the object's label: "Lock 1 (made at orders.py:14)"
    where: str  # file:line of the user code that did it (the file's base name)


class OperationLog:
    """The last ``limit`` operations of one simulation."""

    __slots__ = ("entries",)

    def __init__(self, limit: int = 10_000) -> None:
        self.entries: deque[Operation] = deque(maxlen=limit)

    def add(self, scheduler: StepScheduler, verb: str, target: str) -> None:
        """Log ``verb`` on ``target`` by the current simulated thread, now."""
        where = user_frame(sys._getframe(1))
        if where is None:
            where = "?"
        else:
            filename, _, line = where.rpartition(":")
            where = f"{os.path.basename(filename)}:{line}"
        self.entries.append(
            Operation(
                scheduler.steps,
                scheduler.clock._now,
                scheduler.current_thread().name,
                verb,
                target,
                where,
            )
        )


def causal_report(log: OperationLog, last: int = 60) -> str:
    """The log's last ``last`` runs of operations, oldest first, then the objects that
    more than one thread touched, with who touched them."""
    runs: list[tuple[Operation, list[str]]] = []
    for op in log.entries:
        if runs:
            first, verbs = runs[-1]
            if (first.thread, first.target, first.where, first.time) == (
                op.thread,
                op.target,
                op.where,
                op.time,
            ):
                verbs.append(op.verb)
                continue
        runs.append((op, [op.verb]))
    shown = runs[-last:]
    lines = [f"operations, oldest first ({len(shown)} of {len(runs)} runs):"]
    for op, verbs in shown:
        lines.append(
            f"  t={op.time:g} step {op.step}  {op.thread}: {', '.join(verbs)} "
            f"{op.target}  at {op.where}"
        )
    touched: dict[str, list[str]] = {}
    for op in log.entries:
        threads = touched.setdefault(op.target, [])
        if op.thread not in threads:
            threads.append(op.thread)
    shared = {target: threads for target, threads in touched.items() if len(threads) > 1}
    if shared:
        lines.append("touched by more than one thread:")
        lines.extend(f"  {target}: {', '.join(threads)}" for target, threads in shared.items())
    return "\n".join(lines)
