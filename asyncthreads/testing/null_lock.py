"""The lock and condition of a single-threaded world: a simulation's.

:class:`NullLock` is the scheduler lock of a StepScheduler (one OS thread: acquiring
always succeeds at once); :class:`ResultCondition` is a simulated Result's condition,
which wakes the simulated threads waiting for the Result when it ends.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .sim_thread import SimThread, TestThread
    from .step_scheduler import StepScheduler

__all__ = ["NullLock", "ResultCondition"]


class NullLock:
    """The lock of a single-threaded world: acquiring always succeeds at once.

    ``with lock:`` is the production code's hottest statement, and every periodic firing
    in a simulation passes through several. A ``with`` calls ``__enter__`` and
    ``__exit__``; as Python methods they cost about 50 ns more per block than as C
    functions, so both are one C function, ``"".format``, which ignores its arguments
    (however it is called: by ``with``, or as ``type(lock).__enter__(lock)`` by
    ``contextlib.ExitStack``) and returns ``""``. That is false, so an exception raised in
    the block propagates; ``with lock as x`` binds ``""`` where a real lock binds True.
    """

    __slots__ = ()

    if TYPE_CHECKING:

        def __enter__(self) -> str: ...

        def __exit__(
            self,
            exc_type: type[BaseException] | None,
            exc: BaseException | None,
            tb: TracebackType | None,
        ) -> None: ...

    else:
        # staticmethod: the C function is called without the lock as its first argument.
        __enter__ = __exit__ = staticmethod("".format)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return True

    def release(self) -> None:
        pass


class ResultCondition(NullLock):
    """A simulated Result's condition: it wakes the simulated threads waiting for the
    Result when it ends. A raw blocking wait on it (``concurrent.futures.wait`` on a
    pending Result, outside ``sim.patched()``) cannot work, and says so."""

    __slots__ = ("_scheduler", "waiting")

    def __init__(self, scheduler: StepScheduler) -> None:
        self._scheduler = scheduler
        self.waiting: list[SimThread | TestThread] = []

    def wait(self, timeout: float | None = None) -> bool:
        raise RuntimeError(
            "a simulated Result cannot be waited on by blocking (for instance with "
            "concurrent.futures.wait); use result.wait(), result.result() or sim.run_until()"
        )

    def wait_for(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:
        if predicate():
            return True
        return self.wait(timeout)

    def notify_all(self) -> None:
        for thread in self.waiting:
            self._scheduler.wake(thread)
