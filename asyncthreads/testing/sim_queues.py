"""Simulated ``queue.Queue``, ``LifoQueue``, ``PriorityQueue`` and ``SimpleQueue``.

Each *is* its standard library class (``isinstance`` holds) with that class's semantics
(``maxsize``, ``Full`` and ``Empty``, ``task_done``/``join``, LIFO and priority order,
``ValueError`` for a negative timeout or too many ``task_done`` calls), on simulated
locks and conditions: a blocking ``put``/``get``/``join`` suspends only the calling
simulated thread, timeouts are in virtual seconds, and every put and get is a schedule
point (its lock's acquire and release).
"""

from __future__ import annotations

import queue
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .sim_blocking import deadline_after, label
from .sim_locks import SimCondition, SimLock

if TYPE_CHECKING:
    from .step_scheduler import StepScheduler

__all__ = ["SimLifoQueue", "SimPriorityQueue", "SimQueue", "SimSimpleQueue"]

T = TypeVar("T")


class SimQueue(queue.Queue[T]):
    """A simulated ``queue.Queue``."""

    def __init__(self, scheduler: StepScheduler, maxsize: int = 0) -> None:
        # queue.Queue.__init__ is not called: it would make real locks.
        self._scheduler = scheduler
        self.maxsize = maxsize
        self._init(maxsize)
        name = label(scheduler, type(self).__name__[3:])
        self.mutex = SimLock(scheduler, name=name)  # type: ignore[assignment]
        self._not_empty = SimCondition(scheduler, self.mutex, name=name)
        self._not_full = SimCondition(scheduler, self.mutex, name=name)
        self.not_empty = self._not_empty  # type: ignore[assignment]
        self.not_full = self._not_full  # type: ignore[assignment]
        self.all_tasks_done = SimCondition(scheduler, self.mutex, name=name)  # type: ignore[assignment]
        self.unfinished_tasks = 0

    # put and get are queue.Queue's, with the deadline on the virtual clock.

    def put(self, item: T, block: bool = True, timeout: float | None = None) -> None:
        """As ``queue.Queue.put``, with ``timeout`` in virtual seconds."""
        with self.not_full:
            if self.maxsize > 0:
                if not block:
                    if self._qsize() >= self.maxsize:
                        raise queue.Full
                else:
                    self._wait_until(self._not_full, self._has_room, timeout, queue.Full)
            self._put(item)
            self.unfinished_tasks += 1
            self.not_empty.notify()

    def get(self, block: bool = True, timeout: float | None = None) -> T:
        """As ``queue.Queue.get``, with ``timeout`` in virtual seconds."""
        with self.not_empty:
            if not block:
                if not self._qsize():
                    raise queue.Empty
            else:
                self._wait_until(self._not_empty, self._qsize, timeout, queue.Empty)
            item = self._get()
            self.not_full.notify()
            return item

    def _has_room(self) -> bool:
        return self._qsize() < self.maxsize

    def _wait_until(
        self,
        condition: SimCondition,
        ready: Callable[[], object],
        timeout: float | None,
        error: type[Exception],
    ) -> None:
        if timeout is not None and timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        clock = self._scheduler.clock
        deadline = deadline_after(clock, timeout)
        while not ready():
            if deadline is None:
                condition.wait()
            else:
                remaining = deadline - clock.now()
                if remaining <= 0.0:
                    raise error
                condition.wait(remaining)


class SimLifoQueue(SimQueue[T], queue.LifoQueue[T]):
    """A simulated ``queue.LifoQueue``."""


class SimPriorityQueue(SimQueue[Any], queue.PriorityQueue[Any]):
    """A simulated ``queue.PriorityQueue``."""


class SimSimpleQueue(queue.SimpleQueue[T]):
    """A simulated ``queue.SimpleQueue``: unbounded, no task tracking."""

    def __new__(cls, scheduler: StepScheduler) -> SimSimpleQueue[T]:
        return super().__new__(cls)

    def __init__(self, scheduler: StepScheduler) -> None:
        self._scheduler = scheduler
        self._items: deque[T] = deque()
        name = label(scheduler, "SimpleQueue")
        self._lock = SimLock(scheduler, name=name)
        self._not_empty = SimCondition(scheduler, self._lock, name=name)

    def put(self, item: T, block: bool = True, timeout: float | None = None) -> None:
        """Put ``item``; never blocks (``block`` and ``timeout`` are ignored)."""
        with self._lock:
            self._items.append(item)
            self._not_empty.notify()

    def put_nowait(self, item: T) -> None:
        self.put(item)

    def get(self, block: bool = True, timeout: float | None = None) -> T:
        """As ``queue.SimpleQueue.get``, with ``timeout`` in virtual seconds."""
        if timeout is not None and timeout < 0 and block:
            raise ValueError("'timeout' must be a non-negative number")
        clock = self._scheduler.clock
        deadline = deadline_after(clock, timeout)
        with self._lock:
            while not self._items:
                if not block:
                    raise queue.Empty
                if deadline is None:
                    self._not_empty.wait()
                else:
                    remaining = deadline - clock.now()
                    if remaining <= 0.0:
                        raise queue.Empty
                    self._not_empty.wait(remaining)
            return self._items.popleft()

    def get_nowait(self) -> T:
        return self.get(False)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)
