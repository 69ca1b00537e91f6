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

It keeps no global state (the patch a test may ask for is undone when the test ends), so
it is safe under pytest-xdist.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import nullcontext
from typing import Any

import pytest

from .simulation import Simulation, _latest

_SIMULATION = pytest.StashKey[Simulation]()
_LATEST = pytest.StashKey[list[Simulation]]()


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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "asyncthreads(seed=None, replay=None, patched=False, **options): configure the "
        "asyncthreads_sim fixture (patched=True runs the test inside sim.patched(); other "
        "options are Simulation keyword arguments)",
    )


@pytest.fixture
def asyncthreads_sim(request: pytest.FixtureRequest) -> Iterator[Simulation]:
    """A fresh Simulation for this test; see the plugin docstring."""
    options: dict[str, Any] = {}
    marker = request.node.get_closest_marker("asyncthreads")
    if marker is not None:
        options.update(marker.kwargs)
    seed = request.config.getoption("--asyncthreads-seed")
    if seed is not None and not {"seed", "replay", "chooser"} & options.keys():
        options["seed"] = seed
    patch = bool(options.pop("patched", request.config.getoption("--asyncthreads-patched")))
    sim = Simulation(**options)
    request.node.stash[_SIMULATION] = sim
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
        return (yield)
    finally:
        _latest.reset(token)


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
