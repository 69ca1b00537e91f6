"""asyncthreads: a Reactor and a ThreadPool for threaded event processing, built to be
tested deterministically.

* :class:`ThreadPool`: a resizable pool of reusable worker threads with an optional
  bounded queue; a ``concurrent.futures.Executor``.
* :class:`Reactor`: one serial event thread with calls, timers, periodic tasks, a pool
  for concurrent work, and deferral from the serial thread to the pool and back.
* :class:`Result`: what every call returns; a ``concurrent.futures.Future``.

Both take ``clock=`` and ``scheduler=``; the defaults run on real time and OS threads.
``asyncthreads.testing`` supplies a virtual clock and a step scheduler that drive the
same classes without threads.
"""

from .clock import Clock, SystemClock
from .deferral import Deferral, defer, defer_to_thread
from .errors import CancelledError, DeadlockError, QueueFull
from .reactor import Reactor
from .result import Result
from .scheduler import STOP, Actor, ActorHandle, Scheduler, Work
from .thread_pool import ThreadPool
from .thread_scheduler import ThreadScheduler

__all__ = [
    "STOP",
    "Actor",
    "ActorHandle",
    "CancelledError",
    "Clock",
    "DeadlockError",
    "Deferral",
    "QueueFull",
    "Reactor",
    "Result",
    "Scheduler",
    "SystemClock",
    "ThreadPool",
    "ThreadScheduler",
    "Work",
    "defer",
    "defer_to_thread",
]

__version__ = "0.1.0"
