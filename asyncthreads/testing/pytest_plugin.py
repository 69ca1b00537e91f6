"""The asyncthreads pytest plugin (registered through the ``pytest11`` entry point).

* Fixture ``asyncthreads_sim``: a fresh :class:`Simulation` per test, closed after it
  (every Reactor and pool it built is shut down).
* ``@pytest.mark.asyncthreads(patched=True)``, or ``pytest --asyncthreads-patched`` for
  every test without ``patched`` in its marker: the test runs inside
  ``asyncthreads_sim.patched()``, so ``time.sleep``, ``time.monotonic``, the ``threading``
  and ``queue`` primitives and thread identity run on the simulation (see
  :mod:`asyncthreads.testing.patching`).
* Its chooser: FIFO by default; ``@pytest.mark.asyncthreads(seed=N)`` or
  ``@pytest.mark.asyncthreads(replay="at2:...")`` on a test, or
  ``pytest --asyncthreads-seed=N`` for every test without a marker.
* A failing test gets an "asyncthreads simulation" section in its report: the replay
  token, the timeline of the last steps and what was pending, for the simulation the
  test created last (with hypothesis: the one of the final, shrunk example), or else the
  fixture's.
* A test that uses the fixture fails if, when it returns, a Result of the fixture's
  simulation failed and nobody retrieved its exception (``result()``, ``get_result()``,
  ``exception()`` or ``traceback``), as trio and Twisted's trial fail a test for an
  unhandled error. Opt out for one test with
  ``@pytest.mark.asyncthreads(check_unretrieved=False)``, or for a run with the ini
  option ``asyncthreads_check_unretrieved = false`` (``-o asyncthreads_check_unretrieved=false``).
  Results that fail while the fixture shuts the simulation down are not counted.

It keeps no global state (the patch a test may ask for is undone when the test ends), so
it is safe under pytest-xdist.
"""

from __future__ import annotations

import traceback
from collections.abc import Generator, Iterator
from contextlib import nullcontext
from typing import Any

import pytest

from ..result import UnretrievedException
from .simulation import Simulation, _latest

_SIMULATION = pytest.StashKey[Simulation]()
_LATEST = pytest.StashKey[list[Simulation]]()
_CHECK_UNRETRIEVED = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("asyncthreads")
    group.addoption(
        "--asyncthreads-seed",
        type=int,
        default=None,
        help="run every asyncthreads_sim fixture with a seeded random chooser",
    )
    group.addoption(
        "--asyncthreads-patched",
        action="store_true",
        default=False,
        help="run every test using asyncthreads_sim inside asyncthreads_sim.patched()",
    )
    parser.addini(
        "asyncthreads_check_unretrieved",
        type="bool",
        default=True,
        help="fail a test using asyncthreads_sim that leaves a failed Result's exception "
        "never retrieved (default: true)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "asyncthreads(seed=None, replay=None, patched=False, check_unretrieved=True, "
        "**options): configure the asyncthreads_sim fixture (patched=True runs the test "
        "inside sim.patched(); check_unretrieved=False turns off the check for exceptions "
        "never retrieved; other options are Simulation keyword arguments)",
    )


@pytest.fixture
def asyncthreads_sim(request: pytest.FixtureRequest) -> Iterator[Simulation]:
    """A fresh Simulation for this test; see the plugin docstring."""
    options: dict[str, Any] = {}
    marker = request.node.get_closest_marker("asyncthreads")
    check = bool(request.config.getini("asyncthreads_check_unretrieved"))
    if marker is not None:
        options.update(marker.kwargs)
        check = bool(options.pop("check_unretrieved", check))
    seed = request.config.getoption("--asyncthreads-seed")
    if seed is not None and not {"seed", "replay", "chooser"} & options.keys():
        options["seed"] = seed
    patch = bool(options.pop("patched", request.config.getoption("--asyncthreads-patched")))
    sim = Simulation(**options)
    request.node.stash[_SIMULATION] = sim
    if check:
        request.node.stash[_CHECK_UNRETRIEVED] = True
    with sim.patched() if patch else nullcontext(sim):
        try:
            yield sim
        finally:
            sim.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    # Keep the simulation the test creates last (its own, or one per hypothesis example),
    # for the report of a failure.
    latest: list[Simulation] = []
    token = _latest.set(latest)
    item.stash[_LATEST] = latest
    try:
        outcome = yield
    finally:
        _latest.reset(token)
    # Only once the test has passed: a failing test reports its own failure.
    if item.stash.get(_CHECK_UNRETRIEVED, False):
        _fail_for_unretrieved(item.stash[_SIMULATION])
    return outcome


def _fail_for_unretrieved(sim: Simulation) -> None:
    reports: list[UnretrievedException] = sim.scheduler.unretrieved
    unread = [(report.what, report.exception) for report in reports if report.exception]
    for report in reports:
        report.retrieved()  # reported here: not to be logged again when collected
    reports.clear()
    if not unread:
        return
    lines = [
        f"{len(unread)} exception(s) raised in the simulation were never retrieved "
        "(read them with result() or exception(), or opt out with "
        "@pytest.mark.asyncthreads(check_unretrieved=False)):"
    ]
    for what, exc in unread:
        lines.append(f"--- in {what}:")
        lines.append("".join(traceback.format_exception(exc)).rstrip())
    pytest.fail("\n".join(lines), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and report.when == "call":
        latest = item.stash.get(_LATEST, [])
        sim = latest[-1] if latest else item.stash.get(_SIMULATION, None)
        if sim is not None:
            report.sections.append(("asyncthreads simulation", sim.failure_report()))
    return report
