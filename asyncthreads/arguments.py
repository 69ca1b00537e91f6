"""Checks on callers' arguments, so that bad input fails at the call site.

Every check raises before anything is queued, with a message that names the argument,
what it must be, and what it got.
"""

from __future__ import annotations

import decimal
import math
import numbers
from typing import Any

__all__ = [
    "check_callable",
    "check_count",
    "check_deadline",
    "check_delay",
    "check_interval",
    "check_optional_callable",
    "check_result_q",
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
