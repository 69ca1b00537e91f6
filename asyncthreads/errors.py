"""The exceptions asyncthreads raises.

``CancelledError`` is :class:`concurrent.futures.CancelledError` itself, so code written
against the standard executors catches ours unchanged; time-outs raise the builtin
:class:`TimeoutError`, as ``concurrent.futures`` does since Python 3.11.
"""

from __future__ import annotations

import queue
from concurrent.futures import CancelledError

__all__ = ["CancelledError", "DeadlockError", "QueueFull"]


class QueueFull(queue.Full):
    """A bounded ThreadPool queue is full; the task was not queued."""


class DeadlockError(RuntimeError):
    """Waiting here could never end.

    Raised instead of hanging, for example when the reactor thread waits for a Result that
    only the reactor thread itself could complete.
    """
