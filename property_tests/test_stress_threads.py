"""A bounded stress test of the production Reactor and ThreadPool on real threads.

Several producer threads hammer one Reactor (and its own pool) with a random mix of
calls, timers, thread calls, deferrals, periodic tasks, cancellations and pool resizes;
some tasks raise, some ``callback=`` callbacks raise, some done-callbacks raise; and a
shutdown comes in the middle, while the producers keep going (what they queue after it
is refused at the call site; the last twentieth of each producer's operations waits
until the shutdown has begun, so that some certainly come after it). Then the
accounting, once ``shutdown(wait=True)`` returns:

* nothing lost: every Result a call returned has ended (finished, failed or cancelled),
  its done-callback ran, and its ``result_q`` received it;
* nothing duplicated: each task body ran at most once, and exactly once if its Result
  holds its value or its exception; a cancelled Result's body never ran (in particular
  when ``cancel()`` answered True); each done-callback ran once, each ``result_q`` got
  the Result once; each raising done-callback was logged once;
* no thread left behind: no thread named after the reactor or its pool is alive.

Each producer draws its operations from ``random.Random`` seeded from the test's seed, so
the mix is repeatable (the thread interleaving, of course, is not). Bounded: ``OPERATIONS``
operations in all, timers of at most a few milliseconds, no sleeping.
"""

from __future__ import annotations

import logging
import queue
import random
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from asyncthreads import Deferral, Reactor, Result

OPERATIONS = 2000  # in all, over the producers
PRODUCERS = 4
POOL_THREADS = 4
MAX_POOL_THREADS = 6
MAX_DELAY = 0.005  # seconds, for timers and periodic intervals


class Boom(Exception):
    """Raised by a task body."""


class CallbackBoom(Exception):
    """Raised by a ``callback=`` callback."""


class DoneCallbackBoom(Exception):
    """Raised by a done-callback (logged, never propagated)."""


@dataclass
class Call:
    """One accepted call: its key, what kind it was, and how it was treated."""

    key: int
    kind: str
    result: Result[Any]
    raises: bool  # the body raises Boom
    callback_raises: bool  # its callback= raises CallbackBoom
    result_q: queue.SimpleQueue[Result[Any]] | None
    raises_after: int | None = None  # a periodic task: runs after this many raise
    cancel_answered: bool | None = None  # what cancel() or cancel_scheduled() answered


@dataclass
class Books:
    """What happened, written by every thread under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    ran: Counter[int] = field(default_factory=Counter)  # body runs, by key
    callbacks: Counter[int] = field(default_factory=Counter)  # callback= runs, by key
    done_callbacks: Counter[int] = field(default_factory=Counter)  # by key
    raising_done_callbacks: int = 0
    calls: list[Call] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)  # refused at the call site

    def note(self, counter: Counter[int], key: int) -> None:
        with self.lock:
            counter[key] += 1


class ErrorCount(logging.Handler):
    """Counts the errors logged on the ``asyncthreads`` logger, and keeps their text."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.endswith("was never retrieved"):
            # Logged when a failed Result nobody read is collected: whenever the garbage
            # collector runs, so possibly for a Result of an earlier test in this process.
            return
        error = record.exc_info[1] if record.exc_info else None
        self.messages.append(f"{message}: {error!r}")


@pytest.fixture
def logged_errors() -> Iterator[ErrorCount]:
    handler = ErrorCount()
    logger = logging.getLogger("asyncthreads")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


