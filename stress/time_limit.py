"""Calls that might hang, run with a time limit so that a deadlock is a failure.

A call that does not return in time is left running on its daemon thread (nothing can
stop a thread blocked on a lock); the run that made it fails, naming where it is stuck.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .escapes import StressFailure, stacks_of

__all__ = ["finishes", "join_all"]


def finishes(call: Callable[[], Any], timeout: float, what: str) -> Any:
    """``call()``'s value, or what it raised; :class:`StressFailure` if it has not
    returned within ``timeout`` seconds (it hangs on, on a daemon thread)."""
    outcome: list[Any] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target, name=f"time-limited {what}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise StressFailure(f"{what} did not return in {timeout} s:\n{stacks_of([thread])}")
    if failure:
        raise failure[0]
    return outcome[0]


def join_all(threads: list[threading.Thread], timeout: float, what: str) -> None:
    """Join each thread; :class:`StressFailure` naming those still alive after ``timeout``
    seconds in all, with their stacks."""
    import time

    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [t for t in threads if t.is_alive()]
    if stuck:
        everyone = [t for t in threading.enumerate() if t is not threading.current_thread()]
        raise StressFailure(
            f"{what}: {[t.name for t in stuck]} still running after {timeout} s "
            f"(a deadlock?); every thread:\n{stacks_of(everyone)}"
        )
