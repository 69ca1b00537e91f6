"""ThreadPool takes ThreadPoolExecutor's arguments: a default size, ``initializer`` and
``initargs`` (a failing initializer breaks the pool, as the standard library's does),
and ``thread_name_prefix``. On the simulation and on real threads."""

from __future__ import annotations

import logging
import threading
from concurrent.futures.thread import BrokenThreadPool

import pytest

from asyncthreads import ThreadPool
from asyncthreads.testing import Simulation


def current_actor_name(sim: Simulation) -> str:
    actor = sim.scheduler.current_actor()
    assert actor is not None
    return actor.name


# -- the default size -------------------------------------------------------------------------


@pytest.mark.parametrize(("cores", "size"), [(None, 5), (1, 5), (4, 8), (28, 32), (64, 32)])
def test_without_num_threads_the_pool_has_thread_pool_executors_default_size(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch, cores: int | None, size: int
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: cores)

    assert sim.thread_pool().thread_count == size


def test_zero_threads_is_still_legal(sim: Simulation) -> None:
    pool = sim.thread_pool(0)
    waiting = pool.submit(int, "7")
    sim.run_until_idle()

    assert pool.thread_count == 0
    assert not waiting.done()


# -- initializer --------------------------------------------------------------------------------


def test_the_initializer_runs_in_each_worker_before_its_first_task(sim: Simulation) -> None:
    initialized: list[tuple[str, str]] = []
    pool = sim.thread_pool(
        2,
        initializer=lambda tag: initialized.append((current_actor_name(sim), tag)),
        initargs=("x",),
    )

    ran_in = [pool.submit(current_actor_name, sim) for _ in range(4)]
    sim.run_until_idle()

    workers = {result.result(timeout=0) for result in ran_in}
    assert sorted(initialized) == sorted((worker, "x") for worker in workers)
    assert len(initialized) == 2


def test_a_failing_initializer_fails_the_waiting_tasks_with_broken_thread_pool(
    sim: Simulation, caplog: pytest.LogCaptureFixture
) -> None:
    def fail() -> None:
        raise OSError("no database")

    pool = sim.thread_pool(1, initializer=fail)
    waiting = [pool.submit(int, "1"), pool.queue_task(int, "2")]

    with caplog.at_level(logging.ERROR, logger="asyncthreads"):
        sim.run_until_idle()

    for result in waiting:
        with pytest.raises(BrokenThreadPool):
            result.result(timeout=0)
    assert "the initializer raised OSError('no database')" in caplog.text


def test_a_broken_pool_refuses_new_tasks_with_broken_thread_pool(sim: Simulation) -> None:
    pool = sim.thread_pool(1, initializer=lambda: 1 / 0)
    sim.run_until_idle()

    with pytest.raises(BrokenThreadPool, match="initializer"):
        pool.submit(int, "1")
    assert pool.is_shutdown
    assert pool.thread_count == 0


@pytest.mark.timeout(30)
def test_the_initializer_runs_in_each_real_worker_thread_before_its_first_task() -> None:
    local = threading.local()

    def initialize(value: str) -> None:
        local.value = value

    with ThreadPool(2, initializer=initialize, initargs=("ready",)) as pool:
        seen = [pool.submit(getattr, local, "value", None) for _ in range(20)]

        assert {result.result(timeout=10) for result in seen} == {"ready"}


@pytest.mark.timeout(30)
def test_a_real_pool_whose_initializer_fails_fails_its_tasks_with_broken_thread_pool(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = threading.Event()

    def fail() -> None:
        release.wait(10)  # until the task is queued
        raise OSError("no database")

    with caplog.at_level(logging.CRITICAL, logger="asyncthreads"):
        pool = ThreadPool(1, initializer=fail)
        waiting = pool.submit(int, "1")
        release.set()

        with pytest.raises(BrokenThreadPool):
            waiting.result(timeout=10)
        pool.shutdown(wait=True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"initializer": 42}, "initializer must be callable or None"),
        ({"initargs": 42}, "initargs must be a tuple"),
        ({"initargs": "ab"}, "initargs must be a tuple"),
        ({"thread_name_prefix": 42}, "thread_name_prefix must be a str"),
    ],
)
def test_bad_executor_arguments_raise_type_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        ThreadPool(1, **kwargs)  # type: ignore[arg-type]


# -- thread names -------------------------------------------------------------------------------


def test_thread_name_prefix_names_the_workers_as_thread_pool_executor_does(
    sim: Simulation,
) -> None:
    pool = sim.thread_pool(2, thread_name_prefix="io")

    names = [pool.submit(current_actor_name, sim) for _ in range(2)]
    sim.run_until_idle()

    assert {result.result(timeout=0) for result in names} == {"io_0", "io_1"}
    assert pool.name == "io"


@pytest.mark.timeout(30)
def test_real_worker_threads_are_named_after_the_prefix() -> None:
    def name() -> str:
        return threading.current_thread().name

    with ThreadPool(1, thread_name_prefix="crunch") as pool:
        assert pool.submit(name).result(timeout=10) == "crunch_0"
