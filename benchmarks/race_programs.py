"""A catalogue of small concurrent programs, each with a race real threads show, and its fix.

Every program is written on the public API (a Reactor and its pool, Results, and the
standard library's threading and queue inside ``sim.patched()``), at depth 2 or 3: the bug
needs two or three ordering constraints to show. Each is a pair of *scenarios*, functions
of a :class:`~asyncthreads.testing.Simulation` that build the program on it, run it, and
raise ``AssertionError`` (or ``DeadlockError``) when the bug shows; the fixed scenario
never does. ``checkpoint()`` marks where real threads could be switched between two
statements that the simulation would otherwise run in one step.

:mod:`benchmarks.races` measures how soon each explorer (seeds, PCT, hypothesis's
``schedules()``, ``explore()``) finds each bug; ``property_tests/test_race_benchmark.py``
checks that each bug is found and each fix survives.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from asyncthreads.testing import Simulation, checkpoint

__all__ = ["PROGRAMS", "RaceProgram"]

Scenario = Callable[[Simulation], None]


@dataclass(frozen=True)
class RaceProgram:
    name: str
    what: str  # the bug, in a line
    buggy: Scenario
    fixed: Scenario


# -- read-modify-write -----------------------------------------------------------------------


def _counter(sim: Simulation, *, locked: bool, split: bool = False) -> None:
    """Two pool tasks add one to a shared count; a lock around the whole update fixes the
    lost update, a lock around the read and the write separately (``split``) does not."""
    with sim.patched():
        lock = threading.Lock()
        pool = sim.thread_pool(2)
        count = {"n": 0}

        def add_one() -> None:
            if split:
                with lock:
                    seen = count["n"]
                with lock:
                    count["n"] = seen + 1
            elif locked:
                with lock:
                    seen = count["n"]
                    checkpoint()
                    count["n"] = seen + 1
            else:
                seen = count["n"]
                checkpoint()
                count["n"] = seen + 1

        results = [pool.submit(add_one) for _ in range(2)]
        for result in results:
            result.result()
    assert count["n"] == 2, f"lost an update: count is {count['n']}"


# -- lock order --------------------------------------------------------------------------------


def _transfers(sim: Simulation, *, ordered: bool) -> None:
    """Two transfers in opposite directions each lock both accounts; taken in argument
    order, each may hold one lock and wait for the other for ever."""
    with sim.patched():
        locks = {"a": threading.Lock(), "b": threading.Lock()}
        balances = {"a": 10, "b": 10}
        pool = sim.thread_pool(2)

        def transfer(source: str, target: str) -> None:
            first, second = sorted((source, target)) if ordered else (source, target)
            with locks[first]:
                checkpoint()
                with locks[second]:
                    balances[source] -= 1
                    balances[target] += 1

        results = [pool.submit(transfer, "a", "b"), pool.submit(transfer, "b", "a")]
        for result in results:
            result.result()  # DeadlockError when the locks were taken in opposite orders
    assert balances == {"a": 10, "b": 10}


# -- lost wake-up ------------------------------------------------------------------------------


def _handoff(sim: Simulation, *, checked_under_lock: bool) -> None:
    """A consumer waits for an item; checked outside the condition's lock, the producer's
    notify can come between the check and the wait, and the consumer sleeps for ever."""
    with sim.patched():
        ready = threading.Condition()
        items: list[int] = []
        pool = sim.thread_pool(2)

        def consume() -> int:
            if checked_under_lock:
                with ready:
                    ready.wait_for(lambda: bool(items))
                    return items.pop()
            if not items:
                checkpoint()
                with ready:
                    ready.wait()  # BUG: the notify may already have happened
            return items.pop()

        def produce() -> None:
            with ready:
                items.append(1)
                ready.notify()

        consumer = pool.submit(consume)
        pool.submit(produce)
        assert consumer.result() == 1  # DeadlockError when the wake-up was lost


# -- double-checked initialisation -------------------------------------------------------------


def _lazy_connection(sim: Simulation, *, locked: bool) -> None:
    """Two tasks open a shared connection on first use; checked without a lock, both can
    see none and open one each."""
    with sim.patched():
        lock = threading.Lock()
        opened: list[object] = []
        holder: dict[str, object] = {}
        pool = sim.thread_pool(2)

        def connection() -> object:
            if "conn" not in holder:
                if locked:
                    with lock:
                        if "conn" not in holder:
                            opened.append(object())
                            holder["conn"] = opened[-1]
                else:
                    checkpoint()
                    opened.append(object())
                    holder["conn"] = opened[-1]
            return holder["conn"]

        results = [pool.submit(connection) for _ in range(2)]
        for result in results:
            result.result()
    assert len(opened) == 1, f"opened {len(opened)} connections"


# -- check-then-act across the reactor and the pool ---------------------------------------------


def _price_cache(sim: Simulation, *, fixed: bool) -> None:
    """The reactor checks a cache and the pool fills it a step later: a second request
    checked in between fetches again."""
    reactor = sim.reactor(threads=2)
    fetched: list[str] = []
    prices: dict[str, float] = {}
    in_flight: dict[str, object] = {}

    def fetch_and_store(symbol: str) -> None:
        fetched.append(symbol)
        prices[symbol] = 12.5

    def request(symbol: str) -> None:  # on the reactor thread
        if fixed:
            if symbol not in in_flight:
                in_flight[symbol] = reactor.call_in_thread(fetch_and_store, symbol)
        elif symbol not in prices:
            reactor.call_in_thread(fetch_and_store, symbol)

    reactor.call(request, "ACME")
    reactor.call(request, "ACME")
    sim.run_until_idle()
    assert fetched == ["ACME"], f"fetched {fetched}"


# -- completion order taken for submission order ------------------------------------------------


def _quote_board(sim: Simulation, *, fixed: bool) -> None:
    """Quotes collected as fetches complete, zipped with the symbols as submitted."""
    reactor = sim.reactor(threads=2)
    symbols = ["A", "B"]
    collected: list[tuple[str, float]] = []

    def fetch(symbol: str) -> tuple[str, float]:
        return symbol, float(ord(symbol))

    for symbol in symbols:
        reactor.call_in_thread(fetch, symbol, callback=collected.append)
    sim.run_until_idle()
    if fixed:
        board = dict(collected)
    else:
        board = dict(zip(symbols, (quote for _, quote in collected), strict=True))
    assert board == {"A": 65.0, "B": 66.0}, f"board {board}"


# -- timeout against reply ----------------------------------------------------------------------


def _request_with_timeout(sim: Simulation, *, fixed: bool) -> None:
    """A request times out after 1 s; the reply takes 1 s too. The reply handler checks
    whether the request timed out; the timeout handler does not check whether the reply
    came, so a reply that lands first is followed by a timeout: the caller is told twice.
    (The two are due at one instant: only an explorer that orders a waking sleeper
    against a due timer reaches it.)"""
    reactor = sim.reactor(threads=2)
    outcomes: list[str] = []

    def on_timeout() -> None:  # on the reactor thread
        if not fixed or not outcomes:
            outcomes.append("timeout")

    def on_reply() -> None:  # on the reactor thread
        if not outcomes:
            outcomes.append("reply")

    def serve() -> None:
        sim.sleep(1.0)
        reactor.call(on_reply)

    reactor.call_later(1.0, on_timeout)
    reactor.call_in_thread(serve)
    sim.advance(2.0)
    assert len(outcomes) == 1, f"told the caller {outcomes}"


# -- stop while in flight -------------------------------------------------------------------


def _writer_stop(sim: Simulation, *, fixed: bool) -> None:
    """A writer's stop() closes its output while a write is still in flight in the pool."""
    reactor = sim.reactor(threads=2)
    output: list[str] = []
    closed = {"yes": False}
    in_flight: list[object] = []

    def write(line: str) -> None:  # in a pool thread
        checkpoint()
        assert not closed["yes"], f"wrote {line!r} after close"
        output.append(line)

    def stop() -> None:  # in a pool thread
        if fixed:
            for result in in_flight:
                result.result()  # type: ignore[attr-defined]
        closed["yes"] = True

    in_flight.append(reactor.call_in_thread(write, "last line"))
    stopped = reactor.call_in_thread(stop)
    sim.run_until_idle()
    for result in in_flight:
        result.result()  # type: ignore[attr-defined]
    stopped.result()


