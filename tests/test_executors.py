"""The Reactor on foreign executors: a process pool, a thread pool and a Dask cluster.

Each executor is made once per module (processes and a cluster are slow to start) and
shared by its tests; each test makes its own Reactor on it, which never shuts the
executor down. Work that must wait for the test waits for a file to appear in the
test's own directory: files are the one signal every executor's workers can see.
Dask is optional (``pip install 'asyncthreads[dask]'``): its tests are skipped, with
the reason shown, when it is not installed.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import queue
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from asyncthreads import CancelledError, DeadlockError, Reactor, Result, defer, defer_to_thread

# Every test here uses real processes or threads.
pytestmark = pytest.mark.timeout(60)

KINDS = ["process", "thread", "dask"]
# Executors whose workers live in other processes: arguments and values are pickled.
OUT_OF_PROCESS = ["process", "dask"]
# Executors whose cancel() fails once the function has started.
EXACT_CANCEL = ["process", "thread"]


# -- work the executors run (module level, so that other processes can import it) --------


def add(a: int, b: int) -> int:
    return a + b


def fail_with(message: str) -> None:
    raise ValueError(message)


def wait_for(path: str, value: object = None) -> object:
    """Block until the file ``path`` exists; return ``value``."""
    while not os.path.exists(path):
        time.sleep(0.002)
    return value


def touch(path: str) -> str:
    Path(path).touch()
    return path


def started_then_wait(started: str, release: str) -> str:
    Path(started).touch()
    wait_for(release)
    return "finished"


def record_run(directory: str, seconds: float) -> None:
    """One periodic run: its start and end, in a file of its own."""
    start = time.monotonic()
    time.sleep(seconds)  # the run's work: long enough that an overlap would show
    end = time.monotonic()
    # Written aside, then renamed into place: a reader never sees a half-written record
    # (Dask may still be running a run that a cancel answered True for).
    name = f"{start:.6f}-{os.getpid()}"
    (Path(directory) / f".{name}").write_text(f"{start} {end}")
    os.replace(Path(directory) / f".{name}", Path(directory) / name)


def back_to_the_reactor() -> object:
    return defer(len, "abc")


def wait_until(condition: Callable[[], bool], timeout: float = 30) -> None:
    """Poll for a condition another process makes true (a file appearing)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the condition did not become true")
        time.sleep(0.005)


# -- the executors --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def process_pool() -> Iterator[Executor]:
    # spawn, not fork: forking a process that runs threads is unsafe (and warned about
    # from Python 3.12).
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as executor:
        yield executor


@pytest.fixture(scope="module")
def thread_executor() -> Iterator[Executor]:
    with ThreadPoolExecutor(2) as executor:
        yield executor


@pytest.fixture(scope="module")
def dask_executor() -> Iterator[Executor]:
    # Typed Any: CI type-checks this file with or without the optional extra.
    distributed: Any = pytest.importorskip(
        "distributed",
        reason="dask is not installed: pip install 'asyncthreads[dask]' to run the Dask tests",
    )
    with warnings.catch_warnings():
        # Dask's start-up may warn (about resources it probes); these tests are about
        # the Reactor, not about the machine.
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,  # no fixed port: parallel test runs do not collide
            scheduler_port=0,
            silence_logs=logging.ERROR,
        )
        client = distributed.Client(cluster)
    try:
        # pure=False: otherwise Dask may give identical calls (a periodic task's runs)
        # one shared result instead of running each.
        yield client.get_executor(pure=False)
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client.close()
            cluster.close()


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def executor(kind: str, request: pytest.FixtureRequest) -> Executor:
    fixture = {"process": "process_pool", "thread": "thread_executor", "dask": "dask_executor"}
    found: Executor = request.getfixturevalue(fixture[kind])
    return found


@pytest.fixture
def reactor(executor: Executor) -> Iterator[Reactor]:
    with Reactor(executor=executor, name="events") as reactor:
        yield reactor


