"""A short tour of asyncthreads in real time: ``python -m asyncthreads demo``.

A tiny order-processing service runs on one :class:`~asyncthreads.Reactor` (its serial
event thread) and a :class:`~asyncthreads.ThreadPool` of three workers, on real time and
OS threads. In about two seconds it shows:

* calls queued at once running on the reactor thread one at a time, in order;
* slow work running concurrently in the pool (``call_in_thread``), its Results collected
  from one ``result_q`` in the order they finish;
* a timer (``call_later``), and a timer cancelled with ``cancel_scheduled`` (True), asked
  again (False: already cancelled), and asked about a timer that already ran (False);
* a deferral: a reactor call that checks an order and hands the slow payment to the pool
  with ``defer_to_thread``; the payment's value, passed to the ``callback``, arrives on
  the Result of the original call;
* a periodic task (``call_every``) reporting on the shop, stopped by a timer that cancels
  it from the reactor thread;
* a clean shutdown of the reactor, then of the pool.

Every line printed says when it happened (seconds since the start), on which thread, and
what happened. The code is meant to be read and copied: the ``time.sleep`` calls stand
for real work (a database, a payment service) and for nothing else.
"""

from __future__ import annotations

import functools
import queue
import sys
import threading
import time
from typing import Any, TextIO

from asyncthreads import Reactor, Result, ThreadPool


