"""A downstream example: a client that retries with exponential backoff and a deadline.

It is written against the production API only (``Reactor``, ``call_in_thread``,
``call_later``); nothing in it knows about tests. ``tests/test_example_retrying_client.py``
verifies its timing exactly, hours of it in milliseconds, with ``asyncthreads.testing``.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

from asyncthreads import Reactor, Result

T = TypeVar("T")


class GaveUp(Exception):
    """Every attempt failed and the next one would start after the deadline."""


class RetryingClient(Generic[T]):
    """Sends requests with ``send`` (blocking, run in the reactor's pool) and retries a
    failed one after ``first_delay``, then twice as long each time up to ``max_delay``,
    never starting an attempt more than ``deadline`` seconds after the request.

    All bookkeeping happens on the reactor thread, so it needs no locks, and no thread is
    held while waiting to retry.
    """

    def __init__(
        self,
        reactor: Reactor,
        send: Callable[[str], T],
        *,
        first_delay: float = 1.0,
        max_delay: float = 60.0,
        deadline: float = 3600.0,
    ) -> None:
        self._reactor = reactor
        self._send = send
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._deadline = deadline
        self.attempts: list[float] = []  # when each attempt started, for monitoring

    def request(self, payload: str) -> Future[T]:
        """Start sending ``payload``; the Future ends with the reply or with GaveUp."""
        outcome: Future[T] = Future()
        started = self._reactor.clock.now()
        self._reactor.call(self._attempt, payload, outcome, started, self._first_delay)
        return outcome

    def _attempt(self, payload: str, outcome: Future[T], started: float, delay: float) -> None:
        # On the reactor thread.
        self.attempts.append(self._reactor.clock.now())
        sent = self._reactor.call_in_thread(self._send, payload)
        sent.add_done_callback(
            lambda result: self._reactor.call(
                self._settle, result, payload, outcome, started, delay
            )
        )

    def _settle(
        self, sent: Result[T], payload: str, outcome: Future[T], started: float, delay: float
    ) -> None:
        # On the reactor thread, once an attempt has ended.
        error = sent.exception()
        if error is None:
            outcome.set_result(sent.result())
            return
        now = self._reactor.clock.now()
        if now + delay > started + self._deadline:
            outcome.set_exception(GaveUp(f"{len(self.attempts)} attempts failed; last: {error!r}"))
            return
        next_delay = min(delay * 2, self._max_delay)
        self._reactor.call_later(delay, self._attempt, payload, outcome, started, next_delay)
