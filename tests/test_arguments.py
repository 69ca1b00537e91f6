"""Bad input fails at the call site with TypeError or ValueError naming the problem, and
nothing is queued.

The fixtures hold the reactor thread and the pool's only worker busy, so anything a bad
call had queued would still be counted by ``queued_count`` / ``timer_count``.
"""

from __future__ import annotations

import concurrent.futures
import math
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from asyncthreads import Reactor, Result, ThreadPool, ThreadScheduler, defer, defer_to_thread
from asyncthreads.testing import Simulation, VirtualClock

pytestmark = pytest.mark.timeout(30)

NOT_CALLABLE = 42


def hold(queue_call: Callable[[Callable[[], bool]], Result[bool]], gate: threading.Event) -> None:
    """Queue a call that blocks until ``gate`` is set; return once it has started."""
    started = threading.Event()

    def held() -> bool:
        started.set()
        return gate.wait(timeout=10)

    queue_call(held)
    assert started.wait(timeout=5)


@pytest.fixture
def pool(gate: threading.Event) -> Iterator[ThreadPool]:
    """A one-worker pool whose worker is busy until the test ends."""
    pool = ThreadPool(1, name="args-pool")
    hold(pool.submit, gate)
    yield pool
    gate.set()
    pool.shutdown(wait=True)


@pytest.fixture
def reactor(pool: ThreadPool, gate: threading.Event) -> Iterator[Reactor]:
    """A started reactor on ``pool`` whose thread is busy until the test ends."""
    reactor = Reactor(pool, name="args-reactor")
    reactor.start()
    hold(reactor.call, gate)
    yield reactor
    gate.set()
    reactor.shutdown(wait=True)


def assert_nothing_queued(reactor: Reactor) -> None:
    assert (reactor.queued_count, reactor.timer_count, reactor.thread_pool.queued_count) == (
        0,
        0,
        0,
    )


def test_a_valid_call_is_counted_while_the_reactor_is_held(reactor: Reactor) -> None:
    """The control for every ``assert_nothing_queued`` below."""
    reactor.call(int)
    reactor.call_later(1, int)
    reactor.call_in_thread(int)

    assert (reactor.queued_count, reactor.timer_count, reactor.thread_pool.queued_count) == (
        1,
        1,
        1,
    )


# -- func and callback must be callable ----------------------------------------------------

WITH_FUNC: dict[str, Callable[[Reactor, Any], object]] = {
    "call": lambda r, f: r.call(f),
    "call_later": lambda r, f: r.call_later(1, f),
    "call_at": lambda r, f: r.call_at(0, f),
    "call_in_thread": lambda r, f: r.call_in_thread(f),
    "call_in_thread_later": lambda r, f: r.call_in_thread_later(1, f),
    "call_later_in_thread": lambda r, f: r.call_later_in_thread(1, f),
    "call_every": lambda r, f: r.call_every(1, f),
    "pool.queue_task": lambda r, f: r.thread_pool.queue_task(f),
}


@pytest.mark.parametrize("queue_call", WITH_FUNC.values(), ids=WITH_FUNC.keys())
def test_a_non_callable_func_raises_type_error(
    reactor: Reactor, queue_call: Callable[[Reactor, Any], object]
) -> None:
    with pytest.raises(TypeError, match="func must be callable, got int 42"):
        queue_call(reactor, NOT_CALLABLE)

    assert_nothing_queued(reactor)


def test_submit_with_a_non_callable_fn_raises_type_error(reactor: Reactor) -> None:
    with pytest.raises(TypeError, match="fn must be callable"):
        reactor.thread_pool.submit(NOT_CALLABLE)  # type: ignore[arg-type]

    assert_nothing_queued(reactor)


@pytest.mark.parametrize("make_deferral", [defer, defer_to_thread])
def test_a_deferral_of_a_non_callable_raises_type_error_where_it_is_made(
    make_deferral: Callable[..., object],
) -> None:
    with pytest.raises(TypeError, match="func must be callable"):
        make_deferral(NOT_CALLABLE)


