"""Each call runs in a copy of the context it was queued from (contextvars), on the simulation.

A call queued from a context with no variables set keeps no copy (it gets a fresh empty
context when it runs), so these tests queue from a known-empty context as well as from one
with a variable set.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable

from asyncthreads import Result
from asyncthreads.testing import Simulation

user: contextvars.ContextVar[str] = contextvars.ContextVar("user", default="nobody")


def set_user(name: str) -> str:
    user.set(name)
    return user.get()


def in_empty_context(queue: Callable[[], object]) -> None:
    """Run ``queue()`` where no context variable is set."""
    contextvars.Context().run(queue)


def test_a_call_from_an_empty_context_sees_defaults(asyncthreads_sim: Simulation) -> None:
    reactor = asyncthreads_sim.reactor()
    results: list[Result[str]] = []
    in_empty_context(lambda: results.append(reactor.call_later(1.0, user.get)))

    asyncthreads_sim.advance(1.0)

    assert results[0].result() == "nobody"


def test_a_change_in_a_call_from_an_empty_context_does_not_reach_the_next_call(
    asyncthreads_sim: Simulation,
) -> None:
    reactor = asyncthreads_sim.reactor()
    results: list[Result[str]] = []

    def queue_both() -> None:
        results.append(reactor.call(set_user, "alice"))
        results.append(reactor.call(user.get))

    in_empty_context(queue_both)
    asyncthreads_sim.run_until_idle()

    assert [r.result() for r in results] == ["alice", "nobody"]


def test_a_change_in_a_pool_call_from_an_empty_context_does_not_reach_the_next_one(
    asyncthreads_sim: Simulation,
) -> None:
    pool = asyncthreads_sim.thread_pool(1)
    results: list[Result[str]] = []

    def queue_both() -> None:
        results.append(pool.submit(set_user, "bob"))
        results.append(pool.submit(user.get))

    in_empty_context(queue_both)
    asyncthreads_sim.run_until_idle()

    assert [r.result() for r in results] == ["bob", "nobody"]


def test_the_callback_runs_in_the_context_the_function_changed(
    asyncthreads_sim: Simulation,
) -> None:
    reactor = asyncthreads_sim.reactor()
    seen: list[str] = []
    in_empty_context(
        lambda: reactor.call(set_user, "carol", callback=lambda _: seen.append(user.get()))
    )

    asyncthreads_sim.run_until_idle()

    assert seen == ["carol"]


def test_a_call_sees_the_value_set_when_it_was_queued_not_when_it_runs(
    asyncthreads_sim: Simulation,
) -> None:
    reactor = asyncthreads_sim.reactor()

    def queue() -> Result[str]:
        user.set("dave")
        return reactor.call_later(1.0, user.get)

    context = contextvars.Context()
    result = context.run(queue)
    context.run(user.set, "erin")  # after queueing: the call's copy keeps "dave"

    asyncthreads_sim.advance(1.0)

    assert result.result() == "dave"
