"""``concurrent.futures.wait`` and ``as_completed`` on Results of several pools, and on
Results with plain Futures, never deadlock, and still see every Result end.

The standard library holds the ``_condition`` of every future it waits on, taken in
``id()`` order. When every Result of a pool shared its scheduler's lock as that
condition, two threads waiting on Results of two pools (or on a Result and a plain
Future) could take the locks in opposite orders. The tests below force that interleaving:
a lock that, once the first waiting thread holds it, keeps it until the other thread is
about to take it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future
from types import TracebackType
from typing import Any

import pytest

from asyncthreads import Reactor, ThreadPool, ThreadScheduler

pytestmark = pytest.mark.timeout(30)

# How long the forcing lock waits for the other thread before giving up (which it does
# only when the code under test never makes the two threads contend).
_FORCE_SECONDS = 2.0


class HeldUntilContended:
    """A lock wrapper: when ``holder`` has just acquired it, it sets ``held`` and keeps
    the lock until another thread is about to acquire it (or ``_FORCE_SECONDS`` pass),
    once."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.holder: threading.Thread | None = None
        self.held = threading.Event()  # set once the holder has it
        self.contended = threading.Event()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        me = threading.current_thread()
        holder = self.holder
        if holder is not None and me is not holder:
            self.contended.set()
        acquired: bool = self.inner.acquire(blocking, timeout)
        if acquired and me is holder:
            self.held.set()
            self.contended.wait(_FORCE_SECONDS)
            self.holder = None
        return acquired

    def release(self) -> None:
        self.inner.release()

    def _is_owned(self) -> bool:  # what threading.Condition asks of a lock
        return bool(self.inner._is_owned())

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class PlainLock:
    """A threading.Lock with ``_is_owned`` as threading.Condition computes it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self.lock.acquire(blocking, timeout)

    def release(self) -> None:
        self.lock.release()

    def _is_owned(self) -> bool:
        return self.lock.locked()


def run_in_threads(*waits: tuple[str, list[Future[Any]]]) -> list[threading.Thread]:
    """Start one daemon thread per (name, futures), each calling wait(futures, timeout=0);
    the first name's thread is returned first."""
    threads = [
        threading.Thread(
            target=concurrent.futures.wait, args=(futures,), kwargs={"timeout": 0}, name=name
        )
        for name, futures in waits
    ]
    for thread in threads:
        thread.daemon = True
    return threads


def straddling(
    make_outer: Iterator[Future[Any]], make_inner: Iterator[Future[Any]]
) -> tuple[Future[Any], Future[Any], Future[Any], list[Future[Any]]]:
    """(low, middle, high, made): two futures from ``make_outer`` and one from
    ``make_inner`` with id(low) < id(middle) < id(high), and all the futures made (for
    the caller to keep alive, so that no id is reused). Made in alternating batches, so
    that the two kinds interleave in memory even when their sizes differ."""
    outer: list[Future[Any]] = []
    inner: list[Future[Any]] = []
    for _ in range(20):
        outer += [next(make_outer) for _ in range(50)]
        inner += [next(make_inner) for _ in range(50)]
        low, high = min(outer, key=id), max(outer, key=id)
        for middle in inner:
            if id(low) < id(middle) < id(high):
                return low, middle, high, outer + inner
    raise AssertionError("the two kinds of future never interleaved in memory")


def results_of(pool: ThreadPool) -> Iterator[Future[Any]]:
    while True:
        yield pool.submit(int)


def plain_futures() -> Iterator[Future[Any]]:
    while True:
        yield Future()


@pytest.fixture
def forced_scheduler() -> ThreadScheduler:
    scheduler = ThreadScheduler()
    scheduler.lock = HeldUntilContended(scheduler.lock)
    return scheduler


def test_waits_on_results_of_two_pools_in_opposite_lock_orders_do_not_deadlock(
    forced_scheduler: ThreadScheduler,
) -> None:
    # No workers: the Results stay pending while both threads wait.
    pool_a = ThreadPool(0, name="a")
    pool_b = ThreadPool(0, scheduler=forced_scheduler, name="b")
    try:
        # Thread "first" takes a's lock then b's; thread "second" b's then a's.
        a1, b, a2, _kept = straddling(results_of(pool_a), results_of(pool_b))
        b1 = b2 = b
        for future in (a1, b1, a2, b2):
            future._condition  # noqa: B018 (made before the race, as a waiter would)
        first, second = run_in_threads(("first", [a1, b1]), ("second", [b2, a2]))
        lock = forced_scheduler.lock
        assert isinstance(lock, HeldUntilContended)
        lock.holder = second  # holds b's lock until "first" reaches for it
        second.start()
        # Where each Result has a lock of its own, "second" never takes b's: it ends.
        while not lock.held.wait(0.01) and second.is_alive():
            pass
        first.start()
        first.join(timeout=10)
        second.join(timeout=10)

        assert not first.is_alive(), "deadlocked"
        assert not second.is_alive(), "deadlocked"
    finally:
        pool_a.shutdown(wait=True, cancel_futures=True)
        pool_b.shutdown(wait=True, cancel_futures=True)


