"""Interrupts at every statement boundary of the hot paths: see :mod:`stress.interrupts`."""

from __future__ import annotations

from typing import Any

import pytest

from .interrupts import EXCEPTIONS, OPERATIONS, run_interrupt_sweep

# Which operations an interrupt still breaks, by issue 11's item (see stress/__init__.py).
# Left to the long run, not yet passing: an interrupt injected at the first line of the
# finally block in Result.cancel that tells waiters and done-callbacks of a cancellation
# skips that telling. The injector raises at every line event; a real signal handler
# runs only on entering a function, after a call returns or at a loop's back edge, so
# whether a signal can land there (entering _tell_cancelled) is the open question.
_TOLD_IN_FINALLY = "issue 11 item 4: an interrupt in the finally that tells of a cancel"
AWAITING_FIX = {
    "cancel call": _TOLD_IN_FINALLY,
    "cancel timer": _TOLD_IN_FINALLY,
    "cancel periodic": _TOLD_IN_FINALLY,
    "cancel pool task": _TOLD_IN_FINALLY,
    "cancel bounded task": _TOLD_IN_FINALLY,
    "cancel_scheduled call": _TOLD_IN_FINALLY,
    "cancel_scheduled timer": _TOLD_IN_FINALLY,
    "cancel_scheduled thread timer": _TOLD_IN_FINALLY,
    "cancel_scheduled periodic": _TOLD_IN_FINALLY,
    "reactor.shutdown(wait=False)": _TOLD_IN_FINALLY,
    "reactor.shutdown(wait=False, cancel_futures=True)": _TOLD_IN_FINALLY,
    "pool.shutdown(wait=False, cancel_futures=True)": _TOLD_IN_FINALLY,
    "bounded.shutdown(wait=False, cancel_futures=True)": _TOLD_IN_FINALLY,
}


def _cases() -> list[Any]:
    cases = []
    for operation in OPERATIONS:
        for exception in EXCEPTIONS:
            marks = []
            if operation in AWAITING_FIX:
                marks.append(pytest.mark.awaiting_fix(AWAITING_FIX[operation]))
            cases.append(pytest.param(operation, exception, marks=marks))
    return cases


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("operation", "exception"), _cases())
def test_an_interrupt_at_any_statement_loses_no_wakeup_no_result_and_no_thread(
    operation: str, exception: str
) -> None:
    print(run_interrupt_sweep(operation, exception))
