"""Four small races in user code built on asyncthreads, each beside its fix.

Each bug is realistic and *intermittent*: the buggy code passes under the default FIFO
order of a simulation (and most of the time on real threads), and fails only under some
interleavings of the reactor thread and the pool. ``property_tests/test_planted_races.py``
shows how seeded random choice, :class:`~asyncthreads.testing.PCTChooser` and hypothesis
(``asyncthreads.testing.schedules()``) find each one, shrink it to one departure from FIFO
and replay it, and that the fixed version survives the same exploration.

1. :class:`Ledger`, a **lost update**: a pool task reads a balance that the reactor owns,
   and the new balance is written back later on the reactor. Two deposits that both read
   before either writes lose one of them. :class:`FixedLedger` sends the *amount* to the
   reactor, which reads and writes the balance in one step.
2. :class:`PriceCache`, a **check-then-act split across two steps**: the reactor checks
   "is the price cached?" and, if not, starts a fetch; the pool task inserts the price
   when the fetch ends. A second request checked in between starts a second fetch.
   :class:`FixedPriceCache` records the fetch in flight in the same reactor step as the
   check.
3. :class:`QuoteBoard`, **completion order assumed to be submission order**: quotes are
   fetched side by side, collected as they complete, and zipped with the symbols.
   :class:`FixedQuoteBoard` collects each quote with its symbol.
4. :class:`ViewCounter`, a **read-then-store between two pool threads**: each pool
   thread reads the count, does some work, and stores the count it read plus one. Two
   threads that both read before either stores lose a view. The work between is marked
   with :func:`asyncthreads.testing.checkpoint` (a no-op outside a simulation), where
   real threads could be switched. :class:`FixedViewCounter` leaves the count to the
   reactor thread, which adds one in a single step.

The code uses the production API only, and ``checkpoint()``; nothing in it knows about
tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future

from asyncthreads import Deferral, Reactor, Result, defer
from asyncthreads.testing import checkpoint

__all__ = [
    "FixedLedger",
    "FixedPriceCache",
    "FixedQuoteBoard",
    "FixedViewCounter",
    "Ledger",
    "PriceCache",
    "QuoteBoard",
    "ViewCounter",
]


# -- 1. a lost update across the pool and the reactor ------------------------------------


class Ledger:
    """Account balances, owned by the reactor thread. A deposit is first checked by a
    slow fraud service (``check``, blocking, so it runs in the pool).

    The bug: the pool task reads the balance and computes the new one, and the reactor
    stores it a step later. A deposit checked in between reads the same old balance, and
    whichever store lands last wins: one deposit is lost.
    """

    def __init__(self, reactor: Reactor, check: Callable[[str, int], None]) -> None:
        self._reactor = reactor
        self._check = check
        self.balances: dict[str, int] = {}  # read and written on the reactor thread

    def deposit(self, account: str, amount: int) -> Result[None]:
        """Deposit ``amount`` once the check passes; the Result ends when it is booked.
        Callable from any thread."""
        return self._reactor.call_in_thread(self._checked_deposit, account, amount)

    def _checked_deposit(self, account: str, amount: int) -> Deferral[None]:
        # In a pool thread.
        self._check(account, amount)
        new_balance = self.balances.get(account, 0) + amount  # BUG: read here ...
        return defer(self._store, account, new_balance)  # ... written a step later

    def _store(self, account: str, balance: int) -> None:
        # On the reactor thread.
        self.balances[account] = balance


class FixedLedger(Ledger):
    """The fix: the pool only checks; the reactor reads and writes the balance in one
    step, so no deposit can come between the read and the write."""

    def _checked_deposit(self, account: str, amount: int) -> Deferral[None]:
        self._check(account, amount)
        return defer(self._add, account, amount)

    def _add(self, account: str, amount: int) -> None:
        # On the reactor thread: read, modify and write in one call.
        self.balances[account] = self.balances.get(account, 0) + amount


# -- 2. check-then-act split across two steps --------------------------------------------


class PriceCache:
    """Prices from a slow service (``fetch``, blocking, run in the pool), cached.

    The bug: :meth:`price` checks the cache on the reactor thread, but the price is
    inserted by the pool task when its fetch ends. A request for the same symbol checked
    before that insert misses too and starts a second fetch of the same price.
    """

    def __init__(self, reactor: Reactor, fetch: Callable[[str], float]) -> None:
        self._reactor = reactor
        self._fetch = fetch
        self._prices: dict[str, float] = {}

    def price(self, symbol: str) -> Future[float]:
        """The price of ``symbol``, from the cache or fetched. Call on the reactor
        thread (for instance ``reactor.call(cache.price, "ACME")``)."""
        if symbol in self._prices:  # check ...
            cached: Future[float] = Future()
            cached.set_result(self._prices[symbol])
            return cached
        return self._reactor.call_in_thread(self._fetch_and_store, symbol)

    def _fetch_and_store(self, symbol: str) -> float:
        # In a pool thread.
        price = self._fetch(symbol)
        self._prices[symbol] = price  # BUG: ... then act, steps later
        return price


class FixedPriceCache(PriceCache):
    """The fix: the reactor records the fetch in flight in the same step as the check,
    so later requests share it. (A failed fetch stays cached as failed; a real cache
    would drop it, on the reactor thread, to retry.)"""

    def __init__(self, reactor: Reactor, fetch: Callable[[str], float]) -> None:
        super().__init__(reactor, fetch)
        self._in_flight: dict[str, Future[float]] = {}

    def price(self, symbol: str) -> Future[float]:
        if symbol not in self._in_flight:
            self._in_flight[symbol] = self._reactor.call_in_thread(self._fetch, symbol)
        return self._in_flight[symbol]


# -- 3. completion order assumed to be submission order ----------------------------------


class QuoteBoard:
    """Fetches the quotes of many symbols side by side in the pool (``fetch``, blocking).

    The bug: quotes are collected in the order the fetches *complete* and then zipped
    with the symbols in the order they were *submitted*. With more than one pool thread a
    later fetch can finish first, and the board shows one symbol's quote for another.
    (A failed fetch is not handled, to keep the example short.)
    """

    def __init__(self, reactor: Reactor, fetch: Callable[[str], float]) -> None:
        self._reactor = reactor
        self._fetch = fetch

    def fetch_all(self, symbols: Sequence[str]) -> Future[dict[str, float]]:
        """Fetch every quote; the Future ends with ``{symbol: quote}``. Any thread."""
        board: Future[dict[str, float]] = Future()
        quotes: list[float] = []  # touched on the reactor thread only

        def collect(quote: float) -> None:
            # On the reactor thread, once per completed fetch.
            quotes.append(quote)
            if len(quotes) == len(symbols):
                board.set_result(dict(zip(symbols, quotes, strict=True)))  # BUG: order

        def collected(quote: float) -> None:
            # The callback, in the pool thread: it gets the quote, not the symbol.
            self._reactor.call(collect, quote)

        for symbol in symbols:
            self._reactor.call_in_thread(self._fetch, symbol, callback=collected)
        return board


class FixedQuoteBoard(QuoteBoard):
    """The fix: each quote travels with its symbol."""

    def fetch_all(self, symbols: Sequence[str]) -> Future[dict[str, float]]:
        board: Future[dict[str, float]] = Future()
        quotes: dict[str, float] = {}  # touched on the reactor thread only

        def collect(symbol: str, quote: float) -> None:
            quotes[symbol] = quote
            if len(quotes) == len(symbols):
                board.set_result({s: quotes[s] for s in symbols})

        def fetch_one(symbol: str) -> tuple[str, float]:
            return symbol, self._fetch(symbol)

        def collected(pair: tuple[str, float]) -> None:
            self._reactor.call(collect, *pair)

        for symbol in symbols:
            self._reactor.call_in_thread(fetch_one, symbol, callback=collected)
        return board


# -- 4. a read-then-store between two pool threads ----------------------------------------


class ViewCounter:
    """Counts page views; each view is handled on a pool thread.

    The bug: a handler reads ``views``, does its work, then stores what it read plus
    one. Two handlers that both read before either stores count two views as one.
    """

    def __init__(self, reactor: Reactor) -> None:
        self._reactor = reactor
        self.views = 0

    def view(self) -> Result[None]:
        """Handle one view in the pool. Any thread."""
        return self._reactor.call_in_thread(self._handle)

    def _handle(self) -> None:
        seen = self.views
        checkpoint()  # the handler's work: another thread may run meanwhile
        self.views = seen + 1  # BUG: stores a count another thread may have moved on


class FixedViewCounter(ViewCounter):
    """The fix: the count belongs to the reactor thread, which adds one in one step."""

    def _handle(self) -> None:
        checkpoint()  # the same work, the same chance of a switch
        self._reactor.call(self._add_one).result()

    def _add_one(self) -> None:
        self.views += 1