class Producer:
    """One producer thread's operations, drawn from its own seeded random generator."""

    def __init__(
        self, reactor: Reactor, books: Books, rng: random.Random, keys: Callable[[], int]
    ) -> None:
        self.reactor = reactor
        self.books = books
        self.rng = rng
        self.keys = keys
        self.mine: list[Call] = []

    # -- what the calls run ---------------------------------------------------------------

    def body(self, key: int, raises: bool) -> int:
        self.books.note(self.books.ran, key)
        if raises:
            raise Boom(key)
        return key

    def deferring(self, key: int, raises: bool) -> Deferral[int]:
        # On the reactor thread: the body runs in the pool, for the same Result.
        return Reactor.defer_to_thread(self.body, key, raises)

    def periodic_body(self, key: int, raises_after: int) -> None:
        with self.books.lock:
            self.books.ran[key] += 1
            runs = self.books.ran[key]
        if runs > raises_after:
            raise Boom(key)

    def make_callback(self, key: int, raises: bool) -> Callable[[int], None]:
        def callback(value: int) -> None:
            assert value == key
            self.books.note(self.books.callbacks, key)
            if raises:
                raise CallbackBoom(key)

        return callback

    def make_done_callback(self, key: int, raises: bool) -> Callable[[Any], None]:
        def done_callback(result: Any) -> None:
            assert result.done()
            with self.books.lock:
                self.books.done_callbacks[key] += 1
                if raises:
                    self.books.raising_done_callbacks += 1
            if raises:
                raise DoneCallbackBoom(key)

        return done_callback

    # -- the operations -------------------------------------------------------------------

    def run(self, count: int, stopping: threading.Event) -> None:
        rng = self.rng
        for n in range(count):
            if n == count - count // 20:  # the last few, certainly after the shutdown began
                assert stopping.wait(timeout=30)
            key = self.keys()  # every operation counts towards the shutdown
            roll = rng.random()
            try:
                if roll < 0.10:
                    self.cancel_one()
                elif roll < 0.15:
                    self.reactor.thread_pool.resize_pool(rng.randint(0, MAX_POOL_THREADS))
                else:
                    self.queue_one(key)
            except RuntimeError:  # shut down: refused before anything was queued
                with self.books.lock:
                    self.books.refused["after shutdown"] += 1

    def queue_one(self, key: int) -> None:
        rng = self.rng
        reactor = self.reactor
        kind = rng.choice(
            ["call", "call_later", "in_thread", "in_thread_later", "deferred", "periodic"]
        )
        raises = rng.random() < 0.15
        callback_raises = rng.random() < 0.15
        callback = self.make_callback(key, callback_raises) if not raises else None
        result_q: queue.SimpleQueue[Result[Any]] | None = (
            queue.SimpleQueue() if rng.random() < 0.3 else None
        )
        delay = rng.uniform(0, MAX_DELAY)
        result: Result[Any]
        if kind == "call":
            result = reactor.call(self.body, key, raises, callback=callback, result_q=result_q)
        elif kind == "call_later":
            result = reactor.call_later(
                delay, self.body, key, raises, callback=callback, result_q=result_q
            )
        elif kind == "in_thread":
            result = reactor.call_in_thread(
                self.body, key, raises, callback=callback, result_q=result_q
            )
        elif kind == "in_thread_later":
            result = reactor.call_in_thread_later(
                delay, self.body, key, raises, callback=callback, result_q=result_q
            )
        elif kind == "deferred":
            result = reactor.call(self.deferring, key, raises, callback=callback, result_q=result_q)
        else:
            callback, callback_raises, result_q = None, False, None
            raises_after = rng.randint(1, 5) if raises else 1_000_000
            result = reactor.call_every(
                max(delay, 0.001),
                self.periodic_body,
                key,
                raises_after,
                in_thread=rng.random() < 0.5,
            )
        call = Call(key, kind, result, raises, callback is not None and callback_raises, result_q)
        if kind == "periodic":
            call.raises_after = raises_after
        self.mine.append(call)
        with self.books.lock:
            self.books.calls.append(call)
        result.add_done_callback(self.make_done_callback(key, rng.random() < 0.1))

    def cancel_one(self) -> None:
        if not self.mine:
            return
        call = self.rng.choice(self.mine)
        if self.rng.random() < 0.5:
            answer = call.result.cancel()
        else:
            answer = self.reactor.cancel_scheduled(call.result)
        if call.cancel_answered is None or answer:
            call.cancel_answered = answer


