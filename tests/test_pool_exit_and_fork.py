"""ThreadPool at interpreter exit and across os.fork, as concurrent.futures does it: work
queued in a pool shut down with ``wait=False`` still runs before the interpreter exits
(unless ``cancel_futures``); nothing is accepted once exit has begun; a failed start
leaves nothing for exit to wait on; the child of a fork gets a usable, empty state and
exits promptly. Each program runs in a child interpreter; a hang fails with a timeout."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.timeout(60)


def run(program: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(program)],
        capture_output=True,
        text=True,
        timeout=30,
    )


# Tasks wait on a gate that opens only at interpreter exit (an atexit hook registered
# after importing asyncthreads runs before asyncthreads' own), so they are certainly
# still queued or running when the program ends.
GATED = textwrap.dedent(
    """
    import atexit
    import sys
    import threading

    from asyncthreads import ThreadPool

    opens_at_exit = threading.Event()
    atexit.register(opens_at_exit.set)

    one_started = threading.Event()

    def work(label):
        one_started.set()
        opens_at_exit.wait()
        sys.stdout.write(f"{label}\\n")

    pool = ThreadPool(1, name="exit-pool")
    for n in range(5):
        pool.queue_task(work, f"task-{n}")
    """
)


def test_tasks_of_a_pool_shut_down_without_waiting_run_before_the_interpreter_exits() -> None:
    finished = run(GATED + "pool.shutdown(wait=False)\n")

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.split() == [f"task-{n}" for n in range(5)]


def test_shutting_down_with_cancel_futures_lets_only_the_running_task_finish_at_exit() -> None:
    finished = run(GATED + "one_started.wait(5)\npool.shutdown(wait=False, cancel_futures=True)\n")

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.split() == ["task-0"]


def test_work_submitted_from_a_late_atexit_hook_is_refused() -> None:
    finished = run(
        """
        import atexit

        def late():  # registered first, so it runs after asyncthreads' exit hook
            attempts = (
                lambda: pool.submit(print, "ran"),
                lambda: ThreadPool(1),
                lambda: ThreadPool(0),
            )
            for attempt in attempts:
                try:
                    attempt()
                except RuntimeError:
                    print("refused")

        atexit.register(late)

        from asyncthreads import ThreadPool

        pool = ThreadPool(1)
        """
    )

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.split() == ["refused"] * 3


def test_a_program_whose_pool_failed_to_start_a_thread_exits_promptly() -> None:
    finished = run(
        """
        import threading

        from asyncthreads import ThreadPool

        real_start = threading.Thread.start
        started = 0

        def start(self):
            global started
            started += 1
            if started > 2:
                raise RuntimeError("can't start new thread")
            real_start(self)

        threading.Thread.start = start
        try:
            ThreadPool(4)
        except RuntimeError as exc:
            print("refused:", exc)
        """
    )

    assert finished.returncode == 0, finished.stderr
    assert "can't start new thread" in finished.stdout


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_the_child_of_a_fork_sees_inherited_pools_and_reactors_stopped_and_makes_new_ones() -> None:
    finished = run(
        """
        import os
        import sys
        import threading

        from asyncthreads import Reactor, ThreadPool

        pool = ThreadPool(2)
        assert pool.submit(int, "1").result(timeout=5) == 1
        reactor = Reactor()
        reactor.start()
        timer = reactor.call_later(3600, print, "timer fired")
        gate = threading.Event()
        holding = [pool.submit(gate.wait, 10) for _ in range(2)]
        queued = pool.submit(int, "2")  # waits for a worker when the fork happens
        queued.add_done_callback(lambda _: print("callback in", os.getpid(), flush=True))

        pid = os.fork()
        if pid == 0:
            failures = []
            if not pool.is_shutdown:
                failures.append("inherited pool still open")
            if not queued.cancelled():
                failures.append(f"inherited queued task {queued!r}")
            try:
                pool.submit(int)
                failures.append("inherited pool accepted a task")
            except RuntimeError:
                pass
            if reactor.is_running or not timer.cancelled():
                failures.append("inherited reactor still running")
            try:
                reactor.call(int)
                failures.append("inherited reactor accepted a call")
            except RuntimeError:
                pass
            reactor.shutdown()
            fresh = ThreadPool(2)
            if fresh.submit(int, "7").result(timeout=5) != 7:
                failures.append("a new pool does not run tasks")
            print(*failures, sep="\\n", flush=True)
            sys.exit(3 if failures else 0)  # a normal exit: atexit runs, and must not hang

        gate.set()
        reactor.shutdown()
        _, status = os.waitpid(pid, 0)
        print("child exit code", os.waitstatus_to_exitcode(status))
        print("child pid", pid)
        print("parent queued task", queued.result(timeout=5))
        """
    )

    assert finished.returncode == 0, finished.stderr
    assert "child exit code 0" in finished.stdout, finished.stdout
    assert "parent queued task 2" in finished.stdout
    child = finished.stdout.split("child pid ")[1].split()[0]
    assert f"callback in {child}" not in finished.stdout  # the parent's, not the copy's