class Story:
    """Prints one line per event: ``[+0.250s] reactor    message``."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._start = time.monotonic()
        # Lines come from several threads: the lock keeps each whole and the times in order.
        self._lock = threading.Lock()

    def __call__(self, message: str) -> None:
        thread = threading.current_thread().name
        with self._lock:
            elapsed = time.monotonic() - self._start
            print(f"[+{elapsed:.3f}s] {thread:<10} {message}", file=self._out, flush=True)


class Shop:
    """The service's state. Only the reactor thread touches it, so it needs no lock:
    the reactor runs one call at a time."""

    def __init__(self, reactor: Reactor, say: Story) -> None:
        self.reactor = reactor
        self.say = say
        self.events_handled = 0
        self.orders: dict[str, str] = {}
        self.ticks = 0

    # -- on the reactor thread ------------------------------------------------------------

    def handle_event(self, event: str) -> int:
        self.events_handled += 1
        self.say(f"handling event {event!r} ({self.events_handled} so far)")
        time.sleep(0.05)  # a little work: the next call starts only when this one returns
        return self.events_handled

    def place_order(self, order: str, amount: float) -> Any:
        # Quick, serial part: check the order and reserve stock in the shared state.
        self.orders[order] = "reserved"
        self.say(f"{order}: stock reserved; handing the payment to the pool")
        # Slow part: finish in a pool thread, so the reactor is free for other calls.
        # The caller's Result (and its callback) receives charge_card's return value.
        # (Typed Any: the call's Result will hold charge_card's str, not a Deferral.)
        return self.reactor.defer_to_thread(charge_card, self.say, order, amount)

    def mark_paid(self, order: str) -> None:
        self.orders[order] = "paid"
        self.say(f"{order}: marked paid")

    def send_reminder(self, order: str) -> None:
        self.say(f"timer: reminding the customer of {order}")

    def escalate(self, order: str) -> None:
        self.say(f"ESCALATION: {order} was not paid in time")  # cancelled: never printed

    def report(self) -> None:
        self.ticks += 1
        self.say(f"tick {self.ticks}: {self.events_handled} events handled, orders {self.orders}")

    def close_shop(self, ticker: Result[None]) -> None:
        # cancel_scheduled may be called from any thread, the reactor thread included.
        answer = self.reactor.cancel_scheduled(ticker)
        self.say(f"closing: cancel_scheduled(ticker) -> {answer}; no further tick will run")

    # -- in the pool ----------------------------------------------------------------------

    def on_paid(self, order: str, receipt: str) -> None:
        # A callback runs right after its function, in the same thread, before the
        # Result completes: here, in the pool thread that ran charge_card.
        self.say(f"callback: {receipt}")
        # The shop's state belongs to the reactor thread: hand the update back to it.
        self.reactor.call(self.mark_paid, order)


def fetch_quote(say: Story, carrier: str, seconds: float) -> tuple[str, float]:
    """Ask a (pretend) carrier for a price: slow I/O, so it runs in the pool."""
    say(f"asking {carrier} for a shipping quote")
    time.sleep(seconds)
    price = round(4.0 + 10 * seconds, 2)
    say(f"{carrier} quotes {price:.2f}")
    return carrier, price


def charge_card(say: Story, order: str, amount: float) -> str:
    """Charge the customer (pretend): slow I/O, so it runs in the pool."""
    say(f"{order}: charging {amount:.2f}")
    time.sleep(0.3)
    return f"receipt for {order}: {amount:.2f} paid"


def run(out: TextIO | None = None) -> None:
    """Run the demo, printing the story to ``out`` (standard output by default)."""
    out = out if out is not None else sys.stdout
    print("Each line: [+seconds since the start] thread  what happened", file=out)
    say = Story(out)
    say("starting a reactor and a pool of 3 threads")
    # Leaving the with-block shuts the reactor down (its queued calls finish, its timers
    # are cancelled), then the pool (its queued tasks finish, its workers exit).
    with ThreadPool(3, name="pool") as pool, Reactor(pool, name="reactor") as reactor:
        shop = Shop(reactor, say)

        # A periodic task on the reactor thread, first run 0.5 s from now, and a timer
        # that stops it at 2.2 s.
        ticker = reactor.call_every(0.5, shop.report)
        reactor.call_later(2.2, shop.close_shop, ticker)

        # Two timers: a reminder, and an escalation we will cancel once order-2 is paid.
        reminder = reactor.call_later(0.4, shop.send_reminder, "order-1")
        escalation = reactor.call_later(1.5, shop.escalate, "order-2")

        # Three events queued at once: the reactor runs them one after the other.
        say("queueing 3 events at once")
        for event in ("order-1 created", "order-2 created", "order-1 updated"):
            reactor.call(shop.handle_event, event)

        # Three quotes at once: the pool runs them side by side. Their Results go to one
        # queue as they finish, so we can wait for "whichever is next".
        quotes: queue.Queue[Result[tuple[str, float]]] = queue.Queue()
        for carrier, seconds in (("ups", 0.3), ("dhl", 0.1), ("fedex", 0.2)):
            reactor.call_in_thread(fetch_quote, say, carrier, seconds, result_q=quotes)

        # A reactor call that defers its slow part to the pool; queued behind the events.
        payment = reactor.call(
            shop.place_order, "order-2", 120.0, callback=functools.partial(shop.on_paid, "order-2")
        )

        offers = []
        for _ in range(3):
            carrier, price = quotes.get(timeout=10).result()
            say(f"result_q gave {carrier} at {price:.2f}")
            offers.append((price, carrier))
        say(f"cheapest carrier: {min(offers)[1]}")

        receipt = payment.result(timeout=10)  # the deferral's value, on the original Result
        say(f"payment Result: {receipt!r}")

        # Paid in time: cancel the escalation. True: it had not run, and now never will.
        say(f"cancel_scheduled(escalation) -> {reactor.cancel_scheduled(escalation)}")
        # Asking again: False, it was already cancelled.
        say(f"cancel_scheduled(escalation) again -> {reactor.cancel_scheduled(escalation)}")
        # Once the reminder has run it is too late to cancel it: False.
        reminder.result(timeout=10)
        say(f"cancel_scheduled(reminder) -> {reactor.cancel_scheduled(reminder)}; it had run")

        # The ticker's Result ends only when the task stops: here, cancelled by close_shop.
        ticker.wait(timeout=10)
        say(f"ticker ended after {shop.ticks} ticks: cancelled() -> {ticker.cancelled()}")
        say("shutting down")
    say("reactor and pool shut down cleanly")
