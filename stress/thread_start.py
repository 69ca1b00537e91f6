"""A thread that fails to start: the object must not be left half-alive.

Each case runs in a child interpreter (the failure is injected by replacing
``threading.Thread.start`` there, and an interpreter exit that hangs must not hang this
process): the constructor of ``ThreadPool`` or ``Reactor``, ``resize_pool`` or
``Reactor.start`` meets ``RuntimeError: can't start new thread``. Whatever it raised,
the child then shuts down what it has (if anything), checks that a reactor whose
``start()`` failed is not ``is_running``, and exits; it must be gone within a time limit.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from .escapes import StressFailure

__all__ = ["CASES", "run_thread_start_failure"]

_PRELUDE = """
import threading
from asyncthreads import Reactor, ThreadPool

starts = 0
real_start = threading.Thread.start

def failing_start(self):
    global starts
    starts += 1
    if starts > FAIL_AFTER:
        raise RuntimeError("can't start new thread")
    real_start(self)

threading.Thread.start = failing_start
"""

CASES = {
    "ThreadPool(4)": "FAIL_AFTER = 2\ntry:\n    ThreadPool(4)\nexcept RuntimeError:\n    pass",
    "resize_pool": (
        "FAIL_AFTER = 10**9\npool = ThreadPool(1)\nFAIL_AFTER = starts\n"
        "try:\n    pool.resize_pool(3)\nexcept RuntimeError:\n    pass\n"
        "threading.Thread.start = real_start\npool.shutdown(wait=True)"
    ),
    "Reactor.start": (
        "FAIL_AFTER = 10**9\nreactor = Reactor()\nFAIL_AFTER = starts\n"
        "try:\n    reactor.start()\nexcept RuntimeError:\n    pass\n"
        "assert not reactor.is_running, 'a reactor whose start() failed says is_running'\n"
        "threading.Thread.start = real_start\nreactor.shutdown(wait=True)"
    ),
}


def run_thread_start_failure(case: str, timeout: float = 10) -> str:
    """Run one case of CASES in a child interpreter; :class:`StressFailure` if it hangs
    or fails."""
    script = textwrap.dedent(_PRELUDE) + "\n" + CASES[case] + "\nprint('exiting')\n"
    try:
        child = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout
        raise StressFailure(
            f"{case} with a thread that fails to start: the child did not exit within "
            f"{timeout} s (its output: {out!r})"
        ) from None
    if child.returncode != 0:
        raise StressFailure(f"{case}: the child failed ({child.returncode}):\n{child.stderr}")
    return f"{case}: exited"