WITH_CALLBACK: dict[str, Callable[[Reactor, Any], object]] = {
    "call": lambda r, cb: r.call(int, callback=cb),
    "call_later": lambda r, cb: r.call_later(1, int, callback=cb),
    "call_at": lambda r, cb: r.call_at(0, int, callback=cb),
    "call_in_thread": lambda r, cb: r.call_in_thread(int, callback=cb),
    "call_in_thread_later": lambda r, cb: r.call_in_thread_later(1, int, callback=cb),
    "pool.queue_task": lambda r, cb: r.thread_pool.queue_task(int, callback=cb),
}


@pytest.mark.parametrize("queue_call", WITH_CALLBACK.values(), ids=WITH_CALLBACK.keys())
def test_a_non_callable_callback_raises_type_error(
    reactor: Reactor, queue_call: Callable[[Reactor, Any], object]
) -> None:
    with pytest.raises(TypeError, match="callback must be callable or None, got str 'x'"):
        queue_call(reactor, "x")

    assert_nothing_queued(reactor)


# -- delays --------------------------------------------------------------------------------

WITH_DELAY: dict[str, Callable[[Reactor, Any], object]] = {
    "call_later": lambda r, d: r.call_later(d, int),
    "call_in_thread_later": lambda r, d: r.call_in_thread_later(d, int),
    "call_later_in_thread": lambda r, d: r.call_later_in_thread(d, int),
}

BAD_DELAYS = [
    pytest.param(-1, ValueError, "delay must not be negative", id="negative"),
    pytest.param(-0.001, ValueError, "delay must not be negative", id="slightly-negative"),
    pytest.param(math.nan, ValueError, "delay must be finite", id="nan"),
    pytest.param(math.inf, ValueError, "delay must be finite", id="inf"),
    pytest.param(-math.inf, ValueError, "delay must be finite", id="-inf"),
    pytest.param("1", TypeError, "delay must be a number of seconds", id="str"),
    pytest.param(None, TypeError, "delay must be a number of seconds", id="None"),
    pytest.param(True, TypeError, "delay must be a number of seconds", id="bool"),
]


