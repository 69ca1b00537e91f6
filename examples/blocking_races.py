"""Two races in pool tasks built on the standard library's ``threading`` and ``queue``,
each beside its fix.

Each is a **read-then-store** race: a task reads shared state, passes a synchronization
point (a lock release, a queue operation), and stores a value computed from what it
read. Under the simulation's default FIFO order (and in most runs on real threads) no
other task runs at that point and the code is right; when another task runs there, one
update is lost. ``property_tests/test_planted_races.py`` shows seeded exploration,
hypothesis and exhaustive search finding, shrinking and replaying both, inside
``sim.patched()`` (where the locks and queues are the simulated ones), and the fixed
versions surviving the same search.

1. :class:`StockCounter` reads the count under its lock, releases it, and takes it again
   to store ``count + n``. :class:`FixedStockCounter` reads and stores under one hold.
2. :class:`JobTotals` reads a customer's running total, then takes the next job from a
   ``queue.Queue``, then stores ``total + job``. :class:`FixedJobTotals` takes the job
   first and reads and stores with nothing between.

The code uses the standard library only; nothing in it knows about tests.
"""

from __future__ import annotations

import queue
import threading

__all__ = ["FixedJobTotals", "FixedStockCounter", "JobTotals", "StockCounter"]


# -- 1. a lock released between the read and the store ------------------------------------


class StockCounter:
    """Items in stock, added to by several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def add(self, n: int) -> None:
        with self._lock:
            current = self.count
        # BUG: another thread may add between the two holds; its update is lost.
        with self._lock:
            self.count = current + n


class FixedStockCounter(StockCounter):
    def add(self, n: int) -> None:
        with self._lock:
            self.count += n


# -- 2. a queue operation between the read and the store ----------------------------------


class JobTotals:
    """Per-customer totals of job sizes, kept by workers that take jobs from a queue."""

    def __init__(self, jobs: queue.Queue[int]) -> None:
        self.jobs = jobs
        self.totals: dict[str, int] = {}

    def take_one(self, customer: str) -> None:
        total = self.totals.get(customer, 0)
        # BUG: get() is a blocking call; another worker may store meanwhile.
        size = self.jobs.get()
        self.totals[customer] = total + size
        self.jobs.task_done()


class FixedJobTotals(JobTotals):
    def take_one(self, customer: str) -> None:
        size = self.jobs.get()
        self.totals[customer] = self.totals.get(customer, 0) + size
        self.jobs.task_done()
