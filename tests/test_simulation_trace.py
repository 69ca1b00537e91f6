"""The trace of a Simulation: one event per unit of work, with its outcome; the timeline
text; Chrome trace-event export; the same scenario run twice gives the same trace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asyncthreads import Reactor, ThreadPool, defer_to_thread
from asyncthreads.testing import Simulation, Trace, TraceEvent


@pytest.fixture
def reactor(sim: Simulation) -> Reactor:
    return sim.reactor(2, name="reactor")


def ok() -> int:
    return 1


def boom() -> None:
    raise KeyError("boom")


def hand_on() -> object:
    return defer_to_thread(ok)


def outcomes(trace: Trace) -> list[tuple[str, str]]:
    return [(event.what, event.outcome) for event in trace]


# -- outcomes -------------------------------------------------------------------------------


def test_a_call_that_returns_is_traced_as_returned(sim: Simulation, reactor: Reactor) -> None:
    reactor.call(ok)
    sim.run_until_idle()

    assert list(sim.trace) == [TraceEvent(0.0, "reactor", "ok", "returned")]


def test_a_call_that_raises_is_traced_with_the_exception_type(
    sim: Simulation, reactor: Reactor
) -> None:
    reactor.call(boom)
    sim.run_until_idle()

    assert outcomes(sim.trace) == [("boom", "raised KeyError")]


def test_a_task_cancelled_after_a_worker_took_it_is_traced_as_cancelled(
    sim: Simulation,
) -> None:
    pool = sim.thread_pool(2, name="p")
    pool.queue_task(ok)
    second = pool.queue_task(ok)
    sim.step()  # both workers took a task; only the first ran
    assert second.cancel()

    event = sim.step()

    assert event == TraceEvent(0.0, "p-2", "ok", "cancelled")


def test_a_call_that_defers_is_traced_as_deferred_then_its_continuation_returns(
    sim: Simulation, reactor: Reactor
) -> None:
    reactor.call(hand_on)
    sim.run_until_idle()

    assert [(e.actor, e.outcome) for e in sim.trace] == [
        ("reactor", "deferred"),
        ("reactor-pool-2", "returned"),
    ]


def test_a_deferring_call_is_traced_under_its_own_name(sim: Simulation, reactor: Reactor) -> None:
    reactor.call(hand_on)
    sim.run_until_idle()

    assert outcomes(sim.trace) == [("hand_on", "deferred"), ("ok", "returned")]


def test_a_timer_for_the_pool_is_traced_as_handed_to_pool(
    sim: Simulation, reactor: Reactor
) -> None:
    reactor.call_in_thread_later(2, ok)
    sim.advance(2)

    assert [(e.time, e.actor, e.what, e.outcome) for e in sim.trace] == [
        (2.0, "reactor", "to pool: ok", "handed to pool"),
        (2.0, "reactor-pool-2", "ok", "returned"),
    ]


def test_a_periodic_run_is_traced_as_returned_at_each_deadline(
    sim: Simulation, reactor: Reactor
) -> None:
    reactor.call_every(1.5, ok)
    sim.advance(4.5)

    assert [(e.time, e.outcome) for e in sim.trace] == [
        (1.5, "returned"),
        (3.0, "returned"),
        (4.5, "returned"),
    ]


def test_trace_event_prints_time_actor_what_and_outcome() -> None:
    text = str(TraceEvent(2.5, "reactor", "ok", "returned"))

    assert text.split() == ["t=2.5", "reactor", "ok", "->", "returned"]


# -- timeline -------------------------------------------------------------------------------


def test_per_actor_timeline_groups_events_under_each_actor(sim: Simulation) -> None:
    reactor = sim.reactor(1, name="loop")
    reactor.call(ok)
    reactor.call_in_thread(boom)
    reactor.call_later(1, ok)
    sim.advance(1)

    blocks: list[tuple[str, list[list[str]]]] = []
    for line in sim.timeline().splitlines():
        if line.startswith(" "):
            blocks[-1][1].append(line.split())
        else:
            blocks.append((line, []))

    assert sorted(blocks) == [
        ("loop-pool-1:", [["t=0", "boom", "->", "raised", "KeyError"]]),
        ("loop:", [["t=0", "ok", "->", "returned"], ["t=1", "ok", "->", "returned"]]),
    ]


def test_flat_timeline_is_one_line_per_event_in_order(sim: Simulation, reactor: Reactor) -> None:
    reactor.call(ok)
    reactor.call_in_thread(boom)
    sim.run_until_idle()

    lines = sim.timeline(per_actor=False).splitlines()

    assert lines == [str(event) for event in sim.trace]


def test_timeline_last_keeps_only_the_newest_events(sim: Simulation, reactor: Reactor) -> None:
    for _ in range(5):
        reactor.call(ok)
    reactor.call(boom)
    sim.run_until_idle()

    assert sim.timeline(2, per_actor=False).splitlines() == [
        str(sim.trace[-2]),
        str(sim.trace[-1]),
    ]


# -- determinism ----------------------------------------------------------------------------


def scenario(sim: Simulation) -> list[TraceEvent]:
    """A bit of everything: calls, pool tasks, timers, a periodic task, a deferral."""
    pool = ThreadPool(3, clock=sim.clock, scheduler=sim.scheduler, name="pool")
    reactor = Reactor(pool, clock=sim.clock, scheduler=sim.scheduler, name="loop")
    reactor.start()
    for _ in range(3):
        reactor.call(ok)
        reactor.call_in_thread(ok)
    reactor.call_in_thread(boom)
    reactor.call(hand_on)
    reactor.call_later(0.5, ok)
    reactor.call_in_thread_later(1.5, ok)
    periodic = reactor.call_every(1, ok, in_thread=True)
    sim.advance(3.25)
    periodic.cancel()
    sim.advance(1)
    return list(sim.trace)


def test_the_same_scenario_twice_gives_identical_traces() -> None:
    first = scenario(Simulation())
    second = scenario(Simulation())

    assert len(first) > 15
    assert first == second


def test_the_same_seeded_scenario_twice_gives_identical_traces() -> None:
    first = scenario(Simulation(seed=1234))
    second = scenario(Simulation(seed=1234))

    assert first == second
    assert first != scenario(Simulation())  # the seed did change the interleaving


def test_the_same_scenario_with_an_unnamed_pool_gives_identical_traces() -> None:
    def unnamed(sim: Simulation) -> list[TraceEvent]:
        pool = ThreadPool(2, clock=sim.clock, scheduler=sim.scheduler)
        pool.submit(ok)
        sim.run_until_idle()
        return list(sim.trace)

    assert unnamed(Simulation()) == unnamed(Simulation())


# -- Chrome trace-event export ------------------------------------------------------------


def test_chrome_trace_is_json_serialisable(sim: Simulation, reactor: Reactor) -> None:
    reactor.call(ok)
    sim.run_until_idle()

    exported = sim.trace.to_chrome_trace()

    assert json.loads(json.dumps(exported)) == exported


def test_chrome_trace_names_each_actor_once(sim: Simulation, reactor: Reactor) -> None:
    reactor.call(ok)
    reactor.call(ok)
    reactor.call_in_thread(ok)
    sim.run_until_idle()

    events = sim.trace.to_chrome_trace()["traceEvents"]

    names = [e for e in events if e["ph"] == "M"]
    assert all(e["name"] == "thread_name" for e in names)
    assert sorted(e["args"]["name"] for e in names) == sorted({e.actor for e in sim.trace})
    assert len(names) == 2
    assert len({e["tid"] for e in names}) == 2


def test_chrome_trace_marks_each_step_as_an_instant_in_virtual_microseconds(
    sim: Simulation, reactor: Reactor
) -> None:
    reactor.call_later(1.5, ok)
    reactor.call_later(2.25, boom)
    sim.advance(3)

    events = sim.trace.to_chrome_trace()["traceEvents"]

    instants = [e for e in events if e["ph"] == "i"]
    assert [(e["name"], e["ts"], e["args"]["outcome"]) for e in instants] == [
        ("ok", 1_500_000.0, "returned"),
        ("boom", 2_250_000.0, "raised KeyError"),
    ]
    (row,) = [e["tid"] for e in events if e["ph"] == "M"]
    assert all(e["tid"] == row for e in instants)


def test_write_chrome_trace_writes_a_file_json_can_load(
    sim: Simulation, reactor: Reactor, tmp_path: Path
) -> None:
    reactor.call(ok)
    sim.run_until_idle()

    written = sim.trace.write_chrome_trace(tmp_path / "trace.json")

    assert written == tmp_path / "trace.json"
    with written.open() as file:
        assert json.load(file) == sim.trace.to_chrome_trace()


# -- trace_limit ----------------------------------------------------------------------------


def test_trace_limit_keeps_the_newest_events_and_counts_all() -> None:
    with Simulation(trace_limit=3) as sim:
        reactor = sim.reactor(1)
        for delay in range(1, 6):
            reactor.call_later(delay, ok)
        sim.advance(5)

    assert [event.time for event in sim.trace] == [3.0, 4.0, 5.0]
    assert len(sim.trace) == 3
    assert sim.trace.total == 5


# -- reading the trace ------------------------------------------------------------------


def test_every_way_of_reading_the_trace_gives_trace_events(
    sim: Simulation, reactor: Reactor
) -> None:
    reactor.call(ok)
    reactor.call(ok)
    sim.run_until_idle()

    read = [*sim.trace, sim.trace[0], sim.trace[-1], *sim.trace.last(2)]

    assert all(type(event) is TraceEvent for event in read)
    assert [event.what for event in read] == ["ok"] * 6


def test_last_gives_the_newest_events_oldest_first(sim: Simulation, reactor: Reactor) -> None:
    for delay in (1, 2, 3):
        reactor.call_later(delay, ok)
    sim.advance(3)

    assert [event.time for event in sim.trace.last(2)] == [2.0, 3.0]
    assert [event.time for event in sim.trace.last(10)] == [1.0, 2.0, 3.0]


def test_last_zero_gives_no_events(sim: Simulation, reactor: Reactor) -> None:
    reactor.call(ok)
    sim.run_until_idle()

    assert sim.trace.last(0) == []
