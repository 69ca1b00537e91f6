"""Checks on callers' arguments, so that bad input fails at the call site.

Every check raises before anything is queued, with a message that names the argument,
what it must be, and what it got.
"""

from __future__ import annotations

import decimal
import math
import numbers
from typing import Any, cast

__all__ = [
    "check_callable",
    "check_clock",
    "check_count",
    "check_deadline",
    "check_delay",
    "check_interval",
    "check_optional_callable",
    "check_result_q",
    "check_scheduler",
    "check_timeout",
]


# Ints below this convert to float exactly; larger ones take the careful path.
_EXACT_INT_LIMIT = 2**53


def _describe(value: object) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def check_callable(value: object, name: str) -> None:
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {_describe(value)}")


def check_optional_callable(value: object, name: str) -> None:
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be callable or None, got {_describe(value)}")


def check_result_q(value: object) -> None:
    if value is not None and not callable(getattr(value, "put", None)):
        raise TypeError(f"result_q must have a put() method (a queue), got {_describe(value)}")


def _real(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, decimal.Decimal)):
        raise TypeError(f"{name} must be a number of seconds, got {_describe(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"{name} must be finite, got {_describe(value)}") from None
    if math.isnan(number) or math.isinf(number):
        raise ValueError(f"{name} must be finite, got {number}")
    return number


def check_delay(value: object, name: str = "delay") -> float:
    """A finite, non-negative number of seconds, as a float."""
    # The common cases first, without the numbers.Real check (an ABC isinstance is slow).
    if type(value) is float:
        if 0.0 <= value < math.inf:  # False for NaN too
            return value
    elif type(value) is int and 0 <= value < _EXACT_INT_LIMIT:
        return float(value)
    number = _real(value, name)
    if number < 0:
        raise ValueError(f"{name} must not be negative, got {number}")
    return number


def check_interval(value: object) -> float:
    """A finite, positive number of seconds, as a float."""
    number = _real(value, "interval")
    if number <= 0:
        raise ValueError(f"interval must be positive, got {number}")
    return number


def check_deadline(value: object) -> float:
    """A finite clock time, as a float (in the past is allowed: it runs at once)."""
    return _real(value, "when")


def check_count(value: Any, name: str) -> int:
    """A non-negative int (bool is refused)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {_describe(value)}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


def check_timeout(value: object) -> float:
    """A timeout for a wait: a number of seconds, not NaN (negative means "do not wait",
    infinite means no limit, as for ``threading``'s waits), as a float."""
    if type(value) is float:
        if value == value:  # False only for NaN
            return value
    elif type(value) is int and -_EXACT_INT_LIMIT < value < _EXACT_INT_LIMIT:
        return float(value)
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, decimal.Decimal)):
        raise TypeError(f"timeout must be a number of seconds or None, got {_describe(value)}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf if cast(float, value) > 0 else -math.inf
    if math.isnan(number):
        raise ValueError("timeout must be a number of seconds or None, got nan")
    return number


# What a Scheduler must have (see asyncthreads.scheduler): its methods, and a lock.
_SCHEDULER_METHODS = ("start", "wait", "current_actor", "at_exit", "condition")


def check_scheduler(value: object) -> None:
    """None (the production scheduler), or an object with the Scheduler members."""
    if value is None:
        return
    missing = [name for name in _SCHEDULER_METHODS if not callable(getattr(value, name, None))]
    lock = getattr(value, "lock", None)
    if not (callable(getattr(lock, "acquire", None)) and callable(getattr(lock, "release", None))):
        missing.append("lock")
    if missing:
        raise TypeError(
            "scheduler must implement asyncthreads.Scheduler, but "
            f"{_describe(value)} has no {', '.join(missing)}"
        )


def check_clock(clock: object, scheduler: object) -> None:
    """None (the system clock), or an object with a callable ``now()`` that suits
    ``scheduler``: a clock that moves only when told (``clock.manual`` true, as a
    simulation's) never fires a timer under the production scheduler, which waits in
    real time, so that pair is refused."""
    if clock is None:
        return
    if not callable(getattr(clock, "now", None)):
        raise TypeError(f"clock must have a now() method (a Clock), got {_describe(clock)}")
    if getattr(clock, "manual", False):
        # Imported here: thread_scheduler imports this module (through result).
        from .thread_scheduler import ThreadScheduler

        if scheduler is None or isinstance(scheduler, ThreadScheduler):
            raise ValueError(
                f"clock {clock!r} moves only when told, but the scheduler is a "
                "ThreadScheduler, which waits in real time: no timer would ever fire. "
                "Pass the simulation's scheduler with its clock "
                "(clock=sim.clock, scheduler=sim.scheduler)"
            )
