"""Shutdowns that race busy workers, and done-callbacks that raise a BaseException.

* :func:`run_busy_shutdown`: a pool (or a reactor's own pool) with a long queue and
  busy workers is shut down with ``cancel_futures=True``. The shutdown must not raise,
  and once it has returned (``wait=True``) every Result has ended: it ran, or it was
  cancelled and never ran.
* :func:`run_raising_done_callbacks`: Results whose done-callbacks raise
  ``KeyboardInterrupt`` or ``SystemExit`` (the first added of two), ended every way: by
  running in a worker, by ``cancel()`` in the caller, by a reactor shutdown that cancels
  timers and queued calls. Whatever the raising callback does to the thread it runs in,
  every Result ends, the *other* done-callback of each Result still runs, and a second
  ``shutdown(wait=True)`` returns within a time limit.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from concurrent.futures import Future
from contextlib import suppress
from functools import partial
from typing import Any

from asyncthreads import Reactor, ThreadPool

from .escapes import EscapeWatch, StressFailure
from .time_limit import finishes

__all__ = ["run_busy_shutdown", "run_raising_done_callbacks"]


def run_busy_shutdown(seed: int, tasks: int = 50_000, reactor: bool = False) -> str:
    """Shut a busy pool down with ``cancel_futures=True``; see the module docstring."""
    ran: Counter[int] = Counter()

    def body(key: int) -> None:
        ran[key] += 1

    problems: list[str] = []
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # so the workers pop while the shutdown drains
    try:
        with EscapeWatch() as watch:
            _busy_shutdown(seed, tasks, reactor, body, ran, problems, watch)
    finally:
        sys.setswitchinterval(old_interval)
    if problems:
        raise StressFailure(f"busy shutdown seed {seed} reactor={reactor}: " + "; ".join(problems))
    return f"busy shutdown of {tasks} tasks"


def _busy_shutdown(
    seed: int,
    tasks: int,
    reactor: bool,
    body: Any,
    ran: Counter[int],
    problems: list[str],
    watch: EscapeWatch,
) -> None:
    if True:
        owner: Any
        if reactor:
            owner = Reactor(name=f"busy{seed}-reactor")
            owner.start()
            queue = owner.call_in_thread
        else:
            owner = ThreadPool(4, name=f"busy{seed}-pool")
            queue = owner.submit
        results = [queue(body, key) for key in range(tasks)]
        try:
            finishes(lambda: owner.shutdown(wait=True, cancel_futures=True), 20, "shutdown(cancel)")
        except StressFailure:
            raise
        except BaseException as exc:
            problems.append(f"shutdown(wait=True, cancel_futures=True) raised {exc!r}")
            finishes(lambda: owner.shutdown(wait=True), 20, "a second shutdown")
        pending = [r for r in results if not r.done()]
        if pending:
            problems.append(f"{len(pending)} of {tasks} Results left pending, e.g. {pending[0]!r}")
        ran_cancelled = [k for k, r in enumerate(results) if r.cancelled() and ran[k]]
        if ran_cancelled:
            problems.append(f"{len(ran_cancelled)} cancelled tasks ran")
        problems += watch.problems()


class _Stop(BaseException):
    pass


def run_raising_done_callbacks(exception: type[BaseException]) -> str:
    """See the module docstring; ``exception`` is raised by the first done-callback."""
    gate = threading.Event()
    second: Counter[int] = Counter()
    results: list[Future[Any]] = []

    def watch_it(result: Future[Any]) -> None:
        key = len(results)
        results.append(result)

        def raising(_: object) -> None:
            raise exception("from a done-callback")

        def counting(_: object) -> None:
            second[key] += 1

        with suppress(exception):  # a Result already done calls it here, at once
            result.add_done_callback(raising)
        result.add_done_callback(counting)

    problems: list[str] = []
    with EscapeWatch(expected=[exception]) as watch:
        reactor = Reactor(name="raising-callbacks")
        reactor.start()
        pool = ThreadPool(1, name="raising-callbacks-pool")
        try:
            # Ended in a worker and on the loop, by running.
            for result in [reactor.call(int), reactor.call_in_thread(int), pool.submit(int)]:
                watch_it(result)
            # Ended by cancel() in this thread, and by the shutdowns below.
            blockers = [reactor.call(gate.wait), pool.submit(gate.wait)]
            cancelled = reactor.call(int)
            queued = [reactor.call(int), reactor.call_later(3600, int), pool.submit(int)]
            for result in [cancelled, *queued]:
                watch_it(result)
            with suppress(exception):
                cancelled.cancel()
            with suppress(exception):
                reactor.shutdown(wait=False, cancel_futures=True)
            with suppress(exception):
                pool.shutdown(wait=False, cancel_futures=True)
        finally:
            gate.set()
        owners: list[Reactor | ThreadPool] = [reactor, pool]
        for owner in owners:
            try:
                finishes(partial(owner.shutdown, wait=True), 10, f"{owner!r}.shutdown again")
            except StressFailure as exc:
                problems.append(str(exc).split("\n")[0])
        for key, watched in enumerate(results):
            if not watched.done():
                problems.append(f"left pending: {watched!r}")
            elif second[key] != 1:
                problems.append(f"the second done-callback of {watched!r} ran {second[key]} times")
        del blockers
        problems += watch.problems(thread_timeout=2.0)
    if problems:
        raise StressFailure(f"done-callbacks raising {exception.__name__}: " + "; ".join(problems))
    return f"{len(results)} Results, each with a done-callback raising {exception.__name__}"