# -- done-callbacks counting on two threads -----------------------------------------------


def _completion_counter(sim: Simulation, *, fixed: bool) -> None:
    """Done-callbacks of two pool tasks bump a shared counter; they run on the two threads
    that complete the tasks, so the read-and-store can interleave."""
    with sim.patched():
        lock = threading.Lock()
        pool = sim.thread_pool(2)
        done = {"n": 0}

        def bump(_: object) -> None:
            if fixed:
                with lock:
                    done["n"] += 1
                return
            seen = done["n"]
            checkpoint()
            done["n"] = seen + 1

        results = [pool.submit(lambda: None) for _ in range(2)]
        for result in results:
            result.add_done_callback(bump)
        for result in results:
            result.result()
        sim.run_until_idle()
    assert done["n"] == 2, f"counted {done['n']} completions"


# -- overlapping periodic flushes ---------------------------------------------------------


def _flusher(sim: Simulation, *, fixed: bool) -> None:
    """A buffer flushed every second in the pool, and once more at shutdown: two flushes
    can overlap, each taking the same lines before either clears them."""
    reactor = sim.reactor(threads=2)
    buffer: list[int] = [1, 2, 3]
    written: list[int] = []

    def flush(lines: list[int] | None = None) -> None:  # in a pool thread
        if lines is None:
            lines = list(buffer)
            checkpoint()
            del buffer[: len(lines)]
        written.extend(lines)

    def flush_on_reactor() -> None:  # the fix: take the lines on the reactor thread
        lines, buffer[:] = list(buffer), []
        reactor.call_in_thread(flush, lines)

    if fixed:
        reactor.call_every(1.0, flush_on_reactor)
        reactor.call_later(1.0, flush_on_reactor)
    else:
        reactor.call_every(1.0, flush, in_thread=True)
        reactor.call_in_thread_later(1.0, flush)
    sim.advance(1.0)
    sim.run_until_idle()
    assert sorted(written) == [1, 2, 3], f"wrote {written}"


