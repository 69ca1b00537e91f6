"""The ledger of a stress run: what the producers were given, and what actually ran.

Every thread writes to one :class:`Ledger` under its lock. At the end of a run
:meth:`Ledger.audit` checks the exact accounting every run must satisfy:

* every Result a producer got has ended, and its done-callback ran exactly once (a
  Result that ended twice, or never, shows here); its ``result_q`` got it exactly once;
* a Result that ended cancelled never ran its function; ``cancel()`` or
  ``cancel_scheduled()`` answering True means no run started after the answer;
* a function ran at most once, and exactly once if its Result holds its value or its
  exception; a ``callback=`` ran exactly when its function returned;
* the outcome matches what the call was told to do (return, raise, raise in its
  callback), or is one the contract allows after a shutdown.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Boom", "CallbackBoom", "DoneCallbackBoom", "Entry", "Ledger"]


class Boom(Exception):
    """Raised on purpose by a task body."""


class CallbackBoom(Exception):
    """Raised on purpose by a ``callback=`` callback."""


class DoneCallbackBoom(Exception):
    """Raised on purpose by a done-callback (the library logs it; nothing else)."""


@dataclass
class Entry:
    """One accepted call: its key, its kind, and what it was told to do."""

    key: int
    kind: str
    result: Future[Any]
    raises: bool = False  # the body raises Boom
    callback_raises: bool = False  # its callback= raises CallbackBoom (None: no callback)
    has_callback: bool = False
    result_q: queue.SimpleQueue[Any] | None = None
    raises_after: int | None = None  # a periodic task: the run after this many raises
    runs_at_cancel: int | None = None  # runs counted when a cancel first answered True
    # Outcomes other than the ones asked for that the contract allows for this kind once
    # its reactor or pool shut down: RuntimeError for a continuation with nowhere to go.
    may_be_stranded: bool = False

    def __str__(self) -> str:
        return f"#{self.key} {self.kind} {self.result!r}"


@dataclass
class Ledger:
    """What happened in one run, written by every thread under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    runs: Counter[int] = field(default_factory=Counter)  # function runs, by key
    callbacks: Counter[int] = field(default_factory=Counter)  # callback= runs
    done_callbacks: Counter[int] = field(default_factory=Counter)
    entries: list[Entry] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)  # refused at the call site
    failures: list[str] = field(default_factory=list)  # seen by a thread as it happened

    def ran(self, key: int) -> int:
        """Count a run of ``key``'s function; the number of runs so far."""
        with self.lock:
            self.runs[key] += 1
            return self.runs[key]

    def add(self, entry: Entry) -> None:
        with self.lock:
            self.entries.append(entry)

    def fail(self, message: str) -> None:
        with self.lock:
            self.failures.append(message)

    def cancelled(self, entry: Entry, answer: bool) -> None:
        """Record a cancel's answer: True freezes the run count the entry may reach."""
        if answer:
            with self.lock:
                if entry.runs_at_cancel is None:
                    entry.runs_at_cancel = self.runs[entry.key]

    def audit(self) -> tuple[list[str], Counter[str]]:
        """Every broken guarantee (see the module docstring), and a count of outcomes."""
        problems = list(self.failures)
        outcomes: Counter[str] = Counter()
        for entry in self.entries:
            problem = self._audit_one(entry, outcomes)
            if problem:
                problems.append(f"{entry}: {problem}")
        return problems, outcomes

    def _audit_one(self, entry: Entry, outcomes: Counter[str]) -> str | None:
        result, key = entry.result, entry.key
        if not result.done():
            return "never ended"
        runs = self.runs[key]
        if self.done_callbacks[key] != 1:
            return f"done-callback ran {self.done_callbacks[key]} times"
        if entry.result_q is not None and entry.result_q.qsize() != 1:
            return f"its result_q got it {entry.result_q.qsize()} times"
        if entry.runs_at_cancel is not None and runs > entry.runs_at_cancel:
            return f"a cancel answered True after {entry.runs_at_cancel} runs, yet it ran {runs}"
        if entry.runs_at_cancel is not None and not result.cancelled():
            return "a cancel answered True, yet it did not end cancelled"
        if result.cancelled():
            outcomes["cancelled"] += 1
            if entry.raises_after is None and runs:
                return f"ended cancelled, yet ran {runs} times"
            return None
        exception = result.exception(timeout=0)
        if entry.raises_after is not None:  # periodic: ends only cancelled or failed
            outcomes["periodic failed"] += 1
            if not isinstance(exception, Boom) or runs != entry.raises_after + 1:
                return f"ended with {exception!r} after {runs} runs"
            return None
        callbacks = self.callbacks[key]
        if exception is None:
            outcomes["returned"] += 1
            if result.result(timeout=0) != key:
                return f"returned {result.result(timeout=0)!r}"
            if runs != 1 or callbacks != int(entry.has_callback):
                return f"returned after {runs} runs and {callbacks} callbacks"
        elif isinstance(exception, Boom):
            outcomes["raised"] += 1
            if not entry.raises or runs != 1 or callbacks:
                return f"raised Boom after {runs} runs and {callbacks} callbacks"
        elif isinstance(exception, CallbackBoom):
            outcomes["callback raised"] += 1
            if not entry.callback_raises or runs != 1 or callbacks != 1:
                return f"callback raised after {runs} runs and {callbacks} callbacks"
        elif isinstance(exception, RuntimeError) and entry.may_be_stranded:
            outcomes["stranded"] += 1
            if runs:
                return f"failed with {exception!r} after {runs} runs"
        else:
            return f"unexpected {exception!r}"
        return None