@pytest.mark.parametrize("queue_call", WITH_DELAY.values(), ids=WITH_DELAY.keys())
@pytest.mark.parametrize(("delay", "error", "message"), BAD_DELAYS)
def test_a_bad_delay_raises(
    reactor: Reactor,
    queue_call: Callable[[Reactor, Any], object],
    delay: object,
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        queue_call(reactor, delay)

    assert_nothing_queued(reactor)


@pytest.mark.parametrize(
    ("when", "error", "message"),
    [
        pytest.param(math.nan, ValueError, "when must be finite", id="nan"),
        pytest.param(math.inf, ValueError, "when must be finite", id="inf"),
        pytest.param(-math.inf, ValueError, "when must be finite", id="-inf"),
        pytest.param("soon", TypeError, "when must be a number of seconds", id="str"),
        pytest.param(False, TypeError, "when must be a number of seconds", id="bool"),
    ],
)
def test_call_at_with_a_bad_time_raises(
    reactor: Reactor, when: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        reactor.call_at(when, int)  # type: ignore[call-overload]

    assert_nothing_queued(reactor)


@pytest.mark.parametrize(
    ("interval", "error", "message"),
    [
        pytest.param(0, ValueError, "interval must be positive", id="zero"),
        pytest.param(0.0, ValueError, "interval must be positive", id="zero-float"),
        pytest.param(-1, ValueError, "interval must be positive", id="negative"),
        pytest.param(math.nan, ValueError, "interval must be finite", id="nan"),
        pytest.param(math.inf, ValueError, "interval must be finite", id="inf"),
        pytest.param("1", TypeError, "interval must be a number of seconds", id="str"),
        pytest.param(True, TypeError, "interval must be a number of seconds", id="bool"),
    ],
)
def test_call_every_with_a_bad_interval_raises(
    reactor: Reactor, interval: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        reactor.call_every(interval, int)  # type: ignore[arg-type]

    assert_nothing_queued(reactor)


def test_call_every_with_a_non_bool_in_thread_raises_type_error(reactor: Reactor) -> None:
    with pytest.raises(TypeError, match="in_thread must be a bool"):
        reactor.call_every(1, int, in_thread="yes")  # type: ignore[arg-type]

    assert_nothing_queued(reactor)


@pytest.mark.parametrize(
    "queue_call",
    [
        lambda r: r.call_later(10**400, int),
        lambda r: r.call_at(10**400, int),
        lambda r: r.call_every(10**400, int),
    ],
    ids=["call_later", "call_at", "call_every"],
)
def test_a_delay_too_large_for_a_float_raises_value_error(
    reactor: Reactor, queue_call: Callable[[Reactor], object]
) -> None:
    with pytest.raises(ValueError, match="must be finite"):
        queue_call(reactor)


# -- result_q ------------------------------------------------------------------------------

WITH_RESULT_Q: dict[str, Callable[[Reactor, Any], object]] = {
    "call": lambda r, q: r.call(int, result_q=q),
    "call_later": lambda r, q: r.call_later(1, int, result_q=q),
    "call_at": lambda r, q: r.call_at(0, int, result_q=q),
    "call_in_thread": lambda r, q: r.call_in_thread(int, result_q=q),
    "call_in_thread_later": lambda r, q: r.call_in_thread_later(1, int, result_q=q),
    "pool.queue_task": lambda r, q: r.thread_pool.queue_task(int, result_q=q),
}


class PutIsNotCallable:
    put = "not a method"


@pytest.mark.parametrize("queue_call", WITH_RESULT_Q.values(), ids=WITH_RESULT_Q.keys())
@pytest.mark.parametrize("result_q", [[], object(), PutIsNotCallable()], ids=type)
def test_a_result_q_without_put_raises_type_error(
    reactor: Reactor, queue_call: Callable[[Reactor, Any], object], result_q: object
) -> None:
    with pytest.raises(TypeError, match=r"result_q must have a put\(\) method"):
        queue_call(reactor, result_q)

    assert_nothing_queued(reactor)


# -- pool sizes ----------------------------------------------------------------------------

BAD_SIZES = [
    pytest.param(-1, ValueError, "num_threads must not be negative", id="negative"),
    pytest.param(1.5, TypeError, "num_threads must be an int", id="float"),
    pytest.param(2.0, TypeError, "num_threads must be an int", id="integral-float"),
    pytest.param("2", TypeError, "num_threads must be an int", id="str"),
    pytest.param(None, TypeError, "num_threads must be an int", id="None"),
    pytest.param(True, TypeError, "num_threads must be an int", id="bool"),
]


# None is ThreadPool's default size, as it is ThreadPoolExecutor's; resize_pool refuses it.
@pytest.mark.parametrize(
    ("size", "error", "message"), [size for size in BAD_SIZES if size.id != "None"]
)
def test_thread_pool_with_a_bad_size_raises(
    size: object, error: type[Exception], message: str
) -> None:
    before = {t.name for t in threading.enumerate()}

    with pytest.raises(error, match=message):
        ThreadPool(size)  # type: ignore[arg-type]

    assert {t.name for t in threading.enumerate()} <= before


@pytest.mark.parametrize(("size", "error", "message"), BAD_SIZES)
def test_resize_pool_with_a_bad_size_raises_and_keeps_the_size(
    pool: ThreadPool, size: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        pool.resize_pool(size)  # type: ignore[arg-type]

    assert pool.thread_count == 1


def test_thread_pool_with_a_non_int_queue_size_raises_type_error() -> None:
    with pytest.raises(TypeError, match="max_queue_size must be an int"):
        ThreadPool(1, "10")  # type: ignore[arg-type]


# -- Reactor construction ------------------------------------------------------------------


def test_reactor_with_a_thread_pool_that_is_not_a_thread_pool_raises_type_error() -> None:
    with pytest.raises(TypeError, match="thread_pool must be a ThreadPool"):
        Reactor(thread_pool=object())  # type: ignore[arg-type]


def test_reactor_given_both_thread_pool_and_its_alias_executor_raises_type_error() -> None:
    with (
        concurrent.futures.ThreadPoolExecutor(1) as executor,
        pytest.raises(TypeError, match="thread_pool or its alias executor, not both"),
    ):
        Reactor(thread_pool=executor, executor=executor)


def test_reactor_with_a_non_str_name_raises_type_error() -> None:
    with pytest.raises(TypeError, match="name must be a str"):
        Reactor(name=7)  # type: ignore[arg-type]


# -- clock, scheduler and timeout ------------------------------------------------------------


class NoScheduler:
    """Has some of the Scheduler members, not all."""

    lock = threading.RLock()

    def start(self) -> None: ...


@pytest.mark.parametrize("clock", [object(), 42, "monotonic"])
@pytest.mark.parametrize("make", [ThreadPool, Reactor], ids=["pool", "reactor"])
def test_a_clock_without_now_raises_type_error_naming_clock(make: Any, clock: object) -> None:
    args = (1,) if make is ThreadPool else ()
    with pytest.raises(TypeError, match=r"^clock must have a now\(\) method"):
        make(*args, clock=clock)


@pytest.mark.parametrize("scheduler", [object(), NoScheduler()])
@pytest.mark.parametrize("make", [ThreadPool, Reactor], ids=["pool", "reactor"])
def test_a_scheduler_missing_members_raises_type_error_naming_them(
    make: Any, scheduler: object
) -> None:
    args = (1,) if make is ThreadPool else ()
    with pytest.raises(
        TypeError, match=r"^scheduler must implement .* has no .*wait.*current_actor"
    ):
        make(*args, scheduler=scheduler)


@pytest.mark.parametrize("make", [ThreadPool, Reactor], ids=["pool", "reactor"])
def test_a_simulation_clock_without_its_scheduler_raises_value_error(make: Any) -> None:
    # The production scheduler waits in real time: its timers would never fire.
    sim = Simulation()
    args = (1,) if make is ThreadPool else ()
    with pytest.raises(
        ValueError, match=r"^clock .* moves only when told.*scheduler=sim.scheduler"
    ):
        make(*args, clock=sim.clock)
    with pytest.raises(ValueError, match=r"^clock .* moves only when told"):
        make(*args, clock=sim.clock, scheduler=ThreadScheduler())


def test_a_thread_scheduler_refuses_to_start_an_actor_on_a_manual_clock() -> None:
    class Idle:
        name = "idle"

        def next_work(self, now: float) -> None:
            return None

    with pytest.raises(ValueError, match="moves only when told"):
        ThreadScheduler().start(Idle(), VirtualClock())


@pytest.mark.parametrize("wait", ["result", "get_result", "exception", "wait"])
@pytest.mark.parametrize(
    ("timeout", "error"),
    [("5", TypeError), (True, TypeError), ([1], TypeError), (math.nan, ValueError)],
)
def test_a_bad_timeout_raises_at_once(
    pool: ThreadPool, wait: str, timeout: object, error: type[Exception]
) -> None:
    queued = pool.submit(int)  # behind the held worker: not done

    with pytest.raises(error, match=r"^timeout must be a number of seconds or None"):
        getattr(queued, wait)(timeout=timeout)


@pytest.mark.parametrize(
    "timeout", [0, 0.0, -1, math.inf, 10**400], ids=["0", "0.0", "-1", "inf", "10**400"]
)
def test_a_numeric_timeout_is_accepted(pool: ThreadPool, timeout: float) -> None:
    done = Result[int](ThreadScheduler())
    done.set_result(3)

    assert done.result(timeout=timeout) == 3


def test_a_reactor_on_a_foreign_executor_checks_its_clock_and_scheduler() -> None:
    with concurrent.futures.ThreadPoolExecutor(1) as executor:
        with pytest.raises(TypeError, match=r"^clock must have a now\(\) method"):
            Reactor(executor=executor, clock=object())  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"^scheduler must implement"):
            Reactor(executor=executor, scheduler=object())  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=r"^clock .* moves only when told"):
            Reactor(executor=executor, clock=VirtualClock())
