"""Planted races: does exploring interleavings find real bugs, shrink them and replay them?

``examples/races.py`` holds four small bugs in user code built on asyncthreads, and
``examples/blocking_races.py`` two in pool tasks built on ``threading`` and ``queue``
(run inside ``sim.patched()``), each beside its fix. Each passes under the simulation's
default FIFO order (as such bugs pass most runs on real threads) and fails under some
interleavings only. For each, the tests below check that

(a) seeded random choice (``Simulation(seed=s)`` for s in ``range(SEEDS)``) finds it,
    and so does :class:`PCTChooser` over the same seeds;
(b) hypothesis (``@given(st.data())`` with ``schedules()``) finds it within ``EXAMPLES``
    examples and shrinks it to a schedule with few departures from FIFO;
(c) the failing run's replay token reproduces the failure with ``Simulation(replay=...)``;
(d) the fixed version never fails over the same exploration.

The scenarios are small enough to try every schedule they have, so the tests also check
that the bug shows in some schedules but not all, and the fix in none.

What it took (hypothesis 6.170, deterministic: ``derandomize=True``, no database;
``SEEDS`` = ``EXAMPLES`` = 300). "Schedules" counts the failing schedules among all the
scenario has, and the fewest departures from FIFO a failing one needs; "first" is the
first failing seed (random: ``Simulation(seed=s)``; PCT:
``PCTChooser(s, depth=3, expected_steps=20)``) and "hit" how many of the 300 seeds fail;
hypothesis "examples" is how many examples ran up to the first failure, and "shrunk" the
replay token of the example it shrank to (``at2:step:actor,...``, one entry per
departure)::

    bug                      schedules  random     PCT        hypothesis
                             fail/all,  first,     first,     examples,
                             fewest     hit        hit        shrunk
    1 lost update (Ledger)   1/14, 3    9, 41      0, 109     7, at2:1:0,2:0,3:0
    2 check-then-act (cache) 6/11, 2    5, 77      0, 130     3, at2:1:2,2:2
    3 completion order       25/30, 1   0, 243     0, 245     2, at2:0:1
    4 read-then-store        4/6, 1     0, 145     15, 30     3, at2:1:1
    5 lock released between  200/252, 1 0, 193     1, 67      3, at2:2:1
    6 queue op between       210/252, 1 0, 228     2, 61      3, at2:1:1

The runs of bugs 1 to 4 take 5 to 8 steps. Bug 1 shows what PCT is for: it needs the
reactor starved for three pool steps in a row, which uniform random choice gives in one
run of seven and PCT in one of three. Bug 4 is found only because the handler's
``checkpoint()`` is a schedule point: its one departure is the decision there (step 1).
Bugs 5 and 6 need no such help: every acquire, release, put and get of a simulated
primitive is a schedule point, so the other task can run between the read and the
store. Hypothesis shrinks each bug to the fewest departures it needs.

``HYPOTHESIS_PROFILE=deep pytest property_tests -n auto`` explores the fixed versions
further, in busier runs with too many schedules to try them all
(:func:`test_the_fix_survives_a_busier_run_under_the_active_profile`).
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncthreads.testing import Candidate, Chooser, PCTChooser, Simulation, schedules
from asyncthreads.testing.choosers import decode_token
from examples.blocking_races import FixedJobTotals, FixedStockCounter, JobTotals, StockCounter
from examples.races import (
    FixedLedger,
    FixedPriceCache,
    FixedQuoteBoard,
    FixedViewCounter,
    Ledger,
    PriceCache,
    QuoteBoard,
    ViewCounter,
)

SEEDS = 300  # seeds of random and of PCT exploration
EXAMPLES = 300  # hypothesis examples

# The exploration that finds each bug: the same for the buggy and the fixed versions.
EXPLORE = settings(
    database=None,
    derandomize=True,
    max_examples=EXAMPLES,
    deadline=None,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow],
)


# -- the scenarios: how a test drives each piece of user code -----------------------------


def deposits(sim: Simulation, fixed: bool, busy: bool = False) -> None:
    """A burst of four deposits, two of them to alice (twelve if busy); one fraud-check
    thread."""
    reactor = sim.reactor(threads=1)
    checked: list[tuple[str, int]] = []
    ledger = (FixedLedger if fixed else Ledger)(reactor, lambda a, n: checked.append((a, n)))
    burst = [("alice", 10), ("bob", 5), ("carol", 7), ("alice", 20)] * (3 if busy else 1)
    booked = [ledger.deposit(account, amount) for account, amount in burst]
    for result in booked:
        result.result()
    assert checked == burst
    expected: dict[str, int] = {}
    for account, amount in burst:
        expected[account] = expected.get(account, 0) + amount
    assert ledger.balances == expected


PRICES = {"ACME": 12.5, "BOLT": 3.25, "CORE": 7.0, "DYNE": 1.5}


def price_requests(sim: Simulation, fixed: bool, busy: bool = False) -> None:
    """Requests for ACME, BOLT and ACME again (and five more if busy) reach the reactor;
    two pool threads."""
    reactor = sim.reactor(threads=2)
    fetched: list[str] = []

    def fetch(symbol: str) -> float:
        fetched.append(symbol)
        return PRICES[symbol]

    cache = (FixedPriceCache if fixed else PriceCache)(reactor, fetch)
    symbols = ["ACME", "BOLT", "ACME"] + (["CORE", "BOLT", "DYNE", "CORE", "ACME"] if busy else [])
    asked = [reactor.call(cache.price, symbol) for symbol in symbols]
    sim.run_until_idle()
    assert [a.result().result(timeout=0) for a in asked] == [PRICES[s] for s in symbols]
    assert sorted(fetched) == sorted(set(symbols)), f"fetched {fetched}"


def quote_board(sim: Simulation, fixed: bool, busy: bool = False) -> None:
    """Three quotes (four if busy) fetched side by side on three pool threads."""
    reactor = sim.reactor(threads=3)
    quotes = dict(list(PRICES.items())[: 4 if busy else 3])

    def fetch_quote(symbol: str) -> float:
        return quotes[symbol]

    board = (FixedQuoteBoard if fixed else QuoteBoard)(reactor, fetch_quote)
    shown = board.fetch_all(list(quotes))
    sim.run_until_idle()
    assert shown.done()
    assert shown.result() == quotes


def page_views(sim: Simulation, fixed: bool, busy: bool = False) -> None:
    """Two views (five if busy) handled side by side on two pool threads."""
    reactor = sim.reactor(threads=2)
    counter = (FixedViewCounter if fixed else ViewCounter)(reactor)
    views = 5 if busy else 2
    handled = [counter.view() for _ in range(views)]
    for result in handled:
        result.result()
    assert counter.views == views


def stock_additions(sim: Simulation, fixed: bool, busy: bool = False) -> None:
    """Two additions to a stock counter (four if busy) on two pool threads, with the
    standard library's Lock (``examples/blocking_races.py``)."""
    pool = sim.thread_pool(2)
    amounts = [1, 2] + ([3, 4] if busy else [])
    with sim.patched():
        counter = (FixedStockCounter if fixed else StockCounter)()
        added = [pool.submit(counter.add, n) for n in amounts]
        for result in added:
            result.result()
    assert counter.count == sum(amounts)


