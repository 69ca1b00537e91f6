"""Simulation(explore_wakeups=True): a thread waking from a timed wait may run before the
timers due at the same instant, as a real thread waking a hair earlier would."""

from __future__ import annotations

from asyncthreads.testing import Simulation, explore


def reply_and_timeout(sim: Simulation) -> list[str]:
    """A pool thread sleeps 1 s, then queues a reply on the reactor; a reactor timer is
    due at the same instant. Returns the order the reactor ran them in."""
    reactor = sim.reactor(threads=1)
    order: list[str] = []

    def serve() -> None:
        sim.sleep(1.0)
        reactor.call(order.append, "reply")

    reactor.call_later(1.0, order.append, "timeout")
    reactor.call_in_thread(serve)
    sim.advance(1.0)
    return order


def test_without_it_the_reactor_takes_its_due_timers_before_a_waking_thread_runs() -> None:
    orders = {tuple(reply_and_timeout(Simulation(seed=seed))) for seed in range(50)}

    assert orders == {("timeout", "reply")}


def test_fifo_keeps_that_order_with_it() -> None:
    assert reply_and_timeout(Simulation(explore_wakeups=True)) == ["timeout", "reply"]


def test_with_it_the_chooser_may_run_the_waking_thread_first() -> None:
    orders = {
        tuple(reply_and_timeout(Simulation(seed=seed, explore_wakeups=True))) for seed in range(50)
    }

    assert orders == {("timeout", "reply"), ("reply", "timeout")}


def test_the_wake_up_order_is_in_the_replay_token() -> None:
    seed = next(
        seed
        for seed in range(50)
        if reply_and_timeout(Simulation(seed=seed, explore_wakeups=True))[0] == "reply"
    )
    first = Simulation(seed=seed, explore_wakeups=True)
    reply_and_timeout(first)

    replayed = Simulation(replay=first.replay_token, explore_wakeups=True)

    assert reply_and_timeout(replayed) == ["reply", "timeout"]
    assert replayed.replay_diverged_at is None


def test_explore_tries_both_orders_with_it() -> None:
    seen: set[tuple[str, ...]] = set()

    found = explore(lambda sim: seen.add(tuple(reply_and_timeout(sim))), explore_wakeups=True)

    assert found.complete
    assert seen == {("timeout", "reply"), ("reply", "timeout")}