def test_waits_on_a_result_and_a_plain_future_in_opposite_lock_orders_do_not_deadlock() -> None:
    pool = ThreadPool(0, name="pool")
    try:
        lower, plain, higher, _kept = straddling(results_of(pool), plain_futures())
        forcing = HeldUntilContended(PlainLock())
        plain._condition = threading.Condition(forcing)  # type: ignore[arg-type]
        lower._condition  # noqa: B018 (made before the race, as a waiter would)
        higher._condition  # noqa: B018
        # "first" takes the Result's lock then the Future's; "second" the Future's first.
        first, second = run_in_threads(("first", [lower, plain]), ("second", [plain, higher]))
        forcing.holder = second
        second.start()
        assert forcing.held.wait(10)
        first.start()
        first.join(timeout=10)
        second.join(timeout=10)

        assert not first.is_alive(), "deadlocked"
        assert not second.is_alive(), "deadlocked"
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def test_as_completed_yields_results_of_two_pools_and_a_plain_future_each_once() -> None:
    plain: Future[str] = Future()
    with ThreadPool(2, name="a") as pool_a, ThreadPool(2, name="b") as pool_b:
        futures: list[Future[str]] = [
            pool_a.submit(str, "a"),
            pool_b.submit(str, "b"),
            plain,
        ]
        threading.Thread(target=plain.set_result, args=("plain",), daemon=True).start()

        values = [f.result() for f in concurrent.futures.as_completed(futures, timeout=10)]

    assert sorted(values) == ["a", "b", "plain"]


def test_waits_on_mixed_results_see_every_result_end_while_workers_end_them() -> None:
    # Statistical: two threads wait, over and over, on Results of two pools and a plain
    # Future that workers end meanwhile, so a Result ends while a waiter is being listed.
    # A lost wake-up shows as a wait that times out with a Result still not done.
    rounds = 2000
    failures: list[str] = []

    def waiter(pool_a: ThreadPool, pool_b: ThreadPool) -> None:
        for _ in range(rounds):
            plain: Future[int] = Future()
            futures: list[Future[int]] = [pool_a.submit(int), pool_b.submit(int), plain]
            pool_a.submit(plain.set_result, 0)
            _, not_done = concurrent.futures.wait(futures, timeout=10)
            if not_done:
                failures.append(f"not done: {not_done}")
                return

    with ThreadPool(2, name="a") as pool_a, ThreadPool(2, name="b") as pool_b:
        threads = [
            threading.Thread(target=waiter, args=(pool_a, pool_b), daemon=True),
            threading.Thread(target=waiter, args=(pool_b, pool_a), daemon=True),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=25)

        assert not any(thread.is_alive() for thread in threads), "deadlocked"
    assert failures == []


def test_await_on_a_result_wrapped_after_concurrent_futures_waited_on_it() -> None:
    with ThreadPool(1, name="pool") as pool:
        result = pool.submit(int, "7")
        concurrent.futures.wait([result], timeout=10)

        async def main() -> int:
            return await asyncio.wrap_future(result)

        assert asyncio.run(main()) == 7


def test_wait_first_completed_wakes_for_a_result_cancelled_from_another_thread() -> None:
    pool = ThreadPool(0, name="pool")
    try:
        queued = pool.submit(int)
        canceller = threading.Thread(target=queued.cancel, daemon=True)
        queued._condition  # noqa: B018 (listed with concurrent.futures before it ends)
        canceller.start()

        done, _ = concurrent.futures.wait([queued], timeout=10, return_when=FIRST_COMPLETED)

        assert done == {queued}
        assert queued.cancelled()
    finally:
        pool.shutdown(wait=True)


@pytest.mark.parametrize(
    "end",
    [
        lambda r: r.set_result(1),
        lambda r: r.set_exception(ValueError("ended")),
        lambda r: r.cancel(),
    ],
    ids=["set_result", "set_exception", "cancel"],
)
def test_a_result_does_not_end_while_another_thread_holds_its_condition(
    end: Callable[[Future[int]], object],
) -> None:
    # concurrent.futures.wait reads the states twice while it holds the conditions (once
    # for what is done, once to count what it waits for): a Result ending in between
    # made it return early, with a finished Result reported not done.
    pool = ThreadPool(0, name="pool")
    try:
        result = pool.submit(int)
        ended = threading.Event()

        def end_it() -> None:
            end(result)
            ended.set()

        ender = threading.Thread(target=end_it, daemon=True)
        with result._condition:
            ender.start()
            assert not ended.wait(0.2)
            assert not result.done()
        assert ended.wait(10)
        assert result.done()
        if not result.cancelled():
            result.exception()  # read: no exception is left unretrieved
    finally:
        pool.shutdown(wait=True)


def wait_until(predicate: Callable[[], bool], timeout: float = 10) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass (for a state another
    thread reaches, where no event marks it)."""
    reached = threading.Event()
    for _ in range(int(timeout / 0.005)):
        if predicate():
            return True
        reached.wait(0.005)
    return predicate()


def test_wait_wakes_for_a_call_on_a_foreign_executor_cancelled_before_it_was_sent() -> None:
    with (
        concurrent.futures.ThreadPoolExecutor(1) as executor,
        Reactor(executor=executor, name="bridged") as reactor,
    ):
        later = reactor.call_in_thread_later(60, int)
        outcome: list[set[Future[Any]]] = []
        waiter = threading.Thread(
            target=lambda: outcome.append(concurrent.futures.wait([later], timeout=10)[0]),
            daemon=True,
        )
        waiter.start()
        assert wait_until(lambda: bool(later._waiters))

        assert later.cancel()
        waiter.join(timeout=10)

        assert outcome == [{later}]
