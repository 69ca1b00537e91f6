"""The simulated primitives behave as the standard library's: each test runs on real
threads with ``threading``/``queue`` and on the simulation with ours (see
``tests/primitive_worlds.py``). Ordering comes from events, never from sleeping; a real
wait that must time out waits ``SHORT`` seconds, which in the simulation are virtual."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from asyncthreads.testing import Simulation
from tests.primitive_worlds import SHORT, SimWorld, ThreadWorld, World

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(params=["threads", "simulation"])
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    if request.param == "threads":
        yield ThreadWorld()
    else:
        with Simulation() as sim:
            yield SimWorld(sim)


def timed_out_virtually(world: World, started: float) -> None:
    """In the simulation, a wait that timed out ended exactly SHORT virtual seconds on."""
    if isinstance(world, SimWorld):
        assert world.now() == pytest.approx(started + SHORT)


def now(world: World) -> float:
    return world.now() if isinstance(world, SimWorld) else 0.0


# -- Lock -------------------------------------------------------------------------------


def test_a_held_lock_is_not_acquired_without_blocking(world: World) -> None:
    lock = world.Lock()
    assert lock.acquire()
    assert world.join(world.start(lambda: lock.acquire(False))) is False
    assert lock.locked()


def test_releasing_an_unlocked_lock_raises_runtime_error(world: World) -> None:
    with pytest.raises(RuntimeError):
        world.Lock().release()


def test_a_lock_acquired_by_one_thread_may_be_released_by_another(world: World) -> None:
    lock = world.Lock()
    lock.acquire()
    world.join(world.start(lock.release))
    assert not lock.locked()


def test_acquiring_a_held_lock_with_a_timeout_gives_up_after_it(world: World) -> None:
    lock = world.Lock()
    lock.acquire()
    started = now(world)
    assert world.join(world.start(lambda: lock.acquire(timeout=SHORT))) is False
    timed_out_virtually(world, started)


def test_a_blocked_acquire_returns_once_the_holder_releases(world: World) -> None:
    lock = world.Lock()
    lock.acquire()
    trying = world.Event()

    def take() -> bool:
        trying.set()
        got: bool = lock.acquire()
        lock.release()
        return got

    taker = world.start(take)
    trying.wait()
    lock.release()
    assert world.join(taker) is True


def test_acquire_rejects_a_timeout_without_blocking_or_a_negative_one(world: World) -> None:
    lock = world.Lock()
    with pytest.raises(ValueError, match="non-blocking"):
        lock.acquire(False, 1)
    with pytest.raises(ValueError, match="must be positive"):
        lock.acquire(True, -2)


def test_with_lock_releases_it_on_an_exception(world: World) -> None:
    lock = world.Lock()
    with pytest.raises(KeyError), lock:
        raise KeyError
    assert not lock.locked()


# -- RLock ------------------------------------------------------------------------------


def test_an_rlock_owner_acquires_it_again_and_must_release_it_as_often(world: World) -> None:
    lock = world.RLock()
    assert lock.acquire()
    assert lock.acquire()
    lock.release()
    assert world.join(world.start(lambda: lock.acquire(False))) is False
    lock.release()
    assert world.join(world.start(lambda: lock.acquire(False))) is True


def test_an_rlock_owned_by_another_thread_cannot_be_released(world: World) -> None:
    lock = world.RLock()
    lock.acquire()
    with pytest.raises(RuntimeError):
        world.join(world.start(lock.release))


def test_releasing_an_unacquired_rlock_raises_runtime_error(world: World) -> None:
    with pytest.raises(RuntimeError):
        world.RLock().release()


# -- Condition --------------------------------------------------------------------------


def test_a_condition_is_waited_on_and_notified_only_with_its_lock_held(world: World) -> None:
    condition = world.Condition()
    with pytest.raises(RuntimeError):
        condition.wait(0)
    with pytest.raises(RuntimeError):
        condition.notify()


def test_a_condition_wait_times_out_false(world: World) -> None:
    condition = world.Condition()
    started = now(world)
    with condition:
        assert condition.wait(SHORT) is False
    timed_out_virtually(world, started)


def test_notify_wakes_one_waiter_and_notify_all_the_rest(world: World) -> None:
    condition = world.Condition(world.Lock())
    state = {"waiting": 0, "permits": 0, "woken": 0}

    def waiter() -> None:
        with condition:
            state["waiting"] += 1
            condition.notify_all()  # tell the test
            condition.wait_for(lambda: state["permits"] > 0)
            state["permits"] -= 1
            state["woken"] += 1
            condition.notify_all()

    waiters = [world.start(waiter) for _ in range(3)]
    with condition:
        assert condition.wait_for(lambda: state["waiting"] == 3, 10)
        state["permits"] = 1
        condition.notify()
        assert condition.wait_for(lambda: state["woken"] == 1, 10)
        state["permits"] = 2
        condition.notify_all()
    for handle in waiters:
        world.join(handle)
    assert state["woken"] == 3


def test_wait_for_returns_the_predicates_last_value(world: World) -> None:
    condition = world.Condition()
    with condition:
        assert condition.wait_for(lambda: 0, SHORT) == 0
        assert condition.wait_for(lambda: "yes") == "yes"


def test_a_condition_on_an_rlock_held_twice_releases_it_fully_while_waiting(
    world: World,
) -> None:
    lock = world.RLock()
    condition = world.Condition(lock)

    def notify() -> None:
        with condition:  # only possible if the waiter released every level
            condition.notify()

    with lock, lock:
        notifier = world.start(notify)
        assert condition.wait(10) is True
    # The two releases above succeeded: the wait restored both levels.
    world.join(notifier)
    assert world.join(world.start(lambda: lock.acquire(False))) is True


# -- Event ------------------------------------------------------------------------------


def test_an_event_wait_times_out_false_until_set(world: World) -> None:
    event = world.Event()
    started = now(world)
    assert event.wait(SHORT) is False
    timed_out_virtually(world, started)
    event.set()
    assert event.wait() is True
    assert event.is_set()
    event.clear()
    assert not event.is_set()


def test_setting_an_event_wakes_its_waiter(world: World) -> None:
    event = world.Event()
    waiter = world.start(event.wait)
    event.set()
    assert world.join(waiter) is True


# -- Semaphores -------------------------------------------------------------------------


def test_a_semaphore_admits_its_value_and_then_times_out(world: World) -> None:
    semaphore = world.Semaphore(2)
    assert semaphore.acquire()
    assert semaphore.acquire()
    assert semaphore.acquire(False) is False
    started = now(world)
    assert world.join(world.start(lambda: semaphore.acquire(timeout=SHORT))) is False
    timed_out_virtually(world, started)
    semaphore.release()
    assert world.join(world.start(lambda: semaphore.acquire(timeout=10))) is True


def test_a_semaphore_release_lets_a_blocked_acquire_in(world: World) -> None:
    semaphore = world.Semaphore(0)
    waiter = world.start(semaphore.acquire)
    semaphore.release()
    assert world.join(waiter) is True


def test_semaphores_reject_bad_values(world: World) -> None:
    with pytest.raises(ValueError, match="initial value"):
        world.Semaphore(-1)
    with pytest.raises(ValueError, match="non-blocking"):
        world.Semaphore().acquire(False, 1)
    with pytest.raises(ValueError, match="one or more"):
        world.Semaphore().release(0)


def test_a_bounded_semaphore_released_too_often_raises_value_error(world: World) -> None:
    semaphore = world.BoundedSemaphore(1)
    semaphore.acquire()
    semaphore.release()
    with pytest.raises(ValueError, match="too many times"):
        semaphore.release()


# -- Barrier ----------------------------------------------------------------------------


def test_a_barrier_lets_its_parties_through_together_after_its_action(world: World) -> None:
    actions: list[int] = []
    barrier = world.Barrier(3, action=lambda: actions.append(1))
    others = [world.start(barrier.wait) for _ in range(2)]
    indices = [barrier.wait(), *(world.join(h) for h in others)]
    assert sorted(indices) == [0, 1, 2]
    assert actions == [1]
    assert barrier.n_waiting == 0


def test_a_barrier_wait_that_times_out_breaks_it(world: World) -> None:
    barrier = world.Barrier(2)
    started = now(world)
    with pytest.raises(threading.BrokenBarrierError):
        barrier.wait(SHORT)
    timed_out_virtually(world, started)
    assert barrier.broken
    with pytest.raises(threading.BrokenBarrierError):
        barrier.wait()


def test_a_barriers_default_timeout_applies_to_wait(world: World) -> None:
    barrier = world.Barrier(2, timeout=SHORT)
    with pytest.raises(threading.BrokenBarrierError):
        barrier.wait()


def test_aborting_a_barrier_breaks_its_waiters(world: World) -> None:
    barrier = world.Barrier(3)
    waiter = world.start(barrier.wait)
    barrier.abort()
    with pytest.raises(threading.BrokenBarrierError):
        world.join(waiter)
    assert barrier.broken


def test_resetting_a_barrier_breaks_its_waiters_and_makes_it_usable_again(world: World) -> None:
    barrier = world.Barrier(2)
    arrived = world.Event()

    def wait_after_telling() -> int:
        arrived.set()
        index: int = barrier.wait()
        return index

    waiter = world.start(wait_after_telling)
    arrived.wait()
    barrier.reset()
    try:
        world.join(waiter)
        pytest.fail("the waiter was not broken")  # pragma: no cover
    except threading.BrokenBarrierError:
        pass
    except AssertionError:  # pragma: no cover
        raise
    assert not barrier.broken
    other = world.start(barrier.wait)
    assert sorted([barrier.wait(), world.join(other)]) == [0, 1]


# -- queues -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("Queue", [3, 1, 2]), ("LifoQueue", [2, 1, 3]), ("PriorityQueue", [1, 2, 3])],
)
def test_each_queue_gives_items_in_its_order(world: World, kind: str, expected: list[int]) -> None:
    q = getattr(world, kind)()
    for item in (3, 1, 2):
        q.put(item)
    assert q.qsize() == 3
    assert [q.get() for _ in range(3)] == expected
    assert q.empty()


def test_a_full_queue_raises_full_and_an_empty_one_empty(world: World) -> None:
    q = world.Queue(maxsize=1)
    q.put_nowait("a")
    assert q.full()
    with pytest.raises(queue.Full):
        q.put_nowait("b")
    started = now(world)
    with pytest.raises(queue.Full):
        q.put("b", timeout=SHORT)
    timed_out_virtually(world, started)
    assert q.get_nowait() == "a"
    with pytest.raises(queue.Empty):
        q.get_nowait()
    started = now(world)
    with pytest.raises(queue.Empty):
        q.get(timeout=SHORT)
    timed_out_virtually(world, started)


def test_a_blocked_get_returns_what_another_thread_puts(world: World) -> None:
    q = world.Queue()
    getter = world.start(q.get)
    q.put("item")
    assert world.join(getter) == "item"


def test_a_blocked_put_returns_once_another_thread_makes_room(world: World) -> None:
    q = world.Queue(maxsize=1)
    q.put(1)
    putter = world.start(lambda: q.put(2))
    assert q.get() == 1
    world.join(putter)
    assert q.get(timeout=10) == 2


def test_queue_join_returns_once_every_item_is_marked_done(world: World) -> None:
    q = world.Queue()
    done: list[Any] = []

    def consume() -> None:
        for _ in range(3):
            done.append(q.get())
            q.task_done()

    q.put(1)
    q.put(2)
    q.put(3)
    consumer = world.start(consume)
    q.join()
    assert done == [1, 2, 3]
    world.join(consumer)
    with pytest.raises(ValueError, match="too many times"):
        q.task_done()


def test_a_queue_rejects_a_negative_timeout(world: World) -> None:
    q = world.Queue(maxsize=1)
    with pytest.raises(ValueError, match="non-negative"):
        q.get(timeout=-1)
    q.put(1)
    with pytest.raises(ValueError, match="non-negative"):
        q.put(2, timeout=-1)


def test_a_simple_queue_is_fifo_and_times_out_empty(world: World) -> None:
    q = world.SimpleQueue()
    getter = world.start(q.get)
    q.put("first")
    assert world.join(getter) == "first"
    q.put(1)
    q.put_nowait(2)
    assert q.qsize() == 2
    assert [q.get(), q.get_nowait()] == [1, 2]
    started = now(world)
    with pytest.raises(queue.Empty):
        q.get(timeout=SHORT)
    timed_out_virtually(world, started)
    with pytest.raises(queue.Empty):
        q.get_nowait()
    assert q.empty()