def job_takers(sim: Simulation, fixed: bool, busy: bool = False) -> None:
    """Two workers (four if busy) each take one job for one customer from a queue.Queue,
    on two pool threads (``examples/blocking_races.py``)."""
    pool = sim.thread_pool(2)
    sizes = [5, 7] + ([11, 13] if busy else [])
    with sim.patched():
        jobs: queue.Queue[int] = queue.Queue()
        for size in sizes:
            jobs.put(size)
        totals = (FixedJobTotals if fixed else JobTotals)(jobs)
        taken = [pool.submit(totals.take_one, "acme") for _ in sizes]
        for result in taken:
            result.result()
        jobs.join()
    assert totals.totals == {"acme": sum(sizes)}


@dataclass(frozen=True)
class PlantedRace:
    name: str
    scenario: Callable[[Simulation, bool, bool], None]
    fewest_departures: int  # the fewest departures from FIFO that make it fail


RACES = [
    PlantedRace("lost-update", deposits, fewest_departures=3),
    PlantedRace("check-then-act", price_requests, fewest_departures=2),
    PlantedRace("completion-order", quote_board, fewest_departures=1),
    PlantedRace("read-then-store", page_views, fewest_departures=1),
    PlantedRace("lock-released-between", stock_additions, fewest_departures=1),
    PlantedRace("queue-op-between", job_takers, fewest_departures=1),
]
by_name = pytest.mark.parametrize("race", RACES, ids=[race.name for race in RACES])