class CountingExecutor(Executor):
    """An executor that passes every submission on to another, and counts them."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        self.submitted += 1
        return self.inner.submit(fn, *args, **kwargs)


# -- results and exceptions -----------------------------------------------------------------


def test_a_call_in_thread_returns_the_functions_value(reactor: Reactor) -> None:
    assert reactor.call_in_thread(add, 2, b=3).result(timeout=30) == 5


def test_a_call_in_thread_later_runs_when_due_and_returns_its_value(reactor: Reactor) -> None:
    assert reactor.call_in_thread_later(0.01, add, 4, 5).result(timeout=30) == 9


def test_an_exception_fails_the_result_with_its_traceback_text(reactor: Reactor) -> None:
    result = reactor.call_in_thread(fail_with, "no such order")

    with pytest.raises(ValueError, match="no such order"):
        result.result(timeout=30)
    assert result.traceback is not None
    assert "fail_with" in result.traceback  # the frame of the function that raised


def test_defer_to_thread_from_the_reactor_thread_submits_the_continuation(
    reactor: Reactor,
) -> None:
    assert reactor.call(defer_to_thread, add, 20, 22).result(timeout=30) == 42


def test_the_callback_runs_on_the_reactor_thread_and_result_q_gets_the_result_once(
    reactor: Reactor,
) -> None:
    seen: list[tuple[int, str]] = []
    finished: queue.Queue[Result[Any]] = queue.Queue()

    result = reactor.call_in_thread(
        add,
        1,
        1,
        callback=lambda value: seen.append((value, threading.current_thread().name)),
        result_q=finished,
    )

    assert finished.get(timeout=30) is result
    assert seen == [(2, "events")]
    assert result.result(timeout=0) == 2
    assert reactor.call(finished.qsize).result(timeout=30) == 0  # delivered once


def test_a_callback_that_raises_fails_the_result(reactor: Reactor) -> None:
    result = reactor.call_in_thread(add, 1, 1, callback=lambda value: 1 / 0)

    with pytest.raises(ZeroDivisionError):
        result.result(timeout=30)


def test_the_reactor_thread_waiting_for_an_executor_call_raises_deadlock_error(
    reactor: Reactor,
) -> None:
    def wait_on_the_reactor_thread() -> object:
        return reactor.call_in_thread(add, 1, 1).result(timeout=30)

    with pytest.raises(DeadlockError):
        reactor.call(wait_on_the_reactor_thread).result(timeout=30)


# -- what cannot cross a process boundary -------------------------------------------------


@pytest.mark.parametrize("kind", OUT_OF_PROCESS, indirect=True)
def test_an_unpicklable_argument_fails_its_result_and_nothing_else(reactor: Reactor) -> None:
    before = reactor.call_in_thread(add, 1, 2)
    unpicklable = reactor.call_in_thread(add, 1, threading.Lock())
    after = reactor.call_in_thread(add, 3, 4)

    assert unpicklable.exception(timeout=30) is not None
    # The pickling error itself, or (Dask) the error it caused.
    assert "cannot pickle '_thread.lock' object" in (unpicklable.traceback or "")
    assert (before.result(timeout=30), after.result(timeout=30)) == (3, 7)


@pytest.mark.parametrize("kind", OUT_OF_PROCESS, indirect=True)
def test_defer_from_work_in_another_process_fails_the_result_with_a_clear_error(
    reactor: Reactor,
) -> None:
    result = reactor.call_in_thread(back_to_the_reactor)

    with pytest.raises(TypeError, match="cannot leave its process"):
        result.result(timeout=30)


@pytest.mark.parametrize("kind", ["thread"], indirect=True)
def test_defer_from_work_on_an_in_process_executor_finishes_on_the_reactor(
    reactor: Reactor,
) -> None:
    assert reactor.call_in_thread(back_to_the_reactor).result(timeout=30) == 3


# -- cancellation -----------------------------------------------------------------------------


def test_cancel_before_submission_is_true_and_sends_nothing(executor: Executor) -> None:
    counting = CountingExecutor(executor)
    with Reactor(executor=counting) as reactor:
        later = reactor.call_in_thread_later(60, add, 1, 1)
        periodic = reactor.call_every(60, add, 1, 1, in_thread=True)

        assert reactor.cancel_scheduled(later) is True
        assert reactor.cancel_scheduled(periodic) is True
        assert later.cancelled()
        assert periodic.cancelled()
    assert counting.submitted == 0


@pytest.mark.parametrize("kind", EXACT_CANCEL, indirect=True)
def test_cancel_after_submission_is_true_only_for_calls_the_executor_had_not_started(
    reactor: Reactor, tmp_path: Path
) -> None:
    started = [str(tmp_path / f"started-{n}") for n in range(2)]
    release = str(tmp_path / "release")
    running = [reactor.call_in_thread(started_then_wait, s, release) for s in started]
    # Queued behind the two running calls; a process pool may already have moved one
    # of them to its call queue, where it can no longer be cancelled.
    queued = [reactor.call_in_thread(touch, str(tmp_path / f"ran-{n}")) for n in range(4)]
    wait_until(lambda: all(os.path.exists(s) for s in started))

    assert [reactor.cancel_scheduled(result) for result in running] == [False, False]
    assert reactor.cancel_scheduled(queued[-1]) is True
    assert queued[-1].cancelled()
    assert queued[-1].cancel() is True  # Future semantics: it is cancelled
    assert reactor.cancel_scheduled(queued[-1]) is False  # nothing left to cancel

    touch(release)
    assert [result.result(timeout=30) for result in running] == ["finished", "finished"]
    for result in queued[:-1]:
        result.exception(timeout=30)  # ended, cancelled or not
    assert not os.path.exists(tmp_path / "ran-3")  # the cancelled call never ran


@pytest.mark.parametrize("kind", ["dask"], indirect=True)
def test_cancel_after_submission_to_dask_cancels_the_result_and_the_task(
    reactor: Reactor, tmp_path: Path
) -> None:
    release = str(tmp_path / "release")
    result = reactor.call_in_thread(wait_for, release, "finished")  # submitted now

    # Dask's executor cancels any unfinished task: True, the Result is cancelled.
    assert reactor.cancel_scheduled(result) is True
    assert result.cancelled()
    touch(release)
    with pytest.raises(CancelledError):
        result.result(timeout=30)


# -- periodic work ----------------------------------------------------------------------------


def test_periodic_runs_on_the_executor_never_overlap(reactor: Reactor, tmp_path: Path) -> None:
    # Every 10 ms, each run taking 30 ms: the next run is submitted only once the
    # previous one has finished, whichever worker ran it.
    task = reactor.call_every(0.01, record_run, str(tmp_path), 0.03, in_thread=True)
    wait_until(lambda: len(list(tmp_path.glob("[!.]*"))) >= 4)

    assert reactor.cancel_scheduled(task) is True
    with pytest.raises(CancelledError):
        task.result(timeout=30)
    runs = sorted(
        tuple(map(float, f.read_text().split()))
        for f in tmp_path.iterdir()
        if not f.name.startswith(".")
    )
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(runs))


def test_a_periodic_run_that_raises_stops_the_task_with_its_exception(
    reactor: Reactor,
) -> None:
    task = reactor.call_every(0.01, fail_with, "stop", in_thread=True)

    with pytest.raises(ValueError, match="stop"):
        task.result(timeout=30)


# -- shutdown ---------------------------------------------------------------------------------


def test_shutdown_ends_every_result_and_leaves_the_executor_running(
    executor: Executor, tmp_path: Path
) -> None:
    reactor = Reactor(executor=executor)
    reactor.start()
    release = str(tmp_path / "release")
    in_flight = reactor.call_in_thread(wait_for, release, "finished")
    later = reactor.call_in_thread_later(60, add, 1, 1)
    periodic = reactor.call_every(60, add, 1, 1, in_thread=True)

    touch(release)
    reactor.shutdown(wait=True)

    assert in_flight.result(timeout=0) == "finished"
    assert later.cancelled()
    assert periodic.cancelled()
    assert executor.submit(add, 1, 2).result(timeout=30) == 3  # not shut down


@pytest.mark.parametrize("kind", EXACT_CANCEL, indirect=True)
def test_shutdown_with_cancel_futures_cancels_calls_the_executor_had_not_started(
    executor: Executor, tmp_path: Path
) -> None:
    reactor = Reactor(executor=executor)
    reactor.start()
    started = [str(tmp_path / f"started-{n}") for n in range(2)]
    release = str(tmp_path / "release")
    running = [reactor.call_in_thread(started_then_wait, s, release) for s in started]
    queued = [reactor.call_in_thread(touch, str(tmp_path / f"ran-{n}")) for n in range(4)]
    wait_until(lambda: all(os.path.exists(s) for s in started))

    reactor.shutdown(wait=False, cancel_futures=True)
    # The reactor thread cancels them as it stops: wait for that, then let the rest run.
    assert queued[-1].wait(timeout=30)
    touch(release)
    reactor.shutdown(wait=True)

    assert [result.result(timeout=0) for result in running] == ["finished", "finished"]
    assert all(result.done() for result in queued)
    assert queued[-1].cancelled()


def test_a_reactor_never_started_cancels_its_calls_at_shutdown(executor: Executor) -> None:
    reactor = Reactor(executor=executor)
    later = reactor.call_in_thread_later(60, add, 1, 1)

    reactor.shutdown()

    assert later.cancelled()
