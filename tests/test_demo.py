"""``python -m asyncthreads demo`` runs, tells its story and exits cleanly.

The demo runs on real time and OS threads, so these tests only check what its design
guarantees whatever the machine's speed: which lines appear, on which thread, and the
orders the library promises (reactor calls in the order queued; a Result only after its
callback).
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

LINE = re.compile(r"^\[\+(\d+\.\d{3})s\] (\S+) +(.*)$")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asyncthreads", *args],
        capture_output=True,
        text=True,
        timeout=50,
        stdin=subprocess.DEVNULL,
        check=False,
    )


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    return run_cli("demo")


@pytest.fixture(scope="module")
def story(demo: subprocess.CompletedProcess[str]) -> list[tuple[float, str, str]]:
    """The demo's story lines as (elapsed seconds, thread name, message)."""
    lines = []
    for text in demo.stdout.splitlines():
        match = LINE.match(text)
        if match:
            lines.append((float(match[1]), match[2], match[3]))
    return lines


def messages(story: list[tuple[float, str, str]], thread: str | None = None) -> list[str]:
    return [message for _, name, message in story if thread is None or name == thread]


def index_of(story: list[tuple[float, str, str]], prefix: str) -> int:
    found = [i for i, (_, _, message) in enumerate(story) if message.startswith(prefix)]
    assert len(found) == 1, f"expected one line starting {prefix!r}, found {len(found)}"
    return found[0]


@pytest.mark.timeout(60)
def test_demo_exits_cleanly(demo: subprocess.CompletedProcess[str]) -> None:
    assert demo.returncode == 0, demo.stderr
    assert demo.stderr == ""
    assert demo.stdout.rstrip().endswith("reactor and pool shut down cleanly")


@pytest.mark.timeout(60)
def test_every_story_line_names_its_time_and_thread(
    demo: subprocess.CompletedProcess[str], story: list[tuple[float, str, str]]
) -> None:
    story_lines = [line for line in demo.stdout.splitlines() if line.startswith("[")]
    assert len(story) == len(story_lines) > 20
    times = [elapsed for elapsed, _, _ in story]
    assert times == sorted(times)
    assert {name for _, name, _ in story} >= {"MainThread", "reactor"}
    assert all(
        name in ("MainThread", "reactor") or name.startswith("pool-") for _, name, _ in story
    )


@pytest.mark.timeout(60)
def test_reactor_handles_queued_events_in_order(story: list[tuple[float, str, str]]) -> None:
    handled = [m for m in messages(story, "reactor") if m.startswith("handling event")]
    assert handled == [
        "handling event 'order-1 created' (1 so far)",
        "handling event 'order-2 created' (2 so far)",
        "handling event 'order-1 updated' (3 so far)",
    ]


@pytest.mark.timeout(60)
def test_quotes_run_in_the_pool_and_reach_the_result_queue(
    story: list[tuple[float, str, str]],
) -> None:
    for carrier in ("ups", "dhl", "fedex"):
        quoted = index_of(story, f"{carrier} quotes ")
        assert story[quoted][1].startswith("pool-")
        assert story[index_of(story, f"result_q gave {carrier} at ")][1] == "MainThread"
    assert "cheapest carrier: dhl" in messages(story, "MainThread")


@pytest.mark.timeout(60)
def test_deferral_finishes_in_the_pool_on_the_original_result(
    story: list[tuple[float, str, str]],
) -> None:
    reserved = index_of(story, "order-2: stock reserved")
    charging = index_of(story, "order-2: charging 120.00")
    callback = index_of(story, "callback: receipt for order-2: 120.00 paid")
    result = index_of(story, "payment Result: 'receipt for order-2: 120.00 paid'")
    assert story[reserved][1] == "reactor"
    assert story[charging][1].startswith("pool-")
    assert story[callback][1] == story[charging][1]  # the callback runs in the same thread
    assert reserved < charging < callback < result
    assert story[index_of(story, "order-2: marked paid")][1] == "reactor"


@pytest.mark.timeout(60)
def test_cancelled_timer_never_runs(story: list[tuple[float, str, str]]) -> None:
    main = messages(story, "MainThread")
    assert "cancel_scheduled(escalation) -> True" in main
    assert "cancel_scheduled(escalation) again -> False" in main
    assert "cancel_scheduled(reminder) -> False; it had run" in main
    assert not any("ESCALATION" in message for message in messages(story))
    assert "timer: reminding the customer of order-1" in messages(story, "reactor")


@pytest.mark.timeout(60)
def test_periodic_task_ticks_until_cancelled(story: list[tuple[float, str, str]]) -> None:
    ticks = [m for m in messages(story, "reactor") if m.startswith("tick ")]
    assert 1 <= len(ticks) <= 4
    assert [m.split(":")[0] for m in ticks] == [f"tick {n}" for n in range(1, len(ticks) + 1)]
    closing = index_of(story, "closing: cancel_scheduled(ticker) -> True")
    assert story[closing][1] == "reactor"
    assert not any(m.startswith("tick ") for m in messages(story[closing:]))
    assert f"ticker ended after {len(ticks)} ticks: cancelled() -> True" in messages(story)


@pytest.mark.timeout(60)
def test_no_command_prints_help_and_exits_2() -> None:
    run = run_cli()
    assert run.returncode == 2
    assert "demo" in run.stderr
    assert run.stderr.startswith("usage: python -m asyncthreads")
