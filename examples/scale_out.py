"""Scaling out: one Reactor program, its heavy work on a process pool or a Dask cluster.

::

    python examples/scale_out.py                        # a local process pool, then a
                                                        # local Dask cluster if installed
    python examples/scale_out.py --dask tcp://10.0.0.5:8786   # a running Dask scheduler

:class:`PrimeCensus` keeps its state on the reactor thread and sends the CPU-bound part
(counting primes in pure Python, which threads cannot speed up under the GIL) to
whatever executor its Reactor was given; it does not know which. The same class runs
unchanged on a plain ``Reactor()``, on ``Reactor(executor=ProcessPoolExecutor(...))``,
on a Dask cluster's ``client.get_executor(pure=False)`` (``pure=False``, or Dask may
give identical calls one shared result), and in a test on the simulation
(``sim.reactor(threads=2)`` stands in for any executor): see
``tests/test_example_scale_out.py``.

What crosses to the executor is ``count_primes`` and its argument, pickled: a function
defined at module level and plain data. The callback stays here. Context variables and
``defer()`` do not cross processes.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import multiprocessing
import sys
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from asyncthreads import Reactor, Result

__all__ = ["PrimeCensus", "count_primes", "main"]


def count_primes(limit: int) -> int:
    """The heavy part: primes below ``limit``, by trial division (pure Python on purpose)."""
    count = 0
    for n in range(2, limit):
        d = 2
        while d * d <= n:
            if n % d == 0:
                break
            d += 1
        else:
            count += 1
    return count


class PrimeCensus:
    """Counts of primes below each limit, kept on the reactor thread."""

    def __init__(self, reactor: Reactor) -> None:
        self.reactor = reactor
        self.counts: dict[int, int] = {}  # touched only on the reactor thread

    def count(self, limit: int) -> Result[int]:
        """Count in the executor; record the count on the reactor thread."""
        return self.reactor.call_in_thread(count_primes, limit, callback=self._counted(limit))

    def _counted(self, limit: int) -> Any:
        # A callback runs on the reactor thread with a foreign executor, but in the pool
        # thread with a ThreadPool: hopping with reactor.call keeps the state on the
        # reactor thread either way.
        return lambda count: self.reactor.call(self.counts.__setitem__, limit, count)

    def snapshot(self) -> Result[dict[int, int]]:
        """A copy of the counts, taken on the reactor thread."""
        return self.reactor.call(dict, self.counts)


def census(reactor: Reactor, limits: Sequence[int]) -> dict[int, int]:
    """Count primes below each limit, concurrently on the reactor's executor."""
    census = PrimeCensus(reactor)
    for result in [census.count(limit) for limit in limits]:
        result.result(timeout=300)
    return census.snapshot().result(timeout=300)


def run_on(executor: Executor, label: str, limits: Sequence[int]) -> dict[int, int]:
    started = time.perf_counter()
    with Reactor(executor=executor, name="census") as reactor:
        counts = census(reactor, limits)
    in_order = dict(sorted(counts.items()))  # counts arrive in whichever order they finish
    print(f"{label}: {in_order} in {time.perf_counter() - started:.2f}s")
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dask", metavar="ADDRESS", help="a Dask scheduler to use")
    parser.add_argument("--limits", type=int, nargs="+", default=[20_000, 30_000, 40_000])
    args = parser.parse_args(argv)
    limits: list[int] = args.limits

    if args.dask is None:
        # spawn, not fork: forking a process that already runs threads is unsafe.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(2, mp_context=context) as pool:
            run_on(pool, "process pool", limits)

    try:
        # Imported by name: dask is an optional extra, and mypy checks this file without it.
        distributed: Any = importlib.import_module("distributed")
    except ImportError:
        print("dask: not installed (pip install 'asyncthreads[dask]'); skipped")
        return 0 if args.dask is None else 1
    if args.dask is not None:
        with distributed.Client(args.dask) as client:
            run_on(client.get_executor(pure=False), f"dask at {args.dask}", limits)
    else:
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,  # its start-up and shutdown chatter
        )
        with cluster, distributed.Client(cluster) as client:
            run_on(client.get_executor(pure=False), "dask local cluster", limits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
