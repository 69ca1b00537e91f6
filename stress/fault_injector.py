"""A ``sys.settrace`` fault injector: an exception at the N-th statement of a library call.

:class:`FaultInjector` traces the calling thread only. It counts the *line* events of
frames whose code is in the library (``asyncthreads/``, not ``asyncthreads/testing/``),
that is every statement boundary the library's code passes, in its own functions and in
the ones they call, and at the ``at``-th it raises ``exception`` there, as a signal
handler's ``KeyboardInterrupt`` would at that point. (CPython unsets a trace function
that raises, so one injection ends the tracing.) With ``at=None`` it only counts, so a
sweep learns how many boundaries a call passes, then injects at each.

It also collects every Future it sees in the library frames' local variables, at each
boundary: the Results a call made before it was interrupted, which the caller never
got, but which must still end.
"""

from __future__ import annotations

import linecache
import os
import sys
from collections.abc import Callable
from concurrent.futures import Future
from types import FrameType, TracebackType
from typing import Any

import asyncthreads

__all__ = ["FaultInjector", "InjectedFault"]

_LIBRARY = os.path.dirname(asyncthreads.__file__) + os.sep
_TESTING = os.path.join(_LIBRARY, "testing") + os.sep


class InjectedFault(BaseException):
    """Injected, like ``KeyboardInterrupt``: a BaseException that is neither that nor
    ``SystemExit`` (so it tests ``except BaseException``, not ``except Exception``)."""


def _is_library(filename: str) -> bool:
    return filename.startswith(_LIBRARY) and not filename.startswith(_TESTING)


class FaultInjector:
    """Raise ``exception`` at the ``at``-th library statement run in this thread, while
    installed (``with injector:``). See the module docstring."""

    def __init__(self, at: int | None, exception: type[BaseException]) -> None:
        self.at = at
        self.exception = exception
        self.lines = 0  # library statements seen
        self.fired_at: str | None = None  # where it raised: "file:line in function"
        self.seen: dict[int, Future[Any]] = {}  # Futures in library frames, by id
        self._with_lines: dict[tuple[int, int], int] = {}  # see _leaves_a_with_block

    def __enter__(self) -> FaultInjector:
        sys.settrace(self._on_call)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        sys.settrace(None)

    def _on_call(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        if event == "call" and _is_library(frame.f_code.co_filename):
            return self._on_line
        return None

    def _leaves_a_with_block(self, frame: FrameType) -> bool:
        """A with statement's line is reported on entering its block and again on leaving
        it, before ``__exit__`` is called and outside the block's cleanup: raising there
        would leak the lock, which no signal can do (CPython runs signal handlers only
        once the ``__exit__`` call has returned). Every second report is a leaving."""
        line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).lstrip()
        if not line.startswith("with "):
            return False
        key = (id(frame), frame.f_lineno)
        count = self._with_lines[key] = self._with_lines.get(key, 0) + 1
        return count % 2 == 0

    def _on_line(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        if event != "line" or self._leaves_a_with_block(frame):
            return self._on_line
        self.lines += 1
        for value in frame.f_locals.values():
            if isinstance(value, Future):
                self.seen[id(value)] = value
        if self.lines == self.at:
            code = frame.f_code
            where = f"{os.path.basename(code.co_filename)}:{frame.f_lineno} in {code.co_name}"
            self.fired_at = where
            raise self.exception(f"injected at statement {self.at}: {where}")
        return self._on_line
