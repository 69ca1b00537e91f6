"""Reactor on real OS threads: the serial reactor thread, the pool, deferral between them,
deadlock detection, robustness, shutdown, freezegun and contextvars."""

from __future__ import annotations

import contextvars
import itertools
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import freezegun
import pytest

from asyncthreads import (
    DeadlockError,
    Deferral,
    Reactor,
    Result,
    ThreadPool,
    defer,
    defer_to_thread,
)

pytestmark = pytest.mark.timeout(30)

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")

_names = itertools.count(1)


class Boom(Exception):
    pass


def fail() -> None:
    raise Boom("boom")


def thread_name() -> str:
    return threading.current_thread().name


def unique_name() -> str:
    return f"rt{next(_names)}"


@pytest.fixture
def make_reactor(gate: threading.Event) -> Iterator[Callable[..., Reactor]]:
    """Make Reactors (not started) that are released and shut down after the test."""
    reactors: list[Reactor] = []

    def make(thread_pool: ThreadPool | None = None) -> Reactor:
        reactor = Reactor(thread_pool, name=unique_name())
        reactors.append(reactor)
        return reactor

    yield make
    gate.set()
    for reactor in reactors:
        reactor.shutdown(wait=True)


@pytest.fixture
def reactor(make_reactor: Callable[..., Reactor]) -> Reactor:
    reactor = make_reactor()
    reactor.start()
    return reactor


def hold(
    queue_call: Callable[[Callable[[], bool]], Result[bool]], gate: threading.Event
) -> Result[bool]:
    """Queue a call that blocks until ``gate`` is set; return once it has started."""
    started = threading.Event()

    def held() -> bool:
        started.set()
        return gate.wait(timeout=10)

    result = queue_call(held)
    assert started.wait(timeout=5)
    return result


def live_threads(reactor: Reactor) -> list[str]:
    """Threads of the reactor and of the pool it made for itself."""
    pool_prefix = f"{reactor.name}-pool-"
    return [
        t.name
        for t in threading.enumerate()
        if t.name == reactor.name or t.name.startswith(pool_prefix)
    ]


# -- the reactor thread --------------------------------------------------------------------


def test_calls_run_on_one_thread_named_after_the_reactor(reactor: Reactor) -> None:
    results = [reactor.call(threading.get_ident) for _ in range(5)]
    name = reactor.call(thread_name)

    assert len({r.get_result(timeout=5) for r in results}) == 1
    assert name.get_result(timeout=5) == reactor.name


