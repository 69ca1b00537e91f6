"""Interrupts at every statement boundary of the hot paths: see :mod:`stress.interrupts`."""

from __future__ import annotations

from typing import Any

import pytest

from .interrupts import EXCEPTIONS, OPERATIONS, run_interrupt_sweep

# Which operations an interrupt still breaks, by issue 11's item (see stress/__init__.py).
AWAITING_FIX = {
    "call": "issue 11 item 4: a lost wake-up",
    "call_later": "issue 11 item 4: a lost wake-up",
    "call_in_thread": "issue 11 item 4: a lost wake-up",
    "call_in_thread_later": "issue 11 item 4: a lost wake-up",
    "call_every": "issue 11 item 4: a lost wake-up",
    "submit": "issue 11 item 4: a lost wake-up",
    "queue_task bounded": "issue 11 item 4: a lost wake-up",
    "cancel call": "issue 11 item 4: cancelled, yet waiters and done-callbacks never told",
    "cancel timer": "issue 11 item 4: cancelled, yet waiters and done-callbacks never told",
    "cancel periodic": "issue 11 item 4: cancelled, yet waiters and done-callbacks never told",
    "cancel pool task": "issue 11 item 4: cancelled, yet waiters and done-callbacks never told",
    "cancel bounded task": "issue 11 item 4: cancelled, yet waiters and done-callbacks never told",
    "cancel_scheduled call": "issue 11 item 4: cancelled, yet waiters never told",
    "cancel_scheduled timer": "issue 11 item 4: cancelled, yet waiters never told",
    "cancel_scheduled thread timer": "issue 11 item 4: cancelled, yet waiters never told",
    "cancel_scheduled periodic": "issue 11 item 4: cancelled, yet waiters never told",
    "reactor.shutdown(wait=False)": "issue 11 items 4, 7: drained timers left pending",
    "reactor.shutdown(wait=False, cancel_futures=True)": "issue 11 items 4, 7",
    "reactor.shutdown(wait=True)": "issue 11 items 4, 7",
    "pool.shutdown(wait=False, cancel_futures=True)": "issue 11 items 4, 7: shutdown hangs",
    "bounded.shutdown(wait=False, cancel_futures=True)": "issue 11 items 4, 7",
    "pool.shutdown(wait=True)": "issue 11 items 4, 7",
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
