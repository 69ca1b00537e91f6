"""``concurrent.futures.wait`` and ``as_completed`` over Results of different owners.

The standard library locks every future it waits on, in ``id()`` order, before it
looks at them. That order is consistent only if each future has a lock of its own. Two
threads that wait on the same kinds of futures in opposite ``id()`` order of their
*locks* deadlock if two of those futures share a lock while a third has another: one
thread holds A's lock and wants B's, the other holds B's and wants A's. So each waiter
here waits, over and over, on a pair whose order is chosen to be the opposite of the
other waiter's: one Result of system A and one of system B (two ThreadPools, two
Reactors, a ThreadPool and a Reactor, or a Result and a plain ``Future``). Two
standard executors never deadlock this way; the check is that every waiter finishes
its rounds within the time limit, and that the systems still shut down after.
"""

from __future__ import annotations

import concurrent.futures as cf
import random
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from asyncthreads import Reactor, ThreadPool

from .escapes import EscapeWatch, StressFailure
from .time_limit import finishes, join_all

__all__ = ["PAIRS", "run_mixed_waits"]

# What the two futures of each pair come from.
PAIRS = ("pool+pool", "reactor+reactor", "pool+reactor", "pool+future")


def _pending_from(kind: str, owner: Any, gate: threading.Event) -> cf.Future[Any]:
    if kind == "future":
        return cf.Future()
    if isinstance(owner, Reactor):
        return owner.call_later(3600, gate.set)  # stays pending; cancelled at shutdown
    pool: ThreadPool = owner
    return pool.submit(gate.wait)


def _opposite_pairs(
    make_a: Callable[[], cf.Future[Any]], make_b: Callable[[], cf.Future[Any]], share_b: bool
) -> tuple[list[cf.Future[Any]], list[cf.Future[Any]]]:
    """Two pairs (a1, b1) and (a2, b2) with id(a1) < id(b1) and id(b2) < id(a2).

    With ``share_b``, b1 is b2 (a plain Future has a lock of its own: the cycle needs
    the one Future in both pairs)."""
    made_a: list[cf.Future[Any]] = []  # all kept alive: a freed id may come back
    made_b: list[cf.Future[Any]] = []
    while True:
        made_a.append(make_a())
        made_b.append(make_b())
        a1, a2 = min(made_a, key=id), max(made_a, key=id)
        if share_b:
            between = [b for b in made_b if id(a1) < id(b) < id(a2)]
            if between:
                return [a1, between[0]], [between[0], a2]
            continue
        b1, b2 = max(made_b, key=id), min(made_b, key=id)
        if id(a1) < id(b1) and id(b2) < id(a2):
            return [a1, b1], [a2, b2]


def run_mixed_waits(seed: int, kind: str, rounds: int = 20_000, timeout: float = 10) -> str:
    """Two threads wait ``rounds`` times each on opposite pairs; see the module docstring."""
    rng = random.Random(seed)
    gate = threading.Event()  # pool tasks block on it, so their Results stay pending
    first, second = kind.split("+")
    owners: list[Any] = []

    def make(what: str) -> Any:
        owner: Any = None
        if what == "pool":
            owner = ThreadPool(1, name=f"waits{seed}-pool{len(owners)}")
        elif what == "reactor":
            owner = Reactor(name=f"waits{seed}-reactor{len(owners)}")
            owner.start()
        owners.append(owner)
        return owner

    with EscapeWatch() as watch:
        owner_a, owner_b = make(first), make(second)
        pair_1, pair_2 = _opposite_pairs(
            lambda: _pending_from(first, owner_a, gate),
            lambda: _pending_from(second, owner_b, gate),
            share_b=second == "future",
        )
        errors: list[str] = []

        def waiter(pair: list[cf.Future[Any]], seed: int) -> None:
            rng = random.Random(seed)
            try:
                for _ in range(rounds):
                    if rng.random() < 0.5:
                        cf.wait(pair, timeout=0)
                    else:
                        try:
                            for _ in cf.as_completed(pair, timeout=0):
                                pass
                        except cf.TimeoutError:
                            pass
            except BaseException as exc:
                errors.append(f"a waiter raised {exc!r}")

        threads = [
            threading.Thread(target=waiter, args=(pair, rng.random()), daemon=True, name=name)
            for pair, name in [(pair_1, "waiter-1"), (pair_2, "waiter-2")]
        ]
        for thread in threads:
            thread.start()
        join_all(threads, timeout, f"waiting on {kind} pairs (seed {seed})")
        gate.set()
        for owner in owners:
            if owner is not None:
                finishes(partial(owner.shutdown, wait=True), 10, f"{owner!r}.shutdown")
        problems = errors + watch.problems()
    if problems:
        raise StressFailure(f"mixed waits {kind} seed {seed}: " + "\n".join(problems))
    return f"{kind}: 2 x {rounds} waits"
