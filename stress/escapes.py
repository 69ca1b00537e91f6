"""What escaped: exceptions nobody asked for, and threads left running.

:class:`EscapeWatch` is installed around one stress run. It records

* every exception that ended a thread (``threading.excepthook``), and
* every record logged at ERROR or above on the ``asyncthreads`` logger whose exception
  is not one of the run's *expected* exceptions (a task body, ``callback=`` or
  done-callback that raises on purpose is expected: the library logs a raising
  done-callback and a periodic task that stopped, by design);

and, when it closes, the threads started during the run that are still alive.

It replaces a process-wide hook for the length of the run and restores it after, so
runs must not overlap in one process (pytest runs a module's tests one at a time; under
``pytest -n`` each worker is a process of its own).
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Iterable
from types import TracebackType

__all__ = ["EscapeWatch", "StressFailure", "stacks_of", "wait_for_threads"]


class StressFailure(AssertionError):
    """A stress run broke a guarantee; the message says which, and with what seed."""


class _ErrorLog(logging.Handler):
    def __init__(self, expected: tuple[type[BaseException], ...]) -> None:
        super().__init__(logging.ERROR)
        self.expected = expected
        self.unexpected: list[str] = []
        self.expected_count = 0

    def emit(self, record: logging.LogRecord) -> None:
        # A failed Result nobody read is reported when the garbage collector takes it:
        # perhaps during a later run in the same process. Not this run's to count (the
        # ledger reads every Result of its own).
        if getattr(record, "asyncthreads_unretrieved", False):
            return
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, self.expected):
            self.expected_count += 1
            return
        self.unexpected.append(f"{record.getMessage()} [{error!r}]")


class EscapeWatch:
    """Records escaped exceptions and leftover threads; see the module docstring."""

    def __init__(self, expected: Iterable[type[BaseException]] = ()) -> None:
        self._log = _ErrorLog(tuple(expected))
        self.thread_errors: list[str] = []
        self._before: set[threading.Thread] = set()
        self._old_hook = threading.excepthook

    def __enter__(self) -> EscapeWatch:
        self._before = set(threading.enumerate())
        self._old_hook = threading.excepthook
        threading.excepthook = self._thread_died
        logging.getLogger("asyncthreads").addHandler(self._log)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        logging.getLogger("asyncthreads").removeHandler(self._log)
        threading.excepthook = self._old_hook

    def _thread_died(self, args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread is not None else "?"
        text = "".join(
            traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback)
        )
        self.thread_errors.append(f"{name}: {text}")

    @property
    def expected_errors_logged(self) -> int:
        return self._log.expected_count

    def problems(self, thread_timeout: float = 5.0) -> list[str]:
        """What escaped so far, and the threads started since ``__enter__`` that are still
        alive ``thread_timeout`` seconds from now (they are given that long to end)."""
        found = [f"logged: {m}" for m in self._log.unexpected]
        found += [f"thread died: {m}" for m in self.thread_errors]
        left = wait_for_threads(self._before, thread_timeout)
        if left:
            found.append(f"threads left: {sorted(t.name for t in left)}\n{stacks_of(left)}")
        return found


def wait_for_threads(before: set[threading.Thread], timeout: float) -> list[threading.Thread]:
    """The threads not in ``before`` still alive after waiting up to ``timeout`` seconds
    in all for them to end."""
    import time

    deadline = time.monotonic() + timeout
    left = [t for t in threading.enumerate() if t not in before]
    for thread in left:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [t for t in left if t.is_alive()]


def stacks_of(threads: Iterable[threading.Thread]) -> str:
    """The current stack of each thread, for a report of where they are stuck."""
    frames = sys._current_frames()
    parts = []
    for thread in threads:
        frame = frames.get(thread.ident or -1)
        stack = "".join(traceback.format_stack(frame)[-6:]) if frame else "  (no frame)\n"
        parts.append(f"--- {thread.name}\n{stack}")
    return "".join(parts)
