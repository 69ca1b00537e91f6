"""Two worlds for the semantic tests of the simulated primitives: real threads with the
standard library's classes, and a simulation with asyncthreads.testing's.

A test written against a world runs unchanged in both, so the simulated primitives are
checked against the standard library: ``world.Lock()`` and friends make a primitive,
``world.start(fn)`` runs ``fn`` on another thread, ``world.join(handle)`` waits for it
and returns its value (or raises its exception).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from asyncthreads.testing import Simulation
from asyncthreads.testing.sim_locks import SimCondition, SimLock, SimRLock
from asyncthreads.testing.sim_queues import SimLifoQueue, SimPriorityQueue, SimQueue, SimSimpleQueue
from asyncthreads.testing.sim_sync import SimBarrier, SimBoundedSemaphore, SimEvent, SimSemaphore

# Real-thread waits that must time out wait this long; in the simulation the same wait
# takes no real time.
SHORT = 0.05
# How long a real-thread test waits for something that must happen.
LONG = 10.0


class ThreadWorld:
    """The standard library on real threads."""

    simulated = False

    def Lock(self) -> Any:
        return threading.Lock()

    def RLock(self) -> Any:
        return threading.RLock()

    def Condition(self, lock: Any = None) -> Any:
        return threading.Condition(lock)

    def Event(self) -> Any:
        return threading.Event()

    def Semaphore(self, value: int = 1) -> Any:
        return threading.Semaphore(value)

    def BoundedSemaphore(self, value: int = 1) -> Any:
        return threading.BoundedSemaphore(value)

    def Barrier(self, parties: int, action: Any = None, timeout: float | None = None) -> Any:
        return threading.Barrier(parties, action, timeout)

    def Queue(self, maxsize: int = 0) -> Any:
        return queue.Queue(maxsize)

    def LifoQueue(self, maxsize: int = 0) -> Any:
        return queue.LifoQueue(maxsize)

    def PriorityQueue(self, maxsize: int = 0) -> Any:
        return queue.PriorityQueue(maxsize)

    def SimpleQueue(self) -> Any:
        return queue.SimpleQueue()

    def start(self, fn: Callable[[], Any]) -> Future[Any]:
        done: Future[Any] = Future()

        def run() -> None:
            try:
                done.set_result(fn())
            except BaseException as error:
                done.set_exception(error)

        threading.Thread(target=run, daemon=True).start()
        return done

    def join(self, handle: Future[Any], timeout: float = LONG) -> Any:
        return handle.result(timeout)


class SimWorld:
    """The simulated primitives on simulated threads: the workers of a pool."""

    simulated = True

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.scheduler = sim.scheduler
        self.pool = sim.thread_pool(4)

    def now(self) -> float:
        return self.sim.now

    def Lock(self) -> Any:
        return SimLock(self.scheduler)

    def RLock(self) -> Any:
        return SimRLock(self.scheduler)

    def Condition(self, lock: Any = None) -> Any:
        return SimCondition(self.scheduler, lock)

    def Event(self) -> Any:
        return SimEvent(self.scheduler)

    def Semaphore(self, value: int = 1) -> Any:
        return SimSemaphore(self.scheduler, value)

    def BoundedSemaphore(self, value: int = 1) -> Any:
        return SimBoundedSemaphore(self.scheduler, value)

    def Barrier(self, parties: int, action: Any = None, timeout: float | None = None) -> Any:
        return SimBarrier(self.scheduler, parties, action, timeout)

    def Queue(self, maxsize: int = 0) -> Any:
        return SimQueue(self.scheduler, maxsize)

    def LifoQueue(self, maxsize: int = 0) -> Any:
        return SimLifoQueue(self.scheduler, maxsize)

    def PriorityQueue(self, maxsize: int = 0) -> Any:
        return SimPriorityQueue(self.scheduler, maxsize)

    def SimpleQueue(self) -> Any:
        return SimSimpleQueue(self.scheduler)

    def start(self, fn: Callable[[], Any]) -> Any:
        return self.pool.submit(fn)

    def join(self, handle: Any, timeout: float = LONG) -> Any:
        return handle.result(timeout)


World = ThreadWorld | SimWorld
