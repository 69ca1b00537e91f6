"""The README's downstream example, tested on the simulation: exact, instant, no sleeping."""

from __future__ import annotations

import pytest

from asyncthreads.testing import Simulation
from examples.retrying_client import GaveUp, RetryingClient


class FlakyServer:
    """Refuses connections until ``up_at`` (virtual time), then echoes."""

    def __init__(self, sim: Simulation, up_at: float) -> None:
        self._sim = sim
        self._up_at = up_at

    def send(self, payload: str) -> str:
        if self._sim.now < self._up_at:
            raise ConnectionError("connection refused")
        return f"echo {payload}"


def test_first_attempt_that_succeeds_returns_the_reply(asyncthreads_sim: Simulation) -> None:
    reactor = asyncthreads_sim.reactor(threads=2)
    client = RetryingClient(reactor, FlakyServer(asyncthreads_sim, up_at=0.0).send)

    reply = client.request("hi")
    asyncthreads_sim.run_until_idle()

    assert reply.result(timeout=0) == "echo hi"
    assert client.attempts == [0.0]


def test_retries_back_off_exponentially_up_to_the_maximum_delay(
    asyncthreads_sim: Simulation,
) -> None:
    reactor = asyncthreads_sim.reactor(threads=2)
    client = RetryingClient(
        reactor, FlakyServer(asyncthreads_sim, up_at=200.0).send, first_delay=1, max_delay=60
    )

    reply = client.request("hi")
    asyncthreads_sim.advance(300)

    # Attempts at 0, then after waits of 1, 2, 4, 8, 16, 32, 60, 60, ...
    assert client.attempts == [0, 1, 3, 7, 15, 31, 63, 123, 183, 243]
    assert reply.result(timeout=0) == "echo hi"


def test_gives_up_when_the_next_attempt_would_start_after_the_deadline(
    asyncthreads_sim: Simulation,
) -> None:
    reactor = asyncthreads_sim.reactor(threads=2)
    client = RetryingClient(
        reactor, FlakyServer(asyncthreads_sim, up_at=float("inf")).send, deadline=100
    )

    reply = client.request("hi")
    asyncthreads_sim.advance(1000)

    assert client.attempts == [0, 1, 3, 7, 15, 31, 63]
    with pytest.raises(GaveUp, match="7 attempts failed"):
        reply.result(timeout=0)


def test_hours_of_outage_simulate_in_milliseconds(asyncthreads_sim: Simulation) -> None:
    reactor = asyncthreads_sim.reactor(threads=2)
    three_hours = 3 * 3600.0
    client = RetryingClient(
        reactor,
        FlakyServer(asyncthreads_sim, up_at=three_hours).send,
        max_delay=60,
        deadline=4 * 3600,
    )

    reply = client.request("hi")
    asyncthreads_sim.advance(4 * 3600)

    assert reply.result(timeout=0) == "echo hi"
    # Once the backoff saturates, attempts are exactly a minute apart, and the first one
    # after the outage succeeds.
    gaps = {b - a for a, b in zip(client.attempts[8:], client.attempts[9:], strict=False)}
    assert gaps == {60.0}
    assert client.attempts[-2] < three_hours <= client.attempts[-1] < three_hours + 60