# -- ABA on a reused slot -------------------------------------------------------------------


def _slots(sim: Simulation, *, fixed: bool) -> None:
    """Requests take a slot; cancelling one frees its slot, which the next request reuses;
    the cancelled request's late reply then lands in the new request's slot."""
    reactor = sim.reactor(threads=2)
    slots: dict[int, tuple[str, int]] = {}  # slot -> (owner, generation)
    got: dict[str, list[str]] = {}
    generation = {"n": 0}

    def reply(slot: int, gen: int, text: str) -> None:  # on the reactor thread
        owner, current = slots.get(slot, ("", -1))
        if fixed and current != gen:
            return  # a stale reply for a slot since reused
        if owner:
            got.setdefault(owner, []).append(text)

    def start(owner: str) -> None:  # on the reactor thread
        generation["n"] += 1
        gen = generation["n"]
        slots[0] = (owner, gen)

        def serve() -> None:  # in a pool thread
            checkpoint()
            reactor.call(reply, 0, gen, f"for {owner}")

        reactor.call_in_thread(serve)

    def cancel(owner: str) -> None:  # on the reactor thread
        if slots.get(0, ("", 0))[0] == owner:
            del slots[0]
            start("second")

    reactor.call(start, "first")
    # The cancel comes from a pool thread too (a client gave up), after the request.
    reactor.call(reactor.call_in_thread, reactor.call, cancel, "first")
    sim.run_until_idle()
    wrong = {owner: texts for owner, texts in got.items() if texts != [f"for {owner}"] * len(texts)}
    assert not wrong, f"replies in the wrong slot: {wrong}"


# -- a queue's sentinel -----------------------------------------------------------------


def _drain(sim: Simulation, *, fixed: bool) -> None:
    """A consumer stops at a sentinel; a closer puts it once the producers are started,
    not once they have finished, so an item put after it is never consumed."""
    with sim.patched():
        items: queue.Queue[int | None] = queue.Queue()
        pool = sim.thread_pool(4)
        got: list[int] = []

        def consume() -> None:
            while (item := items.get()) is not None:
                got.append(item)

        consumer = pool.submit(consume)
        producers = [pool.submit(items.put, n) for n in (1, 2)]

        def close() -> None:
            if fixed:
                for producer in producers:
                    producer.result()
            items.put(None)

        pool.submit(close).result()
        consumer.result()
    assert sorted(got) == [1, 2], f"consumed {got}"


def _pair(scenario: Callable[..., None], flag: str = "fixed") -> tuple[Scenario, Scenario]:
    """The buggy and the fixed scenario: ``scenario`` with ``flag`` False, then True."""
    return (
        lambda sim: scenario(sim, **{flag: False}),
        lambda sim: scenario(sim, **{flag: True}),
    )


def _program(name: str, what: str, pair: tuple[Scenario, Scenario]) -> RaceProgram:
    return RaceProgram(name, what, *pair)


PROGRAMS: tuple[RaceProgram, ...] = (
    _program(
        "rmw-no-lock", "two tasks read, then store, a shared count", _pair(_counter, "locked")
    ),
    RaceProgram(
        "rmw-split-lock",
        "a lock held for the read and the store separately",
        lambda sim: _counter(sim, locked=True, split=True),
        lambda sim: _counter(sim, locked=True),
    ),
    _program(
        "lock-order",
        "two transfers lock two accounts in opposite orders",
        _pair(_transfers, "ordered"),
    ),
    _program(
        "lost-wake-up",
        "a condition checked outside its lock",
        _pair(_handoff, "checked_under_lock"),
    ),
    _program(
        "double-checked-init",
        "a lazy connection opened twice",
        _pair(_lazy_connection, "locked"),
    ),
    _program(
        "check-then-act", "the reactor checks, the pool fills the cache later", _pair(_price_cache)
    ),
    _program("completion-order", "quotes zipped in submission order", _pair(_quote_board)),
    _program(
        "timeout-vs-reply", "a reply and a timeout due at one instant", _pair(_request_with_timeout)
    ),
    _program("stop-in-flight", "stop() closes while a write is in flight", _pair(_writer_stop)),
    _program(
        "callback-counter", "done-callbacks on two threads bump a count", _pair(_completion_counter)
    ),
    _program("periodic-flush", "two flushes of one buffer overlap", _pair(_flusher)),
    _program("aba-slot", "a late reply lands in a reused slot", _pair(_slots)),
    _program("queue-sentinel", "a sentinel put before the producers finish", _pair(_drain)),
)
