"""Workload 8, ``scale``: CPU-bound tasks through the Reactor on foreign executors.

Every task is about 2 ms of pure-Python work (calibrated on this machine when the
workload starts), which threads cannot run in parallel under the GIL and processes can.
Each contender's executor exists and its workers are warm before the clock starts;
each is timed from the first submit to the last result:

* the Reactor on ``ProcessPoolExecutor(2)`` (``call_in_thread``, each Result waited on),
  against ``ProcessPoolExecutor(2).submit`` directly: the Reactor's cost per task over the
  executor's own. The issue's target: at most 1.2x, so the ``vs asyncthreads`` ratio
  (executor / Reactor) at least 0.83x;
* the Reactor on the executor of a Dask ``LocalCluster(n_workers=2,
  threads_per_worker=1, processes=True)``, against that executor directly (same target),
  if dask is installed; otherwise the row is skipped with the reason printed;
* the Reactor on its own ``ThreadPool(2)``, against ``ProcessPoolExecutor(2)`` directly:
  what scaling out buys for CPU-bound work (about 2x on 2 idle cores).
"""

from __future__ import annotations

import logging
import multiprocessing
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import Any

from asyncthreads import Reactor, ThreadPool

from .config import Config, optional_module
from .harness import Group, Row, Table, Target, interleave

NAME = "scale"
WORKERS = 2
TASK_SECONDS = 0.002
# The bound on the Reactor's time per task over the executor's own, as the
# harness's ratio (executor / Reactor, higher = asyncthreads better).
MAX_OVERHEAD = 1.2


def spin(iterations: int) -> int:
    """Pure-Python work: holds the GIL throughout."""
    total = 0
    for i in range(iterations):
        total += i * i
    return total


def calibrate(seconds: float) -> int:
    """How many iterations of :func:`spin` take ``seconds`` here."""
    iterations = 10_000
    while True:
        start = time.perf_counter()
        spin(iterations)
        elapsed = time.perf_counter() - start
        if elapsed > 0.02:
            return max(1, int(iterations * seconds / elapsed))
        iterations *= 2


def through_reactor(reactor: Reactor, n: int, iterations: int) -> float:
    call = reactor.call_in_thread
    start = time.perf_counter()
    results = [call(spin, iterations) for _ in range(n)]
    for result in results:
        result.result()
    return time.perf_counter() - start


def through_executor(executor: Executor, n: int, iterations: int) -> float:
    submit = executor.submit
    start = time.perf_counter()
    futures: list[Future[int]] = [submit(spin, iterations) for _ in range(n)]
    for future in futures:
        future.result()
    return time.perf_counter() - start


def warm(executor: Executor) -> None:
    """Start every worker before the clock does."""
    for future in [executor.submit(spin, 1000) for _ in range(4 * WORKERS)]:
        future.result()


@contextmanager
def process_pool() -> Iterator[Executor]:
    # spawn: forking a process that runs threads is unsafe.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(WORKERS, mp_context=context) as executor:
        warm(executor)
        yield executor


@contextmanager
def dask_executor(distributed: Any) -> Iterator[Executor]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # start-up notes about the machine
        cluster = distributed.LocalCluster(
            n_workers=WORKERS,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = distributed.Client(cluster)
    try:
        # pure=False: otherwise Dask may run these identical calls once and share it.
        executor: Executor = client.get_executor(pure=False)
        warm(executor)
        yield executor
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client.close()
            cluster.close()


def run(config: Config) -> list[Table]:
    n = config.size(10_000, 100)
    iterations = calibrate(TASK_SECONDS)
    runs = config.runs_or(1)
    distributed = optional_module("distributed")
    notes = [
        f"each task: spin({iterations:,}), about {TASK_SECONDS * 1e3:g} ms of pure Python here",
        "timed from the first submit to the last result; the workers are warm",
        f"target: the Reactor at most {MAX_OVERHEAD}x the executor's own time per task, "
        f"so vs asyncthreads (executor / Reactor) at least {1 / MAX_OVERHEAD:.2f}x",
    ]
    groups: list[Group] = []
    target = Target(round(1 / MAX_OVERHEAD, 2))

    with process_pool() as pool, Reactor(executor=pool, name="bench-scale") as on_pool:
        own_pool = ThreadPool(WORKERS, name="bench-scale-threads")
        with Reactor(own_pool, name="bench-scale-own") as on_threads:
            contenders: list[tuple[str, Callable[[], float]]] = [
                (
                    "Reactor on ProcessPoolExecutor(2)",
                    partial(through_reactor, on_pool, n, iterations),
                ),
                ("ProcessPoolExecutor(2).submit", partial(through_executor, pool, n, iterations)),
                ("Reactor on ThreadPool(2)", partial(through_reactor, on_threads, n, iterations)),
            ]
            samples = interleave(contenders, runs)
        own_pool.shutdown()
    per_task = {label: [t / n * 1e6 for t in times] for label, times in samples.items()}
    groups.append(
        Group(
            "on a process pool: the Reactor vs the pool directly",
            "us",
            [
                Row(
                    "Reactor on ProcessPoolExecutor(2)",
                    per_task["Reactor on ProcessPoolExecutor(2)"],
                    role="asyncthreads",
                ),
                Row(
                    "ProcessPoolExecutor(2).submit",
                    per_task["ProcessPoolExecutor(2).submit"],
                    target=target,
                ),
            ],
        )
    )
    groups.append(
        Group(
            "what scaling out buys: the Reactor on threads vs a process pool",
            "us",
            [
                Row(
                    "Reactor on ThreadPool(2)",
                    per_task["Reactor on ThreadPool(2)"],
                    role="asyncthreads",
                ),
                Row("ProcessPoolExecutor(2).submit", per_task["ProcessPoolExecutor(2).submit"]),
            ],
        )
    )

    if distributed is None:
        notes.append("dask: not installed (pip install 'asyncthreads[dask]'); its rows skipped")
    else:
        with (
            dask_executor(distributed) as executor,
            Reactor(executor=executor, name="bench-dask") as on_dask,
        ):
            dask_samples = interleave(
                [
                    ("Reactor on Dask executor", partial(through_reactor, on_dask, n, iterations)),
                    ("Dask executor.submit", partial(through_executor, executor, n, iterations)),
                ],
                runs,
            )
        dask_per_task = {
            label: [t / n * 1e6 for t in times] for label, times in dask_samples.items()
        }
        groups.append(
            Group(
                "on a Dask LocalCluster (2 worker processes): the Reactor vs its executor",
                "us",
                [
                    Row(
                        "Reactor on Dask executor",
                        dask_per_task["Reactor on Dask executor"],
                        role="asyncthreads",
                    ),
                    Row(
                        "Dask executor.submit", dask_per_task["Dask executor.submit"], target=target
                    ),
                ],
            )
        )
    for group in groups:
        reactor_row, executor_row = group.rows
        if executor_row.target is not None:
            overhead = reactor_row.median / executor_row.median
            verdict = "ok" if overhead <= MAX_OVERHEAD else "MISSED"
            notes.append(
                f"{reactor_row.label} / {executor_row.label}: {overhead:.2f}x the executor's "
                f"own time per task (target <= {MAX_OVERHEAD}x) {verdict}"
            )
    return [
        Table(
            f"8. scale: {n:,} CPU-bound tasks (~2 ms each) through the Reactor on foreign "
            f"executors, {WORKERS} workers",
            groups,
            notes,
        )
    ]