def live_threads(prefix: str) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(prefix)]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_producers_cancels_resizes_and_a_shutdown_lose_and_duplicate_nothing(
    seed: int, logged_errors: ErrorCount
) -> None:
    name = f"stress{seed}"
    reactor = Reactor(name=name)
    reactor.thread_pool.resize_pool(POOL_THREADS)
    reactor.start()
    books = Books()

    master = random.Random(seed)
    shutdown_after = master.randint(OPERATIONS // 2, OPERATIONS * 9 // 10)
    cancel_futures = master.random() < 0.5
    issued = 0
    halfway = threading.Event()  # set once shutdown_after operations were issued
    stopping = threading.Event()  # set once the shutdown has begun
    issued_lock = threading.Lock()

    def next_key() -> int:
        nonlocal issued
        with issued_lock:
            issued += 1
            if issued >= shutdown_after:
                halfway.set()
            return issued

    producers = [
        Producer(reactor, books, random.Random(master.getrandbits(64)), next_key)
        for _ in range(PRODUCERS)
    ]
    threads = [
        threading.Thread(
            target=p.run, args=(OPERATIONS // PRODUCERS, stopping), name=f"producer-{n}"
        )
        for n, p in enumerate(producers)
    ]

    def shut_down() -> None:
        assert halfway.wait(timeout=30)
        reactor.shutdown(wait=False, cancel_futures=cancel_futures)
        stopping.set()
        reactor.shutdown(wait=True)

    stopper = threading.Thread(target=shut_down, name="stopper")
    stopper.start()
    for thread in threads:
        thread.start()
    for thread in [*threads, stopper]:
        thread.join(timeout=30)
        assert not thread.is_alive(), f"{thread.name} still running"
    reactor.shutdown(wait=True)  # idempotent: returns once everything has stopped

    # No thread left behind.
    assert live_threads(name) == []

    # Nothing lost, nothing duplicated.
    calls = books.calls
    keys = [call.key for call in calls]
    assert len(keys) == len(set(keys))
    assert set(books.ran) <= set(keys)  # nothing refused at the call site ever ran
    outcomes: Counter[str] = Counter()
    periodic_raised: set[int] = set()  # periodic tasks whose last run raised
    for call in calls:
        result, key = call.result, call.key
        assert result.done(), f"{call} never ended"
        runs = books.ran[key]
        assert books.done_callbacks[key] == 1, (
            f"{call}: done-callback ran {books.done_callbacks[key]}"
        )
        if call.result_q is not None:
            assert call.result_q.qsize() == 1, f"{call}: {call.result_q.qsize()} in its result_q"
            assert call.result_q.get_nowait() is result
        if call.cancel_answered:
            assert result.cancelled(), f"{call}: cancel answered True, yet it did not end cancelled"
        if call.kind == "periodic":
            # It may have run before it stopped, but never again after a run raised.
            assert call.raises_after is not None
            assert runs <= call.raises_after + 1, f"{call}: ran {runs}x"
            if runs > call.raises_after:
                periodic_raised.add(key)
            if not result.cancelled():  # else it ends only by failing
                assert isinstance(result.exception(timeout=0), Boom), call
                assert runs == call.raises_after + 1, f"{call}: ran {runs}x"
                outcomes["periodic failed"] += 1
                continue
        if result.cancelled():
            outcomes["cancelled"] += 1
            if call.kind != "periodic":
                assert runs == 0, f"{call} ran {runs}x, yet ended cancelled"
            continue
        exception = result.exception(timeout=0)
        if exception is None:
            assert result.result(timeout=0) == key
            assert runs == 1, f"{call}: ran {runs}x"
            assert books.callbacks[key] == 1
            outcomes["returned"] += 1
        elif isinstance(exception, Boom):
            assert call.raises, call
            assert runs == 1, f"{call}: ran {runs}x"
            assert books.callbacks[key] == 0
            outcomes["raised"] += 1
        elif isinstance(exception, CallbackBoom):
            assert call.callback_raises, call
            assert runs == 1, f"{call}: ran {runs}x"
            assert books.callbacks[key] == 1
            outcomes["callback raised"] += 1
        elif isinstance(exception, RuntimeError):
            # Accepted, then stranded by the shutdown (a deferral's continuation in a pool
            # left with no workers): it never ran.
            assert call.kind == "deferred", f"{call}: {exception!r}"
            assert runs == 0, f"{call}: ran {runs}x, yet failed with {exception!r}"
            outcomes["stranded"] += 1
        else:
            pytest.fail(f"{call}: unexpected {exception!r}")

    # Each raising done-callback, and each periodic task that stopped because a run
    # raised, was logged once; nothing else was. (A periodic task cancelled while its
    # last run raised ends cancelled, yet that run's exception is logged.)
    done_callback_logs = [m for m in logged_errors.messages if "DoneCallbackBoom" in m]
    periodic_logs = [m for m in logged_errors.messages if m.startswith("periodic task")]
    assert len(done_callback_logs) == books.raising_done_callbacks
    logged_keys = [int(m) for m in re.findall(r"it raised Boom\((\d+)\)", "\n".join(periodic_logs))]
    assert sorted(logged_keys) == sorted(periodic_raised)
    assert len(logged_errors.messages) == len(done_callback_logs) + len(periodic_logs), (
        logged_errors.messages
    )

    # The mix did what it is for.
    for outcome in ["returned", "raised", "callback raised", "cancelled"]:
        assert outcomes[outcome], f"no call {outcome}: {outcomes}"
    assert books.refused["after shutdown"]
    print(f"seed {seed}: {len(calls)} calls, {dict(outcomes)}, refused {dict(books.refused)}")