@pytest.fixture
def frequent_thread_switches() -> Iterator[None]:
    """Make the interpreter switch threads often, so overlapping calls would show."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("frequent_thread_switches")
def test_calls_from_many_producers_never_overlap(reactor: Reactor) -> None:
    state = {"count": 0, "inside": 0, "overlaps": 0}

    def increment() -> None:
        state["inside"] += 1
        if state["inside"] > 1:
            state["overlaps"] += 1
        count = state["count"]
        for _ in range(1000):  # widen the window between read and write
            pass
        state["count"] = count + 1
        state["inside"] -= 1

    producers_ready = threading.Barrier(4, timeout=5)
    results: queue.Queue[Result[None]] = queue.Queue()

    def produce() -> None:
        producers_ready.wait()
        for _ in range(250):
            results.put(reactor.call(increment))

    producers = [threading.Thread(target=produce) for _ in range(4)]
    for producer in producers:
        producer.start()
    for producer in producers:
        producer.join(timeout=10)

    for _ in range(1000):
        results.get(timeout=5).get_result(timeout=5)
    assert state == {"count": 1000, "inside": 0, "overlaps": 0}


def test_calls_from_one_producer_run_in_the_order_queued(reactor: Reactor) -> None:
    order: list[int] = []

    results = [reactor.call(order.append, n) for n in range(200)]

    results[-1].get_result(timeout=5)
    assert order == list(range(200))


def test_calls_queued_before_start_run_once_it_starts(
    make_reactor: Callable[..., Reactor],
) -> None:
    reactor = make_reactor()
    result = reactor.call(thread_name)
    assert reactor.queued_count == 1
    assert not result.done()

    reactor.start()

    assert result.get_result(timeout=5) == reactor.name


def test_call_in_thread_runs_on_a_pool_thread(reactor: Reactor) -> None:
    name = reactor.call_in_thread(thread_name).get_result(timeout=5)

    assert name.startswith(f"{reactor.name}-pool-")


def test_call_in_thread_runs_calls_concurrently(reactor: Reactor) -> None:
    barrier = threading.Barrier(3, timeout=5)

    results = [reactor.call_in_thread(barrier.wait) for _ in range(3)]

    assert sorted(r.get_result(timeout=5) for r in results) == [0, 1, 2]


# -- deferral ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "to_thread",
    [defer_to_thread, Reactor.defer_to_thread],
    ids=["asyncthreads.defer_to_thread", "Reactor.defer_to_thread"],
)
def test_defer_to_thread_finishes_the_original_result_in_a_pool_thread(
    reactor: Reactor, to_thread: Callable[..., Deferral[Any]]
) -> None:
    threads: list[str] = []
    callbacks: list[tuple[Any, str]] = []
    results_q: queue.Queue[Result[Any]] = queue.Queue()

    def on_reactor(x: int) -> Deferral[int]:
        threads.append(thread_name())
        return to_thread(in_pool, x)

    def in_pool(x: int) -> int:
        threads.append(thread_name())
        return x * 2

    def callback(value: Any) -> None:
        callbacks.append((value, thread_name()))

    # Typed by what on_reactor returns (a Deferral); the Result gets the continuation's value.
    result: Result[Any] = reactor.call(on_reactor, 21, callback=callback, result_q=results_q)

    assert result.get_result(timeout=5) == 42
    assert results_q.get(timeout=5) is result
    [(value, callback_thread)] = callbacks
    assert value == 42
    assert callback_thread.startswith(f"{reactor.name}-pool-")
    assert threads[0] == reactor.name
    assert threads[1].startswith(f"{reactor.name}-pool-")


@pytest.mark.parametrize(
    "to_reactor", [defer, Reactor.defer], ids=["asyncthreads.defer", "Reactor.defer"]
)
def test_defer_from_a_pool_task_finishes_on_the_reactor_thread(
    reactor: Reactor, to_reactor: Callable[..., Deferral[Any]]
) -> None:
    threads: list[str] = []

    def in_pool() -> Deferral[str]:
        threads.append(thread_name())
        return to_reactor(thread_name)

    result: Result[Any] = reactor.call_in_thread(in_pool)

    assert result.get_result(timeout=5) == reactor.name
    assert threads[0].startswith(f"{reactor.name}-pool-")


def test_a_deferred_result_is_running_until_the_continuation_ends(
    reactor: Reactor, gate: threading.Event
) -> None:
    continuation_started = threading.Event()

    def continuation() -> bool:
        continuation_started.set()
        return gate.wait(timeout=10)

    result: Result[Any] = reactor.call(lambda: defer_to_thread(continuation))
    assert continuation_started.wait(timeout=5)

    assert result.running()
    assert not result.done()
    assert result.cancel() is False
    gate.set()
    assert result.get_result(timeout=5) is True


def test_defer_to_thread_is_not_refused_by_a_full_pool_queue(
    make_reactor: Callable[..., Reactor], gate: threading.Event
) -> None:
    pool = ThreadPool(1, max_queue_size=1, name=unique_name())
    try:
        reactor = make_reactor(pool)
        reactor.start()
        hold(pool.submit, gate)
        pool.submit(int)  # the queue is now full

        result: Result[Any] = reactor.call(lambda: defer_to_thread(pow, 2, 7))
        reactor.call(int).get_result(timeout=5)  # the deferral has been handed over

        assert pool.queued_count == 2
        gate.set()
        assert result.get_result(timeout=5) == 128
    finally:
        gate.set()
        pool.shutdown(wait=True)


def test_defer_from_a_task_queued_directly_on_a_pool_fails_with_runtime_error() -> None:
    with ThreadPool(1) as pool:
        result = pool.submit(lambda: defer(int))

        with pytest.raises(RuntimeError, match="needs a Reactor"):
            result.get_result(timeout=5)


# -- deadlock detection --------------------------------------------------------------------


def test_waiting_on_the_reactor_thread_for_a_queued_call_raises_deadlock_error(
    reactor: Reactor,
) -> None:
    def wait_for_a_later_call() -> int:
        return reactor.call(int).get_result()  # no timeout: it must raise, not hang

    with pytest.raises(DeadlockError):
        reactor.call(wait_for_a_later_call).get_result(timeout=5)


def test_waiting_on_the_reactor_thread_for_a_timer_raises_deadlock_error(
    reactor: Reactor,
) -> None:
    def wait_for_a_timer() -> int:
        return reactor.call_later(3600, int).get_result(timeout=3600)

    with pytest.raises(DeadlockError):
        reactor.call(wait_for_a_timer).get_result(timeout=5)


def test_waiting_on_the_reactor_thread_for_a_thread_call_is_allowed(reactor: Reactor) -> None:
    def wait_for_the_pool() -> int:
        return int(reactor.call_in_thread(pow, 2, 3).get_result(timeout=5))

    assert reactor.call(wait_for_the_pool).get_result(timeout=5) == 8


def test_the_reactor_keeps_running_after_a_deadlock_error(reactor: Reactor) -> None:
    reactor.call(lambda: reactor.call(int).get_result()).wait(timeout=5)

    assert reactor.call(pow, 2, 2).get_result(timeout=5) == 4


# -- robustness ----------------------------------------------------------------------------


def test_a_raising_call_does_not_kill_the_reactor_thread(reactor: Reactor) -> None:
    failing_thread: list[int] = []

    def raising() -> None:
        failing_thread.append(threading.get_ident())
        raise Boom

    failed = reactor.call(raising)
    after = reactor.call(threading.get_ident)

    assert isinstance(failed.exception(timeout=5), Boom)
    assert after.get_result(timeout=5) == failing_thread[0]


def test_a_raising_callback_does_not_kill_the_reactor_thread(reactor: Reactor) -> None:
    failing_thread: list[int] = []

    def raising_callback(_: object) -> None:
        failing_thread.append(threading.get_ident())
        raise Boom

    failed = reactor.call(int, callback=raising_callback)
    after = reactor.call(threading.get_ident)

    assert isinstance(failed.exception(timeout=5), Boom)
    assert after.get_result(timeout=5) == failing_thread[0]


def test_a_call_raising_system_exit_does_not_kill_the_reactor_thread(reactor: Reactor) -> None:
    def leave() -> None:
        raise SystemExit(2)

    failed = reactor.call(leave)

    assert isinstance(failed.exception(timeout=5), SystemExit)
    assert reactor.call(thread_name).get_result(timeout=5) == reactor.name


def test_a_raising_timer_does_not_kill_the_reactor_thread(reactor: Reactor) -> None:
    failed = reactor.call_later(0, fail)

    assert isinstance(failed.exception(timeout=5), Boom)
    assert reactor.call(thread_name).get_result(timeout=5) == reactor.name


# -- shutdown ------------------------------------------------------------------------------


def test_shutdown_runs_calls_already_queued(reactor: Reactor, gate: threading.Event) -> None:
    held = hold(reactor.call, gate)
    queued = [reactor.call(pow, 2, n) for n in range(3)]

    reactor.shutdown(wait=False)
    gate.set()
    reactor.shutdown(wait=True)

    assert held.result() is True
    assert [r.result() for r in queued] == [1, 2, 4]


def test_shutdown_runs_thread_calls_already_queued(
    make_reactor: Callable[..., Reactor], gate: threading.Event
) -> None:
    reactor = make_reactor()
    reactor.start()
    reactor.thread_pool.resize_pool(1)
    hold(reactor.call_in_thread, gate)
    queued = reactor.call_in_thread(pow, 2, 9)

    reactor.shutdown(wait=False)
    gate.set()
    reactor.shutdown(wait=True)

    assert queued.result() == 512


SCHEDULE_LATER: dict[str, Callable[[Reactor], Result[Any]]] = {
    "call_later": lambda r: r.call_later(3600, int),
    "call_at": lambda r: r.call_at(r.clock.now() + 3600, int),
    "call_in_thread_later": lambda r: r.call_in_thread_later(3600, int),
    "call_every": lambda r: r.call_every(3600, int),
    "call_every in_thread": lambda r: r.call_every(3600, int, in_thread=True),
}


@pytest.mark.parametrize("schedule", SCHEDULE_LATER.values(), ids=SCHEDULE_LATER.keys())
def test_shutdown_cancels_timers_that_have_not_fired(
    reactor: Reactor, schedule: Callable[[Reactor], Result[Any]]
) -> None:
    timer = schedule(reactor)

    reactor.shutdown(wait=True)

    assert timer.cancelled()
    assert reactor.timer_count == 0


def test_shutdown_with_cancel_futures_cancels_queued_calls(
    reactor: Reactor, gate: threading.Event
) -> None:
    held = hold(reactor.call, gate)
    queued = [reactor.call(int) for _ in range(3)]

    reactor.shutdown(wait=False, cancel_futures=True)

    assert all(r.cancelled() for r in queued)
    gate.set()
    reactor.shutdown(wait=True)
    assert held.result() is True


def test_shutdown_of_a_never_started_reactor_cancels_its_calls(
    make_reactor: Callable[..., Reactor],
) -> None:
    reactor = make_reactor()
    results: list[Result[Any]] = [
        reactor.call(int),
        reactor.call_later(0, int),
        reactor.call_every(1, int),
    ]

    reactor.shutdown(wait=True)

    assert all(r.cancelled() for r in results)


def test_shutdown_of_a_never_started_reactor_cancels_its_queued_thread_calls(
    make_reactor: Callable[..., Reactor], gate: threading.Event
) -> None:
    reactor = make_reactor()
    reactor.thread_pool.resize_pool(1)
    hold(reactor.call_in_thread, gate)
    queued = reactor.call_in_thread(int)

    reactor.shutdown(wait=False)

    assert queued.cancelled()


@pytest.mark.parametrize(
    "use",
    [
        lambda r: r.call(int),
        lambda r: r.call_later(1, int),
        lambda r: r.call_at(0, int),
        lambda r: r.call_in_thread(int),
        lambda r: r.call_in_thread_later(1, int),
        lambda r: r.call_every(1, int),
    ],
    ids=["call", "call_later", "call_at", "call_in_thread", "call_in_thread_later", "call_every"],
)
def test_use_after_shutdown_raises_runtime_error(
    reactor: Reactor, use: Callable[[Reactor], object]
) -> None:
    reactor.shutdown(wait=True)

    with pytest.raises(RuntimeError, match=reactor.name):
        use(reactor)


def test_start_twice_raises_runtime_error(reactor: Reactor) -> None:
    with pytest.raises(RuntimeError, match="running"):
        reactor.start()


def test_start_after_shutdown_raises_runtime_error(reactor: Reactor) -> None:
    reactor.shutdown(wait=True)

    with pytest.raises(RuntimeError):
        reactor.start()


def test_shutdown_is_idempotent(reactor: Reactor) -> None:
    reactor.shutdown(wait=True)
    reactor.shutdown(wait=True)

    assert not reactor.is_running


def test_shutdown_called_on_the_reactor_thread_does_not_wait_for_itself(
    reactor: Reactor,
) -> None:
    reactor.call(reactor.shutdown).get_result(timeout=5)
    reactor.shutdown(wait=True)

    assert not reactor.is_running


def test_the_with_block_starts_the_reactor_and_shuts_it_down() -> None:
    with Reactor(name=unique_name()) as reactor:
        assert reactor.is_running
        result = reactor.call(thread_name)

    assert not reactor.is_running
    assert result.result() == reactor.name
    assert live_threads(reactor) == []


def test_every_result_ends_after_shutdown(reactor: Reactor, gate: threading.Event) -> None:
    results: list[Result[Any]] = [
        hold(reactor.call, gate),
        reactor.call(int),
        reactor.call_later(3600, int),
        reactor.call_at(reactor.clock.now() + 3600, int),
        reactor.call_in_thread(int),
        reactor.call_in_thread_later(3600, int),
        reactor.call_every(3600, int),
        reactor.call_every(3600, int, in_thread=True),
        reactor.call(lambda: defer_to_thread(int)),
        reactor.call_in_thread(lambda: defer(int)),
    ]

    reactor.shutdown(wait=False)
    gate.set()
    reactor.shutdown(wait=True)

    assert [r for r in results if not r.done()] == []


def test_calls_queued_while_the_reactor_shuts_down_are_refused_or_end(
    reactor: Reactor,
) -> None:
    accepted: queue.Queue[Result[int]] = queue.Queue()
    start = threading.Barrier(4, timeout=5)

    def call_until_refused(queue_call: Callable[[Callable[[], int]], Result[int]]) -> None:
        start.wait()
        while True:
            try:
                accepted.put(queue_call(int))
            except RuntimeError:
                return

    producers = [
        threading.Thread(target=call_until_refused, args=(queue_call,))
        for queue_call in (reactor.call, reactor.call_in_thread, reactor.call)
    ]
    for producer in producers:
        producer.start()
    start.wait()
    accepted.get(timeout=5)  # calls are under way
    reactor.shutdown(wait=True)
    for producer in producers:
        producer.join(timeout=5)

    assert not any(producer.is_alive() for producer in producers)
    assert all(accepted.get_nowait().done() for _ in range(accepted.qsize()))


def test_no_reactor_or_pool_thread_is_alive_after_shutdown_with_wait(reactor: Reactor) -> None:
    barrier = threading.Barrier(3, timeout=5)
    for _ in range(3):
        reactor.call_in_thread(barrier.wait)
    reactor.call(int).get_result(timeout=5)
    assert reactor.name in live_threads(reactor)

    reactor.shutdown(wait=True)

    assert live_threads(reactor) == []


def test_a_reactor_does_not_shut_down_a_pool_it_was_given(
    make_reactor: Callable[..., Reactor],
) -> None:
    with ThreadPool(1, name=unique_name()) as pool:
        reactor = make_reactor(pool)
        reactor.start()
        reactor.shutdown(wait=True)

        assert not pool.is_shutdown
        assert pool.submit(pow, 2, 6).get_result(timeout=5) == 64


# -- time and context ----------------------------------------------------------------------


def test_timers_fire_while_freezegun_freezes_time() -> None:
    with freezegun.freeze_time("2020-01-01"), Reactor(name=unique_name()) as reactor:
        timer = reactor.call_later(0.05, lambda: "fired")

        assert timer.get_result(timeout=5) == "fired"


def test_each_call_sees_the_context_of_the_code_that_queued_it(
    reactor: Reactor, gate: threading.Event
) -> None:
    hold(reactor.call, gate)
    token = request_id.set("first")
    try:
        first = reactor.call(request_id.get)
        request_id.set("second")
        second = reactor.call(request_id.get)
        in_thread = reactor.call_in_thread(request_id.get)
    finally:
        request_id.reset(token)
    gate.set()

    assert first.get_result(timeout=5) == "first"
    assert second.get_result(timeout=5) == "second"
    assert in_thread.get_result(timeout=5) == "second"


def test_a_change_made_inside_a_call_does_not_leak_into_the_next(reactor: Reactor) -> None:
    def change() -> str:
        request_id.set("changed-in-call")
        return request_id.get()

    changed = reactor.call(change)
    after = reactor.call(request_id.get)

    assert changed.get_result(timeout=5) == "changed-in-call"
    assert after.get_result(timeout=5) == "none"
    assert request_id.get() == "none"