def fails(race: PlantedRace, sim: Simulation, *, fixed: bool = False, busy: bool = False) -> bool:
    """Run the scenario on ``sim``: True if the race showed (an assertion failed)."""
    try:
        race.scenario(sim, fixed, busy)
    except AssertionError:
        return True
    finally:
        sim.close()
    return False


def pct(seed: int) -> Chooser:
    return PCTChooser(seed, depth=3, expected_steps=20)


def failing_seeds(race: PlantedRace, make: Callable[[int], Simulation], fixed: bool) -> list[int]:
    return [seed for seed in range(SEEDS) if fails(race, make(seed), fixed=fixed)]


def random_sim(seed: int) -> Simulation:
    return Simulation(seed=seed)


def pct_sim(seed: int) -> Simulation:
    return Simulation(chooser=pct(seed))


class Forced:
    """A chooser that makes the given choices first, then FIFO; it records every
    decision as (choice, candidates), so :func:`every_schedule` can enumerate them."""

    def __init__(self, prefix: list[int]) -> None:
        self.prefix = prefix
        self.taken: list[tuple[int, int]] = []

    def choose(self, step: int, ready: Sequence[Candidate]) -> int:
        n = len(self.taken)
        choice = self.prefix[n] if n < len(self.prefix) else 0
        self.taken.append((choice, len(ready)))
        return choice


@dataclass
class Schedules:
    """Every schedule of a scenario, tried: how many, how many failed, and the fewest
    departures from FIFO among those that failed."""

    total: int = 0
    failing: int = 0
    fewest_departures: int | None = None


def every_schedule(race: PlantedRace, *, fixed: bool) -> Schedules:
    """Run the scenario under every schedule it has (depth first over the decisions)."""
    found = Schedules()
    prefix: list[int] = []
    while True:
        chooser = Forced(prefix)
        found.total += 1
        if fails(race, Simulation(chooser=chooser), fixed=fixed):
            found.failing += 1
            departures = sum(1 for choice, _ in chooser.taken if choice)
            if found.fewest_departures is None or departures < found.fewest_departures:
                found.fewest_departures = departures
        taken = chooser.taken
        while taken and taken[-1][0] + 1 == taken[-1][1]:
            taken.pop()  # every choice at this decision has been tried
        if not taken:
            return found
        prefix = [choice for choice, _ in taken[:-1]] + [taken[-1][0] + 1]


@dataclass
class Search:
    """What a hypothesis search saw: examples run, and the token of each failing one."""

    examples: int = 0
    first_failure: int | None = None
    failing_tokens: list[str] = field(default_factory=list)
    error: AssertionError | None = None

    @property
    def shrunk_token(self) -> str:
        # Hypothesis runs the shrunk example last, to raise its error.
        assert self.failing_tokens
        return self.failing_tokens[-1]


def hypothesis_search(race: PlantedRace, exploration: settings, *, fixed: bool) -> Search:
    """Explore ``race`` with hypothesis; return what it saw (and the error it raised)."""
    search = Search()

    @exploration
    @given(st.data())
    def explore(data: st.DataObject) -> None:
        search.examples += 1
        sim = Simulation(chooser=data.draw(schedules()))
        if fails(race, sim, fixed=fixed):
            search.failing_tokens.append(sim.replay_token)
            if search.first_failure is None:
                search.first_failure = search.examples
            raise AssertionError(f"{race.name} showed; replay token {sim.replay_token!r}")

    try:
        explore()
    except AssertionError as error:
        search.error = error
    return search


def note(record_property: Callable[[str, object], None], key: str, value: object) -> None:
    """Print a number this file's docstring tabulates (see it with ``pytest -s``), and
    record it in the JUnit XML report."""
    print(f"{key}: {value}")
    record_property(key, value)


# -- the buggy versions: FIFO passes, exploration fails ------------------------------------


@by_name
def test_the_bug_hides_under_fifo(race: PlantedRace) -> None:
    sim = Simulation()
    assert not fails(race, sim)
    assert sim.replay_token == "at2:"


