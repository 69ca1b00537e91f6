"""A program that never shuts its Reactor and ThreadPool down still exits promptly and
cleanly: at interpreter exit the work already queued runs and pending timers are cancelled."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.timeout(60)

# Every task waits on a gate that opens only at interpreter exit (the atexit hook registered
# after importing asyncthreads runs before asyncthreads' own), so the work is certainly still
# queued or running when the program ends.
PROGRAM = textwrap.dedent(
    """
    import atexit
    import sys
    import threading

    from asyncthreads import Reactor, ThreadPool

    opens_at_exit = threading.Event()
    atexit.register(opens_at_exit.set)

    def work(label):
        opens_at_exit.wait()
        total = sum(i * i for i in range(50_000))  # a few milliseconds of work
        sys.stdout.write(f"{label} {total}\\n")  # one write, so lines do not interleave

    reactor = Reactor(name="exit-reactor")
    reactor.start()
    pool = ThreadPool(2, name="exit-pool")

    for n in range(3):
        reactor.call(work, f"reactor-call-{n}")
    for n in range(40):  # more than the reactor's pool has threads (at most 32)
        reactor.call_in_thread(work, f"reactor-thread-{n}")
    for n in range(5):  # more than this pool has threads
        pool.queue_task(work, f"pool-task-{n}")
    reactor.call_later(3600, print, "the 3600 s timer fired", flush=True)
    reactor.call_in_thread_later(3600, print, "the 3600 s thread timer fired", flush=True)
    print("main thread done", flush=True)
    """
)

EXPECTED_LABELS = {
    *(f"reactor-call-{n}" for n in range(3)),
    *(f"reactor-thread-{n}" for n in range(40)),
    *(f"pool-task-{n}" for n in range(5)),
}


@pytest.fixture(scope="module")
def finished_program() -> subprocess.CompletedProcess[str]:
    """The program, run once in a child interpreter; a hang fails with TimeoutExpired."""
    return subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=30
    )


def test_a_program_that_never_shuts_down_exits_with_code_0(
    finished_program: subprocess.CompletedProcess[str],
) -> None:
    assert finished_program.returncode == 0, finished_program.stderr


def test_a_program_that_never_shuts_down_writes_nothing_to_stderr(
    finished_program: subprocess.CompletedProcess[str],
) -> None:
    assert finished_program.stderr == ""


def test_work_queued_when_the_program_ends_runs_once_before_it_exits(
    finished_program: subprocess.CompletedProcess[str],
) -> None:
    printed = [line.split()[0] for line in finished_program.stdout.splitlines()]

    assert sorted(label for label in printed if label in EXPECTED_LABELS) == sorted(EXPECTED_LABELS)


def test_timers_pending_when_the_program_ends_never_fire(
    finished_program: subprocess.CompletedProcess[str],
) -> None:
    assert "main thread done" in finished_program.stdout
    assert "timer fired" not in finished_program.stdout


def run_program(source: str) -> subprocess.CompletedProcess[str]:
    """``source`` in a child interpreter; a hang at exit fails with TimeoutExpired."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source)],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_calls_queued_before_shutdown_without_wait_run_before_the_program_exits() -> None:
    finished = run_program(
        """
        import atexit
        import sys
        import threading

        from asyncthreads import Reactor

        opens_at_exit = threading.Event()
        atexit.register(opens_at_exit.set)

        def work(label):
            opens_at_exit.wait()
            total = sum(i * i for i in range(50_000))  # a few milliseconds of work
            sys.stdout.write(f"{label} {total}\\n")  # one write: lines do not interleave

        reactor = Reactor(name="exit-reactor")
        reactor.start()
        for n in range(10):
            reactor.call(work, f"call-{n}")
            reactor.call_in_thread(work, f"thread-call-{n}")
        reactor.shutdown(wait=False)
        """
    )

    assert finished.returncode == 0, finished.stderr
    printed = sorted(line.split()[0] for line in finished.stdout.splitlines())
    assert printed == sorted(
        [f"call-{n}" for n in range(10)] + [f"thread-call-{n}" for n in range(10)]
    )


def test_shutdown_with_cancel_futures_then_exit_runs_no_queued_call() -> None:
    finished = run_program(
        """
        import atexit
        import threading

        from asyncthreads import Reactor

        opens_at_exit = threading.Event()
        atexit.register(opens_at_exit.set)

        reactor = Reactor(name="exit-reactor")
        reactor.start()
        started = threading.Event()
        reactor.call(lambda: (started.set(), opens_at_exit.wait()))
        started.wait()
        reactor.call(print, "a cancelled call ran", flush=True)
        reactor.shutdown(wait=False, cancel_futures=True)
        """
    )

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout == ""


def test_a_call_from_an_exit_hook_that_runs_after_the_reactor_shut_down_is_refused() -> None:
    finished = run_program(
        """
        import atexit

        def late():  # registered first, so it runs after asyncthreads' own exit hook
            try:
                reactor.call(print, "a late call ran", flush=True)
            except RuntimeError as error:
                print("refused:", error, flush=True)

        atexit.register(late)

        from asyncthreads import Reactor

        reactor = Reactor(name="exit-reactor")
        reactor.start()
        """
    )

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.startswith("refused:")


def test_a_program_whose_reactor_thread_could_not_start_still_exits() -> None:
    finished = run_program(
        """
        import threading

        from asyncthreads import Reactor

        reactor = Reactor(name="exit-reactor")
        queued = reactor.call(print, "never printed")
        real_start = threading.Thread.start

        def cannot_start(self):
            raise RuntimeError("can't start new thread")

        threading.Thread.start = cannot_start
        try:
            reactor.start()
        except RuntimeError:
            print("start failed; queued call cancelled:", queued.cancelled(), flush=True)
        threading.Thread.start = real_start
        """
    )

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout == "start failed; queued call cancelled: True\n"
