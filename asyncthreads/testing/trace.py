"""Trace: what ran when, in a simulation.

Every step is one :class:`TraceEvent`: the virtual time it ended at (a step takes no
virtual time: work that blocks ends its step as ``blocked``, and a later step at a later
time continues it), the actor that ran it, what ran (a function's qualified name) and
its outcome: ``returned``, ``raised <Type>``, ``cancelled`` (it was skipped: cancelled
before it started), ``deferred`` (it handed the rest of the call on), ``handed to pool``
(a fired timer moved to the pool), ``blocked`` (suspended in a wait) or ``preempted``
(the chooser ran another thread at a schedule point). The same
scenario run twice gives an identical trace.

A trace prints as a timeline (:meth:`Trace.timeline`) and exports as Chrome trace-event
JSON (:meth:`Trace.to_chrome_trace`) that Perfetto or ``chrome://tracing`` show as a
picture, one row per actor.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["Trace", "TraceEvent"]


class TraceEvent(NamedTuple):
    """One step of a simulation."""

    time: float
    actor: str
    what: str
    outcome: str

    def __str__(self) -> str:
        return f"t={self.time:<12.6g} {self.actor:<16} {self.what} -> {self.outcome}"


# An event as the trace stores it: a plain (time, actor, what, outcome) tuple. Making a
# TraceEvent (a tuple subclass) costs several times as much as a plain tuple, and a
# simulation records an event on every step while most events are never read; so events
# become TraceEvents as they are read.
RawEvent = tuple[float, str, str, str]
_as_event = TraceEvent._make


class Trace:
    """The events of a simulation, oldest first; keeps the newest ``limit`` (None: all)."""

    __slots__ = ("_events", "total")

    def __init__(self, limit: int | None = 100_000) -> None:
        self._events: deque[RawEvent] = deque(maxlen=limit)
        self.total = 0  # steps ever recorded, including those no longer kept

    def record(self, event: RawEvent) -> None:
        """Add an event (a TraceEvent, or its fields as a plain tuple)."""
        self._events.append(event)
        self.total += 1

    def __len__(self) -> int:
        return len(self._events)

    def __iter__(self) -> Iterator[TraceEvent]:
        return map(_as_event, self._events)

    def __getitem__(self, index: int) -> TraceEvent:
        return _as_event(self._events[index])

    def last(self, count: int) -> list[TraceEvent]:
        """The newest ``count`` events."""
        events = self._events
        skip = max(0, len(events) - max(0, count))
        return [_as_event(event) for event in islice(events, skip, None)]

    def timeline(self, last: int | None = None, *, per_actor: bool = False) -> str:
        """The events as text, one per line; ``per_actor`` groups them under each actor."""
        events = self.last(last) if last is not None else list(self)
        if not per_actor:
            return "\n".join(str(event) for event in events)
        lines: list[str] = []
        actors = list(dict.fromkeys(event.actor for event in events))
        for actor in actors:
            lines.append(f"{actor}:")
            lines.extend(
                f"  t={e.time:<12.6g} {e.what} -> {e.outcome}" for e in events if e.actor == actor
            )
        return "\n".join(lines)

    def to_chrome_trace(self) -> dict[str, Any]:
        """Chrome trace-event JSON (a dict): one row per actor, one mark per step.

        Virtual seconds become trace microseconds. Steps take no virtual time, so each is
        an instant event.
        """
        rows: dict[str, int] = {}
        trace_events: list[dict[str, Any]] = []
        for event in self:
            row = rows.setdefault(event.actor, len(rows) + 1)
            trace_events.append(
                {
                    "name": event.what,
                    "cat": event.outcome.split(" ")[0],
                    "ph": "i",
                    "s": "t",
                    "ts": event.time * 1e6,
                    "pid": 1,
                    "tid": row,
                    "args": {"outcome": event.outcome, "virtual_time": event.time},
                }
            )
        names = [
            {"name": "thread_name", "ph": "M", "pid": 1, "tid": row, "args": {"name": actor}}
            for actor, row in rows.items()
        ]
        return {"traceEvents": names + trace_events, "displayTimeUnit": "ms"}

    def write_chrome_trace(self, path: str | Path) -> Path:
        """Write :meth:`to_chrome_trace` as JSON to ``path``; open it in Perfetto."""
        path = Path(path)
        path.write_text(json.dumps(self.to_chrome_trace()))
        return path
