"""Reactor on real OS threads: the serial reactor thread, the pool, deferral between them,
deadlock detection, robustness, shutdown, freezegun and contextvars."""

from __future__ import annotations

import contextvars
import dis
import gc
import itertools
import queue
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import freezegun
import pytest

from asyncthreads import (
    CancelledError,
    DeadlockError,
    Deferral,
    Reactor,
    Result,
    ThreadPool,
    defer,
    defer_to_thread,
)
from asyncthreads.task import Task
from asyncthreads.timer_heap import TimerHeap

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


# -- a thread that cannot start ------------------------------------------------------------


def test_a_reactor_whose_thread_cannot_start_is_shut_down_and_not_running(
    make_reactor: Callable[..., Reactor], monkeypatch: pytest.MonkeyPatch
) -> None:
    reactor = make_reactor()  # its pool's threads start here, before the fault
    queued = reactor.call(int)
    timer = reactor.call_later(3600, int)

    def cannot_start(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", cannot_start)
    with pytest.raises(RuntimeError, match="can't start new thread"):
        reactor.start()
    monkeypatch.undo()

    assert not reactor.is_running
    assert queued.cancelled()
    assert timer.cancelled()
    reactor.shutdown(wait=True)  # returns: nothing waits for a thread that never ran
    assert reactor.join(timeout=5) is True
    with pytest.raises(RuntimeError, match="stopped"):
        reactor.start()  # a failed start is final


# -- join ----------------------------------------------------------------------------------


def test_join_with_a_timeout_answers_false_while_the_reactor_runs(reactor: Reactor) -> None:
    assert reactor.join(timeout=0.01) is False
    assert reactor.is_running


def test_join_answers_true_once_the_shutdown_has_finished(
    reactor: Reactor, gate: threading.Event
) -> None:
    held = hold(reactor.call, gate)
    reactor.shutdown(wait=False)
    assert reactor.join(timeout=0.01) is False  # the held call still runs

    gate.set()

    assert reactor.join(timeout=5) is True
    assert held.result() is True
    assert live_threads(reactor) == []


def test_join_on_the_reactor_thread_raises_runtime_error(reactor: Reactor) -> None:
    with pytest.raises(RuntimeError, match="its own thread"):
        reactor.call(reactor.join).result(timeout=5)


@pytest.mark.parametrize("timeout", ["1", object()])
def test_join_with_a_timeout_that_is_not_a_number_raises_type_error(
    reactor: Reactor, timeout: object
) -> None:
    with pytest.raises(TypeError, match="timeout"):
        reactor.join(timeout=timeout)  # type: ignore[arg-type]


# -- collection of a dropped reactor -------------------------------------------------------


def wait_until(condition: Callable[[], bool], seconds: float = 10) -> bool:
    """Poll ``condition`` (collecting garbage first) until it holds or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while True:
        gc.collect()
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        threading.Event().wait(0.01)


def test_a_dropped_reactor_and_the_pool_it_made_are_collected_and_their_threads_end() -> None:
    reactor = Reactor(name=unique_name())
    reactor.start()
    assert reactor.call(pow, 2, 3).result(timeout=5) == 8
    assert reactor.call_in_thread(pow, 2, 4).result(timeout=5) == 16
    name = reactor.name
    reactor_ref = weakref.ref(reactor)
    pool_ref = weakref.ref(reactor.thread_pool)
    del reactor

    # The reactor thread may hold its last call for a moment after finishing it.
    assert wait_until(lambda: reactor_ref() is None)
    assert wait_until(lambda: pool_ref() is None)
    for thread in threading.enumerate():
        if thread.name == name or thread.name.startswith(f"{name}-pool-"):
            thread.join(timeout=5)
            assert not thread.is_alive()


def test_a_dropped_reactor_with_a_pending_timer_stays_until_the_timer_has_run() -> None:
    ran = threading.Event()
    reactor = Reactor(name=unique_name())
    reactor.start()
    reactor.call_later(0.05, ran.set)
    reactor_ref = weakref.ref(reactor)
    del reactor
    gc.collect()

    assert reactor_ref() is not None
    assert ran.wait(timeout=5)
    assert wait_until(lambda: reactor_ref() is None)


# -- introspection under concurrent change -------------------------------------------------


def meanwhile_in_another_thread(
    code: Any, action: Callable[[], object], *, at_opcode_loading: str | None = None
) -> Callable[[FrameType, str, Any], Any]:
    """A trace function that, the first time ``code`` runs (at its start, or just before
    the instruction loading ``at_opcode_loading``), runs ``action`` in another thread and
    gives it a moment to finish: a concurrent change forced between two steps of
    ``code``. A thread the reactor's lock holds up just waits: that is the point."""
    offsets = {i.offset for i in dis.get_instructions(code) if i.argval == at_opcode_loading}
    done: list[bool] = []

    def act() -> None:
        if not done:
            done.append(True)
            thread = threading.Thread(target=action)
            thread.start()
            thread.join(timeout=0.5)
            others.append(thread)

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "opcode" and frame.f_lasti in offsets:
            act()
        return local

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code is not code:
            return None
        if at_opcode_loading is None:
            act()
            return None
        frame.f_trace_opcodes = True
        return local

    others: list[threading.Thread] = []
    trace.others = others  # type: ignore[attr-defined]
    return trace


def traced(trace: Callable[[FrameType, str, Any], Any], read: Callable[[], object]) -> object:
    sys.settrace(trace)
    try:
        return read()
    finally:
        sys.settrace(None)
        for thread in trace.others:  # type: ignore[attr-defined]
            thread.join(timeout=5)


def test_queued_count_never_raises_while_calls_are_queued(
    make_reactor: Callable[..., Reactor],
) -> None:
    reactor = make_reactor()  # not started: calls stay queued
    reactor.call(int)
    # While it reads the queue, another thread queues a call.
    future_property: Any = Task.future
    trace = meanwhile_in_another_thread(future_property.fget.__code__, lambda: reactor.call(int))

    count = traced(trace, lambda: reactor.queued_count)

    assert count in (1, 2)
    assert reactor.queued_count == 2


@pytest.mark.parametrize("read", [lambda r: r.timer_count, repr], ids=["timer_count", "repr"])
def test_timer_count_and_repr_never_raise_while_timers_change(
    make_reactor: Callable[..., Reactor], read: Callable[[Reactor], object]
) -> None:
    reactor = make_reactor()

    def schedule_and_cancel() -> None:
        reactor.call_later(3600, int).cancel()

    # Between its read of the heap's size and of its cancelled count, another thread
    # schedules and cancels a timer.
    trace = meanwhile_in_another_thread(
        TimerHeap.__len__.__code__, schedule_and_cancel, at_opcode_loading="_cancelled"
    )

    traced(trace, lambda: read(reactor))

    assert reactor.timer_count == 0


# -- cancel as a periodic run starts, on real threads ---------------------------------------


@pytest.mark.parametrize("in_thread", [False, True], ids=["on the reactor", "in the pool"])
def test_cancel_scheduled_from_another_thread_as_a_run_starts_answers_false(
    reactor: Reactor, in_thread: bool
) -> None:
    answers: queue.Queue[bool] = queue.Queue()
    entered = threading.Event()
    result = reactor.call_every(0.01, entered.set, in_thread=in_thread)
    [(_, timer)] = reactor.pending_timers()
    periodic: Any = timer.work if in_thread else timer  # type: ignore[attr-defined]
    function = periodic.call

    def cancel_from_another_thread_then_enter() -> object:  # a hook on a private name
        canceller = threading.Thread(target=lambda: answers.put(reactor.cancel_scheduled(result)))
        canceller.start()
        canceller.join(timeout=5)
        return function()

    periodic.call = cancel_from_another_thread_then_enter

    assert answers.get(timeout=5) is False
    assert entered.wait(timeout=5)
    with pytest.raises(CancelledError):  # the task stopped after that run
        result.result(timeout=5)


def test_shutdown_with_wait_called_in_a_pool_thread_does_not_wait_for_that_thread(
    reactor: Reactor,
) -> None:
    reactor.call_in_thread(reactor.shutdown, wait=True).result(timeout=5)

    assert reactor.join(timeout=5) is True
