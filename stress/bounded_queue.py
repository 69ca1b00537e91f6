"""A bounded pool queue under submits, cancels and workers: exact ``QueueFull`` accounting.

One producer thread queues tasks on a ``ThreadPool(max_queue_size=BOUND)`` and cancels
random ones of its own, while the workers take them. The producer alone queues and
cancels, so it knows exactly how many tasks it got accepted and how many cancels
answered True; each task body notes that it started. From these, without any lock on
the pool:

* **QueueFull is never early.** When ``QueueFull`` is raised, the tasks waiting are at
  most ``accepted - cancelled - started`` (``started`` read just *before* the call: a
  task that started since only lowers the real figure). If that is below the bound,
  the refusal was early.
* **The bound is never exceeded.** After a task is accepted, the tasks waiting are at
  least ``accepted - cancelled - started - workers`` (``started`` read just *after*
  the call; a worker may hold one task it has taken but not yet started). If that is
  above the bound, the bound was exceeded.
* **FIFO.** With one worker, tasks start in the order they were accepted.
* ``cancel()`` never raises, each Result ends exactly once (its done-callback runs
  once), and the pool shuts down within a time limit with nothing left.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections import Counter
from concurrent.futures import Future
from typing import Any

from asyncthreads import QueueFull, ThreadPool

from .escapes import EscapeWatch, StressFailure
from .time_limit import finishes, join_all

__all__ = ["run_bounded_queue"]

BOUND = 128


def run_bounded_queue(seed: int, workers: int = 1, operations: int = 20_000) -> str:
    """One run; with ``workers`` > 1 the producer also resizes the pool (between 1 and
    ``workers``) and start order is not checked. Raises :class:`StressFailure`."""
    rng = random.Random(seed)
    started: list[int] = []  # keys, in start order (list.append is atomic)
    done_callbacks: Counter[int] = Counter()
    done_lock = threading.Lock()
    problems: list[str] = []
    tally: Counter[str] = Counter()
    results: dict[int, Future[Any]] = {}
    cancelled_keys: set[int] = set()

    def body(key: int) -> None:
        started.append(key)
        sum(range(rng.randrange(200)))  # a little work, so that the queue fills up

    def note_done(key: int) -> Any:
        def done(_: object) -> None:
            with done_lock:
                done_callbacks[key] += 1

        return done

    with EscapeWatch() as watch:
        pool = ThreadPool(workers, BOUND, name=f"bounded{seed}")

        def produce() -> None:
            pending: list[int] = []
            accepted = cancelled = 0
            try:
                for key in range(operations):
                    if pending and rng.random() < 0.35:
                        victim = pending.pop(rng.randrange(len(pending)))
                        if results[victim].cancel():
                            cancelled += 1
                            cancelled_keys.add(victim)
                        continue
                    if workers > 1 and rng.random() < 0.01:
                        pool.resize_pool(rng.randint(1, workers))
                    before = len(started)
                    try:
                        result = pool.submit(body, key)
                    except QueueFull:
                        tally["QueueFull"] += 1
                        waiting_at_most = accepted - cancelled - before
                        if waiting_at_most < BOUND:
                            problems.append(
                                f"QueueFull early: at most {waiting_at_most} of {BOUND} waited"
                            )
                        continue
                    after = len(started)
                    accepted += 1
                    results[key] = result
                    result.add_done_callback(note_done(key))
                    pending.append(key)
                    del pending[: -4 * BOUND]  # cancel among recent tasks, mostly queued
                    waiting_at_least = accepted - cancelled - after - workers
                    if waiting_at_least > BOUND:
                        problems.append(f"bound exceeded: at least {waiting_at_least} waited")
            except BaseException as exc:
                problems.append(f"the producer got {exc!r}")
            tally["accepted"], tally["cancelled"] = accepted, cancelled

        producer = threading.Thread(target=produce, name="bounded-producer", daemon=True)
        producer.start()
        join_all([producer], 60, f"bounded queue producer (seed {seed})")
        finishes(lambda: pool.shutdown(wait=True), 20, "pool.shutdown(wait=True)")
        ran = set(started)
        for key, result in results.items():
            if not result.done():
                problems.append(f"task {key} never ended")
            elif done_callbacks[key] != 1:
                problems.append(f"task {key}: done-callback ran {done_callbacks[key]} times")
            if key in cancelled_keys and key in ran:
                problems.append(f"task {key}: cancel answered True, yet it ran")
        if workers == 1:
            out_of_order = sum(1 for a, b in itertools.pairwise(started) if a > b)
            if out_of_order:
                problems.append(f"{out_of_order} tasks started before one accepted earlier")
        problems += watch.problems()
    if problems:
        shown = "\n".join(problems[:20])
        raise StressFailure(
            f"bounded queue seed {seed} workers {workers}: {len(problems)}:\n{shown}"
        )
    return f"bounded queue: {dict(tally)}, {len(started)} started"