@by_name
def test_seeded_random_choice_finds_the_bug(
    race: PlantedRace, record_property: Callable[[str, object], None]
) -> None:
    failing = failing_seeds(race, random_sim, fixed=False)
    assert failing, f"{race.name}: no failure in {SEEDS} seeds"
    note(record_property, f"{race.name} random first failing seed", failing[0])
    note(record_property, f"{race.name} random failing seeds", f"{len(failing)}/{SEEDS}")


@by_name
def test_pct_finds_the_bug(
    race: PlantedRace, record_property: Callable[[str, object], None]
) -> None:
    failing = failing_seeds(race, pct_sim, fixed=False)
    assert failing, f"{race.name}: no failure in {SEEDS} PCT seeds"
    note(record_property, f"{race.name} PCT first failing seed", failing[0])
    note(record_property, f"{race.name} PCT failing seeds", f"{len(failing)}/{SEEDS}")


@by_name
def test_the_failing_seeds_token_replays_the_failure(race: PlantedRace) -> None:
    seed = failing_seeds(race, random_sim, fixed=False)[0]
    failed = Simulation(seed=seed)
    assert fails(race, failed)
    token = failed.replay_token
    assert len(decode_token(token)) >= race.fewest_departures

    for _ in range(2):  # as often as asked
        replayed = Simulation(replay=token)
        assert fails(race, replayed)
        assert replayed.replay_diverged_at is None
        assert replayed.replay_token == token
        assert list(replayed.trace) == list(failed.trace)


@by_name
def test_hypothesis_finds_the_bug_and_shrinks_it(
    race: PlantedRace, record_property: Callable[[str, object], None]
) -> None:
    search = hypothesis_search(race, EXPLORE, fixed=False)
    assert search.error is not None, f"{race.name}: no failure in {EXAMPLES} examples"
    assert search.first_failure is not None
    shrunk = search.shrunk_token
    note(record_property, f"{race.name} hypothesis examples to first failure", search.first_failure)
    note(record_property, f"{race.name} hypothesis shrunk token", shrunk)

    departures = decode_token(shrunk)
    # As few as any failing schedule has (every_schedule finds that number independently).
    assert len(departures) == race.fewest_departures, shrunk
    # The shrunk schedule is a replay token like any other: it fails again ...
    replayed = Simulation(replay=shrunk)
    assert fails(race, replayed)
    assert replayed.replay_diverged_at is None
    # ... and the fix passes it.
    assert not fails(race, Simulation(replay=shrunk), fixed=True)


# -- the fixed versions: the same exploration finds nothing --------------------------------


@by_name
def test_the_fix_survives_the_same_seeds(race: PlantedRace) -> None:
    assert failing_seeds(race, random_sim, fixed=True) == []
    assert failing_seeds(race, pct_sim, fixed=True) == []


@by_name
def test_the_fix_survives_the_same_hypothesis_search(race: PlantedRace) -> None:
    search = hypothesis_search(race, EXPLORE, fixed=True)
    assert search.error is None, search.error
    # These runs are small: hypothesis tries every schedule they have, then stops.
    assert search.examples >= min(EXAMPLES, every_schedule(race, fixed=True).total)


@by_name
def test_the_bug_shows_in_some_schedules_and_the_fix_in_none(
    race: PlantedRace, record_property: Callable[[str, object], None]
) -> None:
    buggy = every_schedule(race, fixed=False)
    assert 0 < buggy.failing < buggy.total
    assert buggy.fewest_departures == race.fewest_departures
    note(record_property, f"{race.name} failing schedules", f"{buggy.failing}/{buggy.total}")
    fixed = every_schedule(race, fixed=True)
    assert fixed.failing == 0
    note(record_property, f"{race.name} schedules of the fix", fixed.total)


@by_name
def test_the_fix_survives_a_busier_run_under_the_active_profile(race: PlantedRace) -> None:
    """More traffic, too many schedules to try them all: as many examples as the active
    hypothesis profile asks for (``HYPOTHESIS_PROFILE=deep`` for many more)."""

    @settings(database=None, deadline=None)
    @given(st.data())
    def explore(data: st.DataObject) -> None:
        sim = Simulation(chooser=data.draw(schedules()))
        assert not fails(race, sim, fixed=True, busy=True), sim.replay_token

    explore()
